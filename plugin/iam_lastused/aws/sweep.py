"""A sweep: every role, user, group and customer managed policy of each account, its
last-accessed report, written as one snapshot per account to a store.

Which accounts: those given, or every ACTIVE account of the organisation (optionally
under one organisational unit, at any depth), then this worker's shard of them. Each
account is reached as a run reaches it (aws/session.py: its profile, a role assumed
from a template, or the caller's own credentials), and the reports of a batch of
accounts come from the one report engine (aws/reports.py), which works on accounts in
parallel and paces each one by its own throttling, as for a run. Besides the reports, a snapshot holds the
documents of the account's customer managed policies and of the AWS managed policies
attached in it, so a run reading the store needs no IAM call for them either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from iam_lastused.aws import reports
from iam_lastused.aws import session as aws
from iam_lastused.aws.errors import failure, translated
from iam_lastused.aws.managed_policies import as_access_data
from iam_lastused.aws.session import AccountClients, AccountUnavailable
from iam_lastused.model import ReportFailure
from iam_lastused.store.snapshots import About, Store, StoreError, encode, snapshot_name

INVENTORY_WORKERS = 8
ACCOUNTS_AT_ONCE = 32
_LISTS = (("list_roles", "Roles"), ("list_users", "Users"), ("list_groups", "Groups"))


class SweepError(Exception):
    """The accounts to sweep cannot be known: nothing is swept."""


@dataclass(frozen=True)
class Shard:
    """Worker `index` of `count` (1-based): the accounts at sorted positions congruent
    to `index` modulo `count`."""

    index: int = 1
    count: int = 1

    def of(self, accounts: Iterable[str]) -> list[str]:
        ordered = sorted(set(accounts))
        mine = self.index % self.count
        return [account for position, account in enumerate(ordered, 1) if position % self.count == mine]


@dataclass(frozen=True)
class Inventory:
    """What one account holds: the ARNs to report on, when each was created, and policy
    documents by ARN."""

    arns: tuple[str, ...]
    created: dict[str, datetime]
    documents: dict[str, Any]


@dataclass
class Swept:
    """What a sweep wrote (where, by account) and what it could not do."""

    written: dict[str, str] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False


def organization_accounts(session: Any, ou: str | None = None) -> list[str]:
    """The ACTIVE accounts of the caller's organisation, or of `ou` and the units below it."""
    client = aws.client(session, "organizations", role="sweep")
    try:
        if ou is None:
            return _active(client.get_paginator("list_accounts").paginate())
        found: list[str] = []
        parents = [ou]
        while parents:
            parent = parents.pop()
            found += _active(client.get_paginator("list_accounts_for_parent").paginate(ParentId=parent))
            units = client.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent)
            parents += [unit["Id"] for page in units for unit in page["OrganizationalUnits"]]
        return found
    except (ClientError, BotoCoreError) as exc:
        raise SweepError(f"cannot list the organisation's accounts{failure(exc, 'organizations')}") from None


def _active(pages: Iterable[dict[str, Any]]) -> list[str]:
    return [
        account["Id"]
        for page in pages
        for account in page["Accounts"]
        if account.get("State", account.get("Status")) == "ACTIVE"
    ]


