"""`iam-lastused hook FILE...`, for pre-commit: a linter. It prints one line per finding
and fails on findings, like checkov's and tflint's hooks: the offline hook on any finding
in the code itself (`--fail-on static`), the live one on never-used services
(`--fail-on unused`), or without credentials on the code's own findings. That level is a
floor: a `fail-on` (the config's or given) can widen it, never narrow it into a hook that
checks nothing (the config's `unused` for the offline hook, which has no usage data); only
`never` turns failing off. It costs almost nothing when no changed file touches IAM."""

from __future__ import annotations

import argparse

from iam_lastused import api
from iam_lastused.cli import output


def run(args: argparse.Namespace) -> int:
    changed = api.hook_files(args.files, root=args.root)
    if not changed:
        return output.EXIT_OK
    with output.progress(args) as progress:
        options = output.options(args, progress)
        result = api.hook(changed, offline=args.offline, var_file=args.var_file, var=args.var,
                          exclude=args.exclude, **options)
    output.report(args, result)
    if result.interrupted:
        return output.EXIT_INTERRUPTED
    usage = not args.offline and api.NO_CREDENTIALS not in result.warnings
    fail_on = _level(args.fail_on, "unused" if usage else "static")
    return output.EXIT_FINDINGS if result.errors or api.has_findings(result, fail_on) else output.EXIT_OK


def _level(given: str | None, own: str) -> str:
    """The broader of the hook's own level and the one given; `never` when given."""
    if given is None or given == "never":
        return given or own
    return max(given, own, key=lambda level: len(api.FAIL_LEVELS[level]))
