"""IAM Identity Center, for a permission set: the accounts it is provisioned to, and the
role it provisions in each.

AWS keeps no last-accessed data for a permission set, but in each account it is
provisioned to, Identity Center makes an ordinary IAM role for it,
`AWSReservedSSO_<name>_<16 hex>` under `/aws-reserved/sso.amazonaws.com/` (a region
segment after that when Identity Center is outside us-east-1), whose reports are any
role's. The accounts come from `sso-admin`, asked with the run's own credentials (the
organisation's management account or Identity Center's delegated administrator, in
Identity Center's region); each role from `iam:ListRoles` in its account, through that
account's credentials (session.AccountClients). Lookups like the rest: botocore's
standard retries for throttling, and a failure said with the permission it wants
(errors.failure).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from iam_lastused.aws import session as aws
from iam_lastused.aws.errors import AwsError, NoCredentials, failure

RESERVED_PATH = "/aws-reserved/sso.amazonaws.com/"
LOOKUP_WORKERS = 8
"""Accounts listed at once, and permission sets described at once."""
LOOKUP_CONFIG = aws.BOTOCORE_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 8}))
"""botocore's standard retries, with more attempts than a run's few lookups: a permission
set's lookups are one call per account, or per permission set of an instance, in parallel."""
_PERMISSION_SET_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sso:::[A-Za-z]+/(?P<instance>ssoins-[^/]+)/ps-[^/]+"
)


@dataclass(frozen=True)
class ReservedRole:
    """A role Identity Center provisioned in an account."""

    arn: str
    created: datetime | None = None


def reserved_roles(session: Any) -> list[ReservedRole]:
    """The roles under the reserved path of the session's account (AwsError when IAM will
    not list them, NoCredentials when there are none)."""
    with _failing(f"cannot list the roles under {RESERVED_PATH}", "iam"):
        iam = aws.client(session, "iam", LOOKUP_CONFIG, role="identity-center")
        pages = iam.get_paginator("list_roles").paginate(PathPrefix=RESERVED_PATH)
        return [ReservedRole(role["Arn"], role.get("CreateDate")) for page in pages for role in page["Roles"]]


def roles_in_accounts(
    clients: aws.AccountClients, accounts: Iterable[str]
) -> dict[str, list[ReservedRole] | AwsError | aws.AccountUnavailable]:
    """Each account's reserved roles, listed in parallel through its own credentials, or
    why they cannot be (NoCredentials when there are none at all)."""

    def take(account: str) -> list[ReservedRole] | AwsError | aws.AccountUnavailable:
        try:
            return reserved_roles(clients.session_for(account))
        except NoCredentials:  # none at all: said once for the run, not once an account
            raise
        except (aws.AccountUnavailable, AwsError) as exc:
            return exc

    wanted = list(dict.fromkeys(accounts))
    with ThreadPoolExecutor(max_workers=LOOKUP_WORKERS) as pool:
        return dict(zip(wanted, pool.map(take, wanted), strict=True))


class IdentityCenter:
    """sso-admin as one run asks it, through the run's own session: the instances and
    their permission sets by name read once, when a permission set is known by name only."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._client: Any = None
        self._by_name: dict[str, str] | AwsError | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with _failing("cannot ask IAM Identity Center"):
                self._client = aws.client(self.session, "sso-admin", LOOKUP_CONFIG, role="identity-center")
        return self._client

    def permission_set_arn(self, name: str) -> str | None:
        """The ARN of the permission set named `name`, or None when Identity Center has
        none of that name (the code is not applied yet); AwsError when it cannot say."""
        with self._lock:
            if self._by_name is None:
                try:
                    self._by_name = self._permission_sets()
                except AwsError as exc:  # asked once a run, whatever the answer
                    self._by_name = exc
        if isinstance(self._by_name, AwsError):
            raise self._by_name
        return self._by_name.get(name)

    def _permission_sets(self) -> dict[str, str]:
        with _failing("cannot list Identity Center's permission sets"):
            instances = [
                instance["InstanceArn"]
                for page in self.client.get_paginator("list_instances").paginate()
                for instance in page["Instances"]
            ]
            arns = [
                (instance, arn)
                for instance in instances
                for page in self.client.get_paginator("list_permission_sets").paginate(InstanceArn=instance)
                for arn in page["PermissionSets"]
            ]

            def name_of(instance_and_arn: tuple[str, str]) -> str:
                instance, arn = instance_and_arn
                described = self.client.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)
                return str(described["PermissionSet"]["Name"])

            with ThreadPoolExecutor(max_workers=LOOKUP_WORKERS) as pool:
                names = list(pool.map(name_of, arns))
        return {name: arn for name, (_, arn) in zip(names, arns, strict=True)}

    def accounts(self, permission_set_arn: str) -> list[str]:
        """The accounts the permission set is provisioned to (AwsError when Identity
        Center will not say)."""
        match = _PERMISSION_SET_ARN.fullmatch(permission_set_arn)
        if match is None:
            raise AwsError(f"{permission_set_arn} is not a permission set's ARN")
        instance = f"arn:{match['partition']}:sso:::instance/{match['instance']}"
        with _failing(f"cannot list the accounts of {permission_set_arn}"):
            pages = self.client.get_paginator("list_accounts_for_provisioned_permission_set").paginate(
                InstanceArn=instance, PermissionSetArn=permission_set_arn
            )
            return [str(account) for page in pages for account in page["AccountIds"]]


@contextmanager
def _failing(what: str, service: str = "sso") -> Iterator[None]:
    """botocore's exceptions in the block raised again as AwsError, the message saying
    what could not be done and how it failed (NoCredentials when there are none)."""
    try:
        yield
    except NoCredentialsError as exc:
        raise NoCredentials(str(exc)) from None
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
        raise AwsError(f"{what}{failure(exc, service)}", code) from None
