"""What several formats say alike: how long ago something was used, a file's place as a
URI reference, and a permission set's roles and the accounts a finding holds in (as
plain words: each format escapes them its own way)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from iam_lastused.model import AccountRole, Grant, Principal
from iam_lastused.render.escape import uri_bytes


def days_ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return ""
    days = (now - when).days
    return "today" if days <= 0 else f"{days} day{'s' if days != 1 else ''} ago"


def artifact_uri(path: str) -> str:
    """A file path as given, as a relative URI reference: forward slashes, percent-encoded."""
    return quote(uri_bytes(path.replace("\\", "/").removeprefix("./")), safe="/")


def in_accounts(accounts: Sequence[str]) -> str:
    """Where a permission set's finding holds: `in account A`, `in accounts A, B`; "" for
    other principals, whose findings hold in their one account."""
    if not accounts:
        return ""
    return f"in account{'s' if len(accounts) != 1 else ''} {', '.join(accounts)}"


def role_text(role: AccountRole, now: datetime | None) -> str:
    """A permission set's role in one assigned account: its ARN and (given `now`) its age,
    or why there is none."""
    if role.arn:
        age = f" (created {days_ago(role.created, now)})" if role.created and now else ""
        return f"role in {role.account}: {role.arn}{age}"
    if role.not_deployed:
        return f"not deployed in {role.account}" + (f": {role.why}" if role.why else "")
    return f"role in {role.account} not read: {role.why or 'no reason given'}"


def roles_text(principal: Principal, now: datetime) -> str:
    """A permission set's roles in one sentence, for the formats that say it in one line."""
    return "; ".join(role_text(role, now) for role in principal.roles)


def roles_to_show(principal: Principal) -> bool:
    """Whether a principal has roles that a reader should hear about even without findings:
    an account with no role, or one that could not be read."""
    return any(role.arn is None for role in principal.roles)


def boundary_text(boundary: Grant) -> str:
    """A permissions boundary as the code sets it: the policy's ARN or name, or "a policy"."""
    if boundary.policy_arn:
        return boundary.policy_arn
    if boundary.policy_reference:
        reference = boundary.policy_reference
        return f"the customer managed policy {reference.path}{reference.name}"
    return "a policy"
