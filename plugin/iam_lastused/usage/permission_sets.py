"""A permission set's role in each account it is assigned to (`Principal.roles`), from
what is known of each account's roles: IAM's listing or a sweep's snapshot (each lists
every role of the account, so a role missing there is not provisioned yet), or an
access-data file (it holds the roles whose reports were saved, so a role missing there
is only missing from the file). Pure: the reading is aws/identity_center.py's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from iam_lastused.aws.identity_center import RESERVED_PATH, ReservedRole
from iam_lastused.aws.reports import account_of
from iam_lastused.model import AccountRole, Principal

_LONG_AGO = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Listing:
    """The roles known of one account; `complete` when that is every role there."""

    roles: tuple[ReservedRole, ...]
    complete: bool


Lookup = Callable[[str], "Listing | str"]
"""An account's listing, or why its roles cannot be known."""


def _role_name(permission_set: str) -> re.Pattern[str]:
    """The name of the role Identity Center provisions for `permission_set`."""
    return re.compile(rf"AWSReservedSSO_{re.escape(permission_set)}_[0-9a-fA-F]{{16}}")


def _role_arn(account: str, permission_set: str) -> re.Pattern[str]:
    """The ARN of that role in `account`: under the reserved path, with or without a
    region segment."""
    path = re.escape(RESERVED_PATH)
    name = _role_name(permission_set).pattern
    return re.compile(rf"arn:aws[a-z-]*:iam::{re.escape(account)}:role{path}(?:[a-z0-9-]+/)?{name}")


def role_among(roles: Iterable[ReservedRole], account: str, permission_set: str) -> ReservedRole | None:
    """The permission set's role in `account` among `roles` (the newest, should a listing
    hold two: a re-assignment makes a new one)."""
    pattern = _role_arn(account, permission_set)
    found = [role for role in roles if pattern.fullmatch(role.arn)]
    return max(found, key=lambda role: role.created or _LONG_AGO) if found else None


def needs_roles(principal: Principal) -> bool:
    """A permission set that is to be judged by its roles."""
    return (principal.kind == "permission-set" and principal.name is not None and not principal.unresolved
            and principal.deployed is not False)


def role_pattern(principal: Principal) -> str:
    """The name of its roles, as a message says it."""
    return f"AWSReservedSSO_{principal.name}_*"


def with_roles(principal: Principal, accounts: Sequence[str], lookup: Lookup) -> Principal:
    """The permission set with its role in each of `accounts`; `created` the youngest
    role's creation, since that role's report has seen the least."""
    name = principal.name or ""
    roles = []
    for account in dict.fromkeys(accounts):
        listing = lookup(account)
        if isinstance(listing, str):
            roles.append(AccountRole(account, why=listing))
            continue
        role = role_among(listing.roles, account, name)
        if role is not None:
            roles.append(AccountRole(account, role.arn, role.created))
        elif listing.complete:
            roles.append(AccountRole(account, not_deployed=True, why=(
                f"no role {role_pattern(principal)} in account {account} yet: the permission set is not "
                "provisioned there")))
        else:
            roles.append(AccountRole(account, why=f"the access data holds no role {role_pattern(principal)} "
                                                  f"of account {account}"))
    created = [role.created for role in roles if role.created is not None]
    return replace(principal, roles=tuple(roles), created=max(created) if created else principal.created)


def access_data_lookup(data: Mapping[str, Any]) -> Lookup:
    """The roles an access-data file holds, by account (its keys are ARNs)."""
    by_account: dict[str, list[ReservedRole]] = {}
    for arn in data:
        by_account.setdefault(account_of(arn), []).append(ReservedRole(arn))

    def lookup(account: str) -> Listing:
        return Listing(tuple(by_account.get(account, ())), complete=False)

    return lookup


def accounts_holding(principal: Principal, data: Mapping[str, Any]) -> list[str]:
    """The accounts of which an access-data file holds the permission set's role: its
    accounts when the code names none, and Identity Center is not asked offline."""
    name = principal.name or ""
    return sorted({account_of(arn) for arn in data
                   if role_among((ReservedRole(arn),), account_of(arn), name)})


def from_access_data(principal: Principal, data: Mapping[str, Any]) -> Principal:
    """The permission set with the roles an access-data file holds of it."""
    accounts: Iterable[str] | None = principal.accounts
    if accounts is None:
        accounts = accounts_holding(principal, data)
        if not accounts:
            return replace(principal, unresolved=(
                f"the code assigns it to no account it names, and the access data holds no role "
                f"{role_pattern(principal)} (offline, IAM Identity Center is not asked)"))
    return with_roles(principal, tuple(accounts), access_data_lookup(data))


def role_principals(principal: Principal) -> list[Principal]:
    """A permission set's roles as principals of their own, each with the permission set's
    grants, for a usage source that judges principals rather than ARNs (Access Analyzer)."""
    if principal.kind != "permission-set":
        return []
    return [
        Principal(
            address=f"{principal.address} ({role.account})", source=principal.source, kind="role",
            location=principal.location, arn=role.arn, name=role.arn.rpartition("/")[2],
            grants=principal.grants, deployed=True, created=role.created,
        )
        for role in principal.roles if role.arn
    ]
