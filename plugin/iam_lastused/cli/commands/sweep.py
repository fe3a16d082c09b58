"""`iam-lastused sweep --store URL`: each account's last-accessed reports, written as
one snapshot per account to a store that runs then read with `--access-data URL`.

Exit codes: 0 every account of this worker's shard written (a shard may have none);
2 an account could not be swept (the others were); 130 interrupted."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from iam_lastused import api
from iam_lastused.cli import output
from iam_lastused.cli.arguments import add_options

OPTIONS = ("store", "accounts", "organization", "ou", "shard", "quiet")
"""The sweep's own options, besides every command's AWS ones: --accounts and --organization
exclude each other."""


def add_parser(
    commands: argparse._SubParsersAction, aws_options: Callable[[argparse._ActionsContainer], None]
) -> argparse.ArgumentParser:
    """The sweep's parser; `aws_options` are every command's (cli/parser.py)."""
    sweep = commands.add_parser(
        "sweep", help="write each account's last-accessed reports to a store (S3 prefix or directory)",
        description="For every role, user, group and customer managed policy in each account, its "
        "last-accessed report, written as one snapshot per account under STORE/<account-id>/ "
        "for runs to read with --access-data STORE. s3:PutObject under the store's prefix is its one write.",
    )
    add_options(sweep, OPTIONS[:1])
    add_options(sweep.add_mutually_exclusive_group(), OPTIONS[1:3])
    add_options(sweep, OPTIONS[3:])
    aws_options(sweep.add_argument_group("AWS options"))
    return sweep


def run(args: argparse.Namespace) -> int:
    if not args.store:
        raise api.UsageError("give the store: --store URL (or store in the config file --config names)")
    if args.ou and not args.organization:
        raise api.UsageError("--ou narrows --organization: give both")
    with output.progress(args) as progress:
        accounts, swept = api.sweep(
            args.store, accounts=args.accounts, organization=args.organization, ou=args.ou, shard=args.shard,
            assume_role_arn=args.assume_role_arn, profile=args.profile, region=args.region,
            granularity=args.granularity, timeout=args.timeout, profiles=args.config.accounts,
            progress=progress,
        )
    for message in swept.warnings:
        output.warn(args, message)
    for account, reason in sorted(swept.failed.items()):
        output.warn(args, f"account {account} not swept: {reason}")
    for account, where in sorted(swept.written.items()):
        print(f"{account}: {swept.reports[account]} reports -> {where}")
    if swept.interrupted:
        return output.EXIT_INTERRUPTED
    if not accounts:  # more workers than accounts: not an error of this worker's
        output.warn(args, f"shard {args.shard.index}/{args.shard.count} has no account to sweep")
    return output.EXIT_OK if not swept.failed else output.EXIT_USAGE
