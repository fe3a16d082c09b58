"""Where a run's usage data comes from: an access-data file or a sweep's store
(`--access-data`, `--max-age`), or IAM Access Analyzer (`--usage-source`,
`--analyzer-arn`); else IAM's last-accessed reports, asked live. For every command
that analyses."""

from __future__ import annotations

import argparse
from pathlib import Path

from iam_lastused.options import default
from iam_lastused.store.snapshots import parse_duration


def access_data_location(value: str) -> Path | str:
    """`--access-data`: an S3 URL as given, else a path (a file or a store's directory)."""
    return value if value.startswith("s3://") else Path(value)


def max_age(value: str) -> float:
    """`--max-age`: seconds."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_usage_options(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--access-data", type=access_data_location, metavar="FILE|URL",
        help="take reports from this file (offline: no AWS call is made), or from a sweep's store: "
        "a directory or s3://BUCKET/PREFIX (what it lacks is asked of AWS)",
    )
    group.add_argument("--max-age", type=max_age, default=default("max-age"), metavar="DURATION",
                       help="use a store's snapshot no older than this: 30m, 24h, 7d (default 24h)")
    group.add_argument("--usage-source", choices=["iam", "access-analyzer"], default=default("usage-source"),
                       help="iam: last-accessed reports (default); access-analyzer: the unused-access "
                       "findings of --analyzer-arn (no job generated)")
    group.add_argument("--analyzer-arn", metavar="ARN",
                       help="the IAM Access Analyzer unused-access analyzer, "
                       "for --usage-source access-analyzer")
