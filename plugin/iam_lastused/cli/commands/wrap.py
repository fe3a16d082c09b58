"""`iam-lastused wrap -- terraform plan ...`: terraform's output and exit code always
stand; the analysis only adds to them. Terraform's output is printed as it comes, then,
after a blank line, the report; with `--format plan` the report is terraform's plan
again, annotated (to `--output` when given)."""

from __future__ import annotations

import argparse
import sys

from iam_lastused import api
from iam_lastused.cli import output
from iam_lastused.integrations.terraform_wrapper import run_wrapped, subcommand


def run(args: argparse.Namespace) -> int:
    command = args.wrapped[1:] if args.wrapped[:1] == ["--"] else args.wrapped
    if not command:
        raise api.UsageError("give the plan command after --, e.g. iam-lastused wrap -- terraform plan")
    if subcommand(command) != "plan":
        raise api.UsageError(f"wrap runs plan only, not {subcommand(command) or command[0]}: "
                             "iam-lastused wrap -- terraform plan [options]")
    wrapped = run_wrapped(command, sys.stdout.buffer)
    if wrapped.saved:
        output.warn(args, f"the plan is saved as {wrapped.saved}, as terraform says above")
    if wrapped.plan is None:
        if wrapped.error:
            output.warn(args, f"plan not analysed: {wrapped.error}")
        return wrapped.exit_code
    try:
        result = api.plan(wrapped.plan, chdir=args.chdir, **output.options(args))
        if not args.output and wrapped.output:  # the report apart from terraform's last line
            sys.stdout.write("\n" if wrapped.output.endswith("\n") else "\n\n")
        sys.stdout.flush()
        output.report(args, result, plan_text=wrapped.output)
    except Exception as exc:  # an analysis failure must never cost the user terraform's result
        output.warn(args, f"plan not analysed: {exc}")
        return wrapped.exit_code
    if wrapped.exit_code == 0 and api.has_findings(result, args.fail_on):
        return output.EXIT_FINDINGS
    return wrapped.exit_code
