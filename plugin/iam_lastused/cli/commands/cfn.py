"""`iam-lastused cfn --stack NAME [--change-set NAME]`: a deployed stack, or what a
pending change set would make of it."""

from __future__ import annotations

import argparse

from iam_lastused import api
from iam_lastused.cli import output


def run(args: argparse.Namespace) -> int:
    with output.progress(args) as progress:
        result = api.cfn(
            args.stack, change_set=args.change_set, parameters=args.parameters, parameter=args.parameter,
            **output.options(args, progress),
        )
    output.report(args, result)
    return output.exit_code(result, args.fail_on)
