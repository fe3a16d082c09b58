"""A run's reports from a store (`--access-data URL`): per account, its newest snapshot
if no older than `--max-age` and made at the run's granularity. What the store cannot
give (a principal a snapshot lacks, an account with no usable snapshot) is said once per
account, with the snapshot's age, and left for the run to fetch live."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from iam_lastused.aws.reports import account_of
from iam_lastused.store.snapshots import Snapshot, Store, StoreError, decode, describe_age


@dataclass
class StoreReader:
    store: Store
    max_age: float
    granularity: str = "service"
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    _snapshots: dict[str, Snapshot | None] = field(default_factory=dict)

    def snapshot(self, account: str, warn: Callable[[str], None]) -> Snapshot | None:
        """The account's usable snapshot, read once; why there is none is said once."""
        if account not in self._snapshots:
            self._snapshots[account] = self._read(account, warn)
        return self._snapshots[account]

    def _read(self, account: str, warn: Callable[[str], None]) -> Snapshot | None:
        try:
            newest = self.store.newest(account)
            if newest is None:
                warn(f"the store {self.store.url} has no snapshot of account {account}")
                return None
            snapshot = decode(*newest)
            if snapshot.about.account != account:
                raise StoreError(f"{snapshot.where}: a snapshot of account {snapshot.about.account}, "
                                 f"not of {account}")
        except StoreError as exc:
            warn(f"{exc}: the snapshot of account {account} is not used")
            return None
        age = self.now() - snapshot.about.made
        if age > timedelta(seconds=self.max_age):
            warn(f"the snapshot of account {account} ({snapshot.where}) is {describe_age(age)} old, "
                 f"older than --max-age {describe_age(timedelta(seconds=self.max_age))}: not used")
            return None
        if self.granularity == "action" and snapshot.about.granularity != "action":
            warn(f"the snapshot of account {account} ({snapshot.where}) was made at "
                 f"{snapshot.about.granularity} level; --granularity action needs a sweep at action level: "
                 "not used")
            return None
        return snapshot

    def created(self, arn: str, warn: Callable[[str], None]) -> datetime | None:
        """When the principal was created, as its account's usable snapshot says."""
        account = account_of(arn)
        if not (len(account) == 12 and account.isdigit()):
            return None
        snapshot = self.snapshot(account, warn)
        return snapshot.about.created.get(arn) if snapshot is not None else None

    def principals(self, account: str, warn: Callable[[str], None]) -> dict[str, datetime | None] | None:
        """Every principal and policy of the account, with when it was created, as its
        usable snapshot lists them (a sweep lists every one); None without such a snapshot."""
        snapshot = self.snapshot(account, warn)
        if snapshot is None:
            return None
        created = snapshot.about.created
        return {arn: created.get(arn) for arn in {*snapshot.data, *created}}

    def reports(self, arns: Iterable[str], warn: Callable[[str], None]) -> dict[str, dict[str, Any]]:
        """The store's entry for each ARN it has; the ARNs a usable snapshot lacks are said,
        by account."""
        found: dict[str, dict[str, Any]] = {}
        lacking: dict[str, list[str]] = {}
        for arn in arns:
            account = account_of(arn)
            if not (len(account) == 12 and account.isdigit()):  # an AWS managed policy: no account's
                continue
            snapshot = self.snapshot(account, warn)
            if snapshot is None:
                continue
            entry = snapshot.data.get(arn)
            if entry is not None and "JobStatus" in entry:
                found[arn] = entry
            else:
                lacking.setdefault(account, []).append(arn)
        for account, missing in lacking.items():
            snapshot = self._snapshots[account]
            assert snapshot is not None  # only ARNs of accounts with a usable snapshot lack one
            count = len(missing)
            warn(f"{count} principal{'s' * (count != 1)} of account {account} "
                 f"{'are' if count != 1 else 'is'} not in its snapshot (made "
                 f"{describe_age(self.now() - snapshot.about.made)} ago)")
        return found

    def notes(self) -> list[str]:
        """Which snapshots the run used, for the report."""
        return [
            f"usage from the store {self.store.url}: account {account}'s snapshot made "
            f"{describe_age(self.now() - snapshot.about.made)} ago by {snapshot.about.by}"
            for account, snapshot in sorted(self._snapshots.items()) if snapshot is not None
        ]

    def documents(self) -> dict[str, dict[str, Any]]:
        """The access data of every usable snapshot read, for the policy documents it holds."""
        usable = [snapshot for snapshot in self._snapshots.values() if snapshot is not None]
        return {arn: entry for snapshot in usable for arn, entry in snapshot.data.items()}
