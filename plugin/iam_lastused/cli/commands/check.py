"""`iam-lastused check ARN...`: deployed principals by ARN."""

from __future__ import annotations

import argparse

from iam_lastused import api
from iam_lastused.cli import output
from iam_lastused.model import InputError
from iam_lastused.resolve import principal_from_arn


def run(args: argparse.Namespace) -> int:
    for arn in args.arns:  # a mistyped ARN: one usage error, before any report
        principal = principal_from_arn(arn)
        if isinstance(principal, InputError):
            raise api.UsageError(principal.message)
    with output.progress(args) as progress:
        result = api.check(args.arns, **output.options(args, progress))
    output.report(args, result)
    return output.exit_code(result, args.fail_on)
