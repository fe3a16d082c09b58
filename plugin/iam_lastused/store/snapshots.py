"""A store of usage snapshots: one per account and sweep, under `STORE/<account-id>/`.

A snapshot is an access-data file (store/access_data.py: each ARN mapped to what
`aws iam get-service-last-accessed-details` prints, and policy documents as
`aws iam get-policy-version` prints them), with one more entry, `SNAPSHOT_KEY`, saying
for which account, when, by whom and at which granularity it was made. So `aws s3 cp`
and `jq` read it, and `--access-data` takes a downloaded one as it is.

Its name is the time it was made, `YYYYMMDDTHHMMSSZ.json`, so the newest sorts last.
A store is a local directory (this module) or an S3 prefix (aws/s3_store.py); either
way a snapshot appears whole or not at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from iam_lastused.store.access_data import SNAPSHOT_KEY, AccessDataError, access_data_from_json, parse_date
from iam_lastused.store.atomic import write_atomically

FORMAT_VERSION = 1
_NAME = re.compile(r"^\d{8}T\d{6}Z\.json$")
_ACCOUNT = re.compile(r"^\d{12}$")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class StoreError(Exception):
    """The store cannot be read or written at all."""


@dataclass(frozen=True)
class About:
    """What a snapshot says of itself."""

    account: str
    made: datetime
    by: str
    granularity: str
    created: Mapping[str, datetime] = field(default_factory=dict)
    """When each principal and policy was created: a run's suggestions hold back on young ones."""

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "account": self.account,
            "made": self.made.isoformat(),
            "by": self.by,
            "granularity": self.granularity,
            "created": {arn: when.isoformat() for arn, when in sorted(self.created.items())},
        }


@dataclass(frozen=True)
class Snapshot:
    about: About
    data: dict[str, dict[str, Any]]
    """The access data: reports and policy documents, by ARN."""
    where: str
    """The file or object it was read from, for messages."""


class Store(Protocol):
    url: str

    def put(self, account: str, name: str, body: bytes) -> str:
        """Write one snapshot whole; returns where."""

    def newest(self, account: str) -> tuple[str, bytes] | None:
        """The newest snapshot of the account (where, body), or None."""


def snapshot_name(made: datetime) -> str:
    return made.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json"


def is_snapshot_name(name: str) -> bool:
    return bool(_NAME.match(name))


def encode(about: About, data: Mapping[str, Any]) -> bytes:
    return (json.dumps({SNAPSHOT_KEY: about.as_json(), **data}, indent=1, sort_keys=True) + "\n").encode()


def decode(where: str, body: bytes) -> Snapshot:
    """A snapshot read back; one that is not a snapshot of this format is a StoreError."""
    try:
        text = body.decode("utf-8")
        raw = json.loads(text)
        meta = raw.get(SNAPSHOT_KEY) if isinstance(raw, dict) else None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
            raise StoreError(f"{where}: not an iam-lastused snapshot (format {FORMAT_VERSION})")
        made = parse_date(meta["made"]) or datetime.min.replace(tzinfo=timezone.utc)
        created = {str(arn): parse_date(when) for arn, when in (meta.get("created") or {}).items()}
        about = About(
            str(meta["account"]), made, str(meta["by"]), str(meta["granularity"]),
            {arn: when for arn, when in created.items() if when is not None},
        )
        data = access_data_from_json(text, where)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, KeyError, TypeError, ValueError):
        raise StoreError(f"{where}: not an iam-lastused snapshot: not readable JSON of its format") from None
    except AccessDataError as exc:
        raise StoreError(str(exc)) from None
    return Snapshot(about, data, where)


def parse_duration(text: str) -> float:
    """Seconds in `30m`, `24h`, `7d`: a whole number and a unit (s, m, h or d)."""
    found = _DURATION.match(text.strip())
    if not found:
        raise ValueError(f"{text!r}: give a whole number and a unit, s, m, h or d (e.g. 24h)")
    return float(int(found[1]) * _UNITS[found[2]])


def describe_age(age: timedelta) -> str:
    """An age as people say it: `3d 4h`, `5h 12m`, `40m`, `30s`."""
    if age.total_seconds() < 60:
        return f"{max(0, int(age.total_seconds()))}s"
    minutes = int(age.total_seconds() // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def is_store_url(value: str | Path) -> bool:
    """An S3 prefix or a directory: a store, not an access-data file."""
    return str(value).startswith("s3://") or Path(value).is_dir()


def check_account(account: str) -> str:
    if not _ACCOUNT.match(account):
        raise StoreError(f"{account!r} is not an AWS account ID (12 digits)")
    return account


class DirectoryStore:
    """A store in a local directory: each snapshot written beside its place and renamed
    into it (store/atomic.py), so a reader never sees half of one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def put(self, account: str, name: str, body: bytes) -> str:
        directory = self.root / check_account(account)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            write_atomically(directory / name, body)
        except OSError as exc:
            raise StoreError(f"{directory / name}: cannot write: {exc.strerror or exc}") from None
        return str(directory / name)

    def newest(self, account: str) -> tuple[str, bytes] | None:
        directory = self.root / check_account(account)
        try:
            names = sorted(entry.name for entry in directory.iterdir() if is_snapshot_name(entry.name))
            if not names:
                return None
            path = directory / names[-1]
            return str(path), path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{directory}: cannot read: {exc.strerror or exc}") from None
