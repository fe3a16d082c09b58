"""`iam-lastused check ARN...`: deployed principals by ARN."""

from __future__ import annotations

import argparse

from iam_lastused import api
from iam_lastused.cli import output


def run(args: argparse.Namespace) -> int:
    with output.progress(args) as progress:
        result = api.check(args.arns, **output.options(args, progress))
    output.report(args, result)
    return output.exit_code(result, args.fail_on)
