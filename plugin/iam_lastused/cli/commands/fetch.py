"""`iam-lastused fetch ARN... --output FILE`: save reports (and AWS managed policies'
documents) from AWS as an access-data file for offline runs."""

from __future__ import annotations

import argparse
import json

from iam_lastused import api
from iam_lastused.cli import output


def run(args: argparse.Namespace) -> int:
    if not args.output:
        raise api.UsageError("fetch needs --output FILE for the access-data file")
    with output.progress(args) as progress:
        fetched = api.fetch(args.arns, **output.options(args, progress))
    for message in fetched.warnings:
        output.warn(args, message)
    if not fetched.saved:
        output.warn(args, "no report could be fetched; nothing written")
        return output.EXIT_USAGE
    output.emit(args, json.dumps(fetched.saved, indent=2) + "\n")
    output.warn(args, f"saved {len(fetched.saved)} of {fetched.wanted} reports and policies to {args.output}")
    if fetched.interrupted:
        return output.EXIT_INTERRUPTED
    return output.EXIT_OK if fetched.complete else output.EXIT_USAGE
