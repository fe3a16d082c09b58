"""The library's `sweep`: which accounts, this worker's shard of them, and the store;
then aws/sweep.py does the work.

    from iam_lastused import api

    accounts, swept = api.sweep("s3://org-usage/iam-lastused", organization=True, shard="2/4",
                                assume_role_arn="arn:aws:iam::{account_id}:role/iam-lastused-sweep")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iam_lastused.aws import reports
from iam_lastused.aws import session as aws
from iam_lastused.aws.errors import AwsError, NoCredentials
from iam_lastused.aws.s3_store import open_store
from iam_lastused.aws.sweep import Shard, SweepError, Swept, caller, organization_accounts, sweep
from iam_lastused.runner import UsageError
from iam_lastused.store.snapshots import StoreError


@dataclass(frozen=True)
class SweepOptions:
    """What a sweep is asked to do; named like the command's long options. `profiles`
    names a profile per account ID (the config file's `[accounts]`)."""

    accounts: Sequence[str] = ()
    organization: bool = False
    ou: str | None = None
    shard: Shard = field(default_factory=Shard)
    assume_role_arn: str | None = None
    profile: str | None = None
    region: str | None = None
    granularity: str = "service"
    timeout: float = 600.0
    profiles: Mapping[str, str] | None = None
    progress: Callable[[int, int], None] | None = None


def parse_shard(text: str) -> Shard:
    """`I/N`, 1 <= I <= N."""
    index, slash, count = text.partition("/")
    if not (slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise ValueError(f"{text!r}: give I/N, worker I of N (1 <= I <= N), e.g. 2/4")
    return Shard(int(index), int(count))


def run_sweep(store_url: str | Path, **options: Any) -> tuple[list[str], Swept]:
    """Sweep this worker's accounts into the store: (its accounts, what was done).
    `options` are SweepOptions' fields; `shard` may be given as `I/N`."""
    if isinstance(options.get("shard"), str):
        try:
            options["shard"] = parse_shard(options["shard"])
        except ValueError as exc:
            raise UsageError(f"shard {exc}") from None
    try:
        return _sweep(store_url, SweepOptions(**options))
    except TypeError as exc:  # an option that does not exist
        raise UsageError(str(exc).replace("__init__()", "option")) from None


def _sweep(store_url: str | Path, options: SweepOptions) -> tuple[list[str], Swept]:
    try:
        session = aws.make_session(options.profile, options.region)
        by, own_account = caller(session)
    except NoCredentials:
        raise UsageError("no AWS credentials found: set a profile or the standard AWS variables") from None
    except AwsError as exc:
        raise UsageError(f"cannot identify the sweeping identity (sts:GetCallerIdentity): {exc}") from None
    try:
        store = open_store(store_url, session, writer=True)
        everyone = organization_accounts(session, options.ou) if options.organization else options.accounts
    except (StoreError, SweepError) as exc:
        raise UsageError(str(exc)) from None
    mine = options.shard.of(everyone or [own_account])
    # the caller's own credentials read only its own account: another one needs a role
    # template or a profile, or its snapshot would hold the caller's account's principals
    unreachable = [account for account in mine if account != own_account and not options.assume_role_arn
                   and account not in (options.profiles or {})]
    clients = aws.AccountClients(session, options.assume_role_arn, options.profiles, role="sweep")
    settings = reports.EngineSettings(options.granularity, timeout=options.timeout, use_cache=False)
    try:
        reachable = [account for account in mine if account not in unreachable]
        swept = sweep(by, reachable, store, clients, settings, options.progress)
    except reports.CredentialsMissing:
        raise UsageError("no AWS credentials found: set a profile or the standard AWS variables") from None
    for account in unreachable:
        swept.failed[account] = (f"no way into it: the caller is in {own_account}; give --assume-role-arn "
                                  "or a profile for it in [accounts]")
    return mine, swept
