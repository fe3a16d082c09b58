"""`iam-lastused wrap -- terraform plan ...`: terraform's output and exit code always
stand; the analysis only adds to them."""

from __future__ import annotations

import argparse
import sys

from iam_lastused import api
from iam_lastused.analysis.analyze import has_findings
from iam_lastused.cli import output
from iam_lastused.integrations.terraform_wrapper import run_wrapped


def run(args: argparse.Namespace) -> int:
    command = args.wrapped[1:] if args.wrapped[:1] == ["--"] else args.wrapped
    if not command:
        raise api.UsageError("give the plan command after --, e.g. iam-lastused wrap -- terraform plan")
    wrapped = run_wrapped(command, sys.stdout.buffer)
    if wrapped.plan is None:
        if wrapped.error:
            output.warn(args, f"plan not analysed: {wrapped.error}")
        return wrapped.exit_code
    try:
        result = api.plan(wrapped.plan, chdir=args.chdir, **output.options(args))
        sys.stdout.flush()
        output.report(args, result, plan_text=wrapped.output)
    except Exception as exc:  # an analysis failure must never cost the user terraform's result
        output.warn(args, f"plan not analysed: {exc}")
        return wrapped.exit_code
    if wrapped.exit_code == 0 and has_findings(result, args.fail_on):
        return output.EXIT_FINDINGS
    return wrapped.exit_code
