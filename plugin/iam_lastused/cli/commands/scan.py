"""`iam-lastused scan PATH...`: Terraform and CloudFormation code."""

from __future__ import annotations

import argparse

from iam_lastused import api
from iam_lastused.cli import output


def run(args: argparse.Namespace) -> int:
    for path in args.paths:  # a mistyped path: one error, before any report
        if not path.exists():
            raise api.UsageError(f"{path}: no such file or directory")
    with output.progress(args) as progress:
        result = api.scan(
            args.paths,
            var_file=args.var_file,
            var=args.var,
            stack=args.stack,
            stack_from_file=args.stack_from_file,
            parameters=args.parameters,
            parameter=args.parameter,
            exclude=args.exclude,
            **output.options(args, progress),
        )
    output.report(args, result)
    return output.exit_code(result, args.fail_on)
