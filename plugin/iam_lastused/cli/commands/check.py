"""`iam-lastused check ARN...`: deployed principals by ARN."""

from __future__ import annotations

import argparse

from iam_lastused import api
from iam_lastused.cli import output


def run(args: argparse.Namespace) -> int:
    errors = api.principals_from_arns(args.arns).errors
    if errors:  # a mistyped ARN: one usage error, before any report
        raise api.UsageError(errors[0].message)
    with output.progress(args) as progress:
        result = api.check(args.arns, **output.options(args, progress))
    output.report(args, result)
    return output.exit_code(result, args.fail_on)
