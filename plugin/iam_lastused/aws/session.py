"""AWS sessions and clients: the standard credential chain, `--profile` and
`--region`, and a client per account for organisations (a named profile per
account, or a role assumed in each account from a template). Every client is
guarded by the read-only allow-list."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from iam_lastused.aws.errors import translated
from iam_lastused.aws.permissions import guarded

# Lookups (STS, CloudFormation, GetRole...) are few: botocore's standard retries serve.
BOTOCORE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=30
)
# The report engine's clients make one attempt a call: the engine retries throttling
# and connection errors itself, because it paces each account from the throttles it
# sees (botocore's retries would hide them, sleeping blind) and knows the deadline.
# Measured with bench/report_fetch.py: 1.4x the ideal this way, 2.0x with 3 attempts.
REPORTS_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 1}, connect_timeout=10, read_timeout=30
)


class AccountUnavailable(Exception):
    """No usable credentials for one account; its principals cannot be analysed."""


def make_session(profile: str | None, region: str | None) -> Any:
    """A boto3 session (AwsError when botocore cannot make it: a profile not found, say)."""
    import boto3

    with translated():
        return boto3.Session(profile_name=profile, region_name=region)


def client(session: Any, service: str, config: Config = BOTOCORE_CONFIG, role: str = "run") -> Any:
    """A client allowed `role`'s operations only (permissions.ROLES)."""
    return guarded(session.client(service, config=config), role)


def lookup_client(session: Any, service: str) -> Any:
    """A client for a run's lookups (STS, IAM, CloudFormation); AwsError when botocore
    cannot make one (no region, for CloudFormation)."""
    with translated():
        return client(session, service)


class AccountClients:
    """An IAM client for each account, made once: through the account's named profile,
    a role assumed from `assume_role_template` (`{account_id}` filled in), or else the
    caller's own credentials. `role` is the allow-list its clients keep to."""

    def __init__(
        self,
        session: Any,
        assume_role_template: str | None = None,
        profiles: Mapping[str, str] | None = None,
        role: str = "run",
    ) -> None:
        self.session = session
        self.template = assume_role_template
        self.profiles = dict(profiles or {})
        self.role = role
        self._sessions: dict[str, Any] = {}
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, account: str) -> Any:
        session = self.session_for(account)
        with self._lock:
            if account not in self._clients:
                self._clients[account] = client(session, "iam", REPORTS_CONFIG, self.role)
            return self._clients[account]

    def reaches(self, account: str, own_account: str) -> bool:
        """Whether there is a way into `account` for a caller in `own_account`: its own
        credentials read only their account; another needs a profile or the role template."""
        return account == own_account or account in self.profiles or bool(self.template)

    def session_for(self, account: str) -> Any:
        """The boto3 session for the account (AccountUnavailable when there is none)."""
        with self._lock:
            if account not in self._sessions:
                self._sessions[account] = self._make(account)
            return self._sessions[account]

    def _make(self, account: str) -> Any:
        import boto3

        region = self.session.region_name
        if account in self.profiles:
            try:
                return boto3.Session(profile_name=self.profiles[account], region_name=region)
            except BotoCoreError as exc:
                profile = self.profiles[account]
                raise AccountUnavailable(f"profile {profile} for account {account}: {exc}") from None
        if not self.template:
            return self.session
        role = self.template.format(account_id=account)
        try:
            sts = client(self.session, "sts", role=self.role)
            answer = sts.assume_role(RoleArn=role, RoleSessionName="iam-lastused")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise AccountUnavailable(f"cannot assume {role} (sts:AssumeRole): {code}") from None
        except BotoCoreError as exc:
            raise AccountUnavailable(f"cannot assume {role} (sts:AssumeRole): {exc}") from None
        credentials = answer["Credentials"]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