def inventory(session: Any) -> Inventory:
    """The account's principals and customer managed policies, and the documents of
    those policies and of the AWS managed policies attached in it."""
    iam = aws.client(session, "iam", role="sweep")
    entities = [
        entity
        for method, key in _LISTS
        for page in iam.get_paginator(method).paginate()
        for entity in page[key]
    ]
    policies = [
        policy
        for scope in ({"Scope": "Local"}, {"Scope": "AWS", "OnlyAttached": True})
        for page in iam.get_paginator("list_policies").paginate(**scope)
        for policy in page["Policies"]
    ]
    entities += [policy for policy in policies if policy["Arn"].split(":")[4] != "aws"]

    def document(policy: dict[str, Any]) -> Any:
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        return version["PolicyVersion"]["Document"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        documents = dict(zip((p["Arn"] for p in policies), pool.map(document, policies), strict=True))
    created = {entity["Arn"]: entity["CreateDate"] for entity in entities if entity.get("CreateDate")}
    return Inventory(tuple(entity["Arn"] for entity in entities), created, documents)


def caller(session: Any) -> tuple[str, str]:
    """Who sweeps (the caller's ARN, for the snapshots) and the caller's account
    (AwsError, NoCredentials when STS cannot say)."""
    with translated():
        identity = aws.client(session, "sts", role="sweep").get_caller_identity()
    return str(identity["Arn"]), str(identity["Account"])


def sweep(
    by: str,
    accounts: Sequence[str],
    store: Store,
    clients: AccountClients,
    settings: reports.EngineSettings,
    progress: reports.Progress | None = None,
) -> Swept:
    """Sweep `accounts` into `store`, `ACCOUNTS_AT_ONCE` at a time (each account's engine
    has up to `max_concurrency` calls in flight, so all of a large organisation at once
    would be thousands of threads), each batch written as soon as its reports are in. An
    account that cannot be read or written is in `failed`, and the others carry on. On
    Ctrl-C nothing more is written."""
    swept = Swept()
    done = 0

    def advance(batch_done: int, batch_total: int) -> None:
        if progress:
            progress(done + batch_done, done + batch_total)

    for start in range(0, len(accounts), ACCOUNTS_AT_ONCE):
        batch = _inventories(accounts[start:start + ACCOUNTS_AT_ONCE], clients, swept)
        if not _sweep_batch(by, batch, store, clients, settings, advance, swept):
            break
        done += sum(len(inventory_of.arns) for inventory_of in batch.values())
    return swept


def _inventories(accounts: Sequence[str], clients: AccountClients, swept: Swept) -> dict[str, Inventory]:
    """Each account's inventory, listed in parallel; an account that cannot be listed is
    in `swept.failed`."""
    found: dict[str, Inventory] = {}

    def take(account: str) -> None:
        try:
            found[account] = inventory(clients.session_for(account))
        except AccountUnavailable as exc:
            swept.failed[account] = str(exc)
        except (ClientError, BotoCoreError) as exc:
            swept.failed[account] = f"cannot list its principals{failure(exc, 'iam')}"

    with ThreadPoolExecutor(max_workers=INVENTORY_WORKERS) as pool:
        list(pool.map(take, accounts))
    return {account: found[account] for account in accounts if account in found}  # in the given order


def _sweep_batch(
    by: str,
    found: dict[str, Inventory],
    store: Store,
    clients: AccountClients,
    settings: reports.EngineSettings,
    progress: reports.Progress,
    swept: Swept,
) -> bool:
    """The batch's reports, then a snapshot per account; False when interrupted."""
    started = datetime.now(timezone.utc)
    wanted = [arn for inventory_of in found.values() for arn in inventory_of.arns]
    try:
        fetched = reports.fetch_reports(clients, wanted, settings, progress=progress)
    except reports.Interrupted:
        swept.interrupted = True
        return False
    swept.warnings += [note for note in fetched.notes if note not in swept.warnings]
    for account, inventory_of in found.items():
        outcomes = {arn: fetched.outcomes[arn] for arn in inventory_of.arns}
        failures = [o for o in outcomes.values() if isinstance(o, ReportFailure) and not o.not_found]
        for message in dict.fromkeys(f.message for f in failures):
            count = sum(f.message == message for f in failures)
            swept.warnings.append(f"account {account}: {message} ({count} principal{'s' * (count != 1)} "
                                  "left out of its snapshot)")
        data: dict[str, dict[str, Any]] = reports.only_reports(outcomes)
        for arn, entry in as_access_data(inventory_of.documents).items():  # a policy: report and document
            data[arn] = {**data.get(arn, {}), **entry}
        about = About(account, started, by, settings.granularity, inventory_of.created)
        try:
            swept.written[account] = store.put(account, snapshot_name(started), encode(about, data))
            swept.reports[account] = len(reports.only_reports(outcomes))
        except StoreError as exc:
            swept.failed[account] = str(exc)
    return True
