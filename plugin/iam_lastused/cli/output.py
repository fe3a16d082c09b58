"""What the command line says and where: the report to stdout or `--output` (and
each `--also-write` file), warnings on stderr, progress on a terminal, and the exit
policy."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

from iam_lastused import api
from iam_lastused.model import RunResult
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.markdown import blob_base
from iam_lastused.store.atomic import write_atomically
from iam_lastused.suggest.verdicts import Suggestions

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def warn(args: argparse.Namespace, message: str) -> None:
    """One line on stderr; messages quote names and ARNs from the code, so made terminal-safe."""
    if not args.quiet:
        print(f"iam-lastused: {terminal_safe(message)}", file=sys.stderr)


@contextlib.contextmanager
def progress(args: argparse.Namespace) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar for the reports, on a terminal and for the text format only."""
    text = getattr(args, "format", "text") == "text"  # fetch has no --format: its progress is shown
    if args.quiet or not text or not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("Last-accessed reports", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def write(path: os.PathLike[str] | str, text: str) -> None:
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise api.UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


# The text report's line kinds, by how they start: the report is plain text (its names
# come from the code), so colour is given to whole lines, never parsed from the text.
_LINE_STYLES = (
    ("  unused ", "red"), ("  stale ", "yellow"), ("  broad ", "magenta"),
    ("  suppressed ", "dim"), ("error: ", "red"), ("note: ", "dim"),
)


def _coloured(args: argparse.Namespace) -> bool:
    return (
        args.format == "text" and not getattr(args, "no_color", False) and not os.environ.get("NO_COLOR")
        and sys.stdout.isatty()
    )


def emit(args: argparse.Namespace, text: str) -> None:
    if args.output:
        write(args.output, text)
    elif _coloured(args):
        from rich.console import Console
        from rich.text import Text

        console = Console(highlight=False, soft_wrap=True)
        for line in text.splitlines():
            style = next((style for start, style in _LINE_STYLES if line.startswith(start)), "")
            if line.startswith(("role ", "user ", "group ", "policy ")):
                style = "bold"
            console.print(Text(line, style=style))
    else:
        sys.stdout.write(text)


def report(
    args: argparse.Namespace,
    result: RunResult,
    plan_text: str | None = None,
) -> None:
    """The run's warnings, then the report in `--format` (with `--suggest`'s suggestions,
    or for `--suggest=patch` the patch alone) and each `--also-write` format."""
    for message in result.warnings:
        warn(args, message)
    links = blob_base(os.environ)
    for name, path in args.also_write:
        write(path, api.render(result, name, links=links))
    suggest = getattr(args, "suggest", None)
    suggestions: Suggestions | None = None
    if suggest:
        suggestions = api.suggest(result, granularity=args.granularity, min_age_days=args.min_age_days)
    chosen = "patch" if suggest == "patch" else args.format
    emit(args, api.render(result, chosen, suggestions=suggestions, plan_text=plan_text, links=links))


def exit_code(result: RunResult, fail_on: str) -> int:
    """130 when interrupted; 2 when nothing could be analysed (not one principal analysed
    or confirmed not deployed, where there was something to analyse); 1 on findings at
    the `--fail-on` level; else 0."""
    if result.interrupted:
        return EXIT_INTERRUPTED
    if not any(p.status in ("analyzed", "not-deployed") for p in result.principals):
        return EXIT_USAGE if (result.principals or result.errors) else EXIT_OK
    return EXIT_FINDINGS if api.has_findings(result, fail_on) else EXIT_OK


def options(args: argparse.Namespace, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The library's options from the parsed command line, those of its options the
    command has (`runner.Options` is named like them), and the config file."""
    given = {option.name: getattr(args, option.name) for option in fields(api.Options) if option.name in args}
    return {**given, "accounts": args.config.accounts, "suppress": args.config.suppress, "progress": progress}
