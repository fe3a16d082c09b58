"""The typed model every stage shares: sources produce `Principal`s, the report
engine produces `AccessReport`s, analysis joins the two into `PrincipalResult`s,
and renderers turn a `RunResult` into text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Kind = Literal["role", "user", "group", "policy", "permission-set"]
"""`permission-set`: an IAM Identity Center permission set, judged by the role it
provisions in each account it is assigned to (`Principal.roles`)."""
Source = Literal["arn", "terraform", "terraform-plan", "cloudformation", "cdk"]
Status = Literal["analyzed", "not-deployed", "no-data", "unresolved", "invalid-name", "error"]
NOT_ANALYSABLE: tuple[Status, ...] = ("unresolved", "invalid-name", "error")
"""The statuses of principals that cannot be analysed: said, never counted as findings."""
State = Literal["used", "stale", "unused", "not-granted", "not-in-report", "unknown-service"]
"""`not-in-report` and `unknown-service` are for services the code grants that the report
does not list: a service IAM knows (the catalogue has it), or one it does not."""


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None


@dataclass(frozen=True)
class InputError:
    """Bad input that was skipped; the run carries on with the rest."""

    message: str
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Statement:
    """One `Allow` or `Deny` policy statement, with its action patterns as written.
    `resources` is None where the statement's resources cannot be read."""

    location: Location
    effect: str = "Allow"
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PolicyReference:
    """A customer managed policy named by name and path, as a permission set refers to
    one: the policy itself is in each account the permission set is assigned to."""

    name: str
    path: str = "/"


@dataclass(frozen=True)
class Grant:
    """One way a principal holds permissions: an inline policy, a managed policy
    defined in the code, or an attachment of a policy the code does not define
    (`policy_arn`, such as an AWS managed policy), whose statements are unknown until
    read from IAM or the access data, and then located at the attachment.
    `unknown` says why a grant that is not `known` is not (None: no reason given); it is
    commentary, so two grants that differ only in it are equal."""

    location: Location
    statements: tuple[Statement, ...] = ()
    policy_arn: str | None = None
    known: bool = True
    unknown: str | None = field(default=None, compare=False)
    policy_reference: PolicyReference | None = None
    """A customer managed policy referred to by name (a permission set's), not yet read."""


@dataclass(frozen=True)
class Suppression:
    """Findings for `services` (namespaces; "*" for all) that a user accepted, and why."""

    services: tuple[str, ...]
    reason: str
    location: Location | None = None

    def covers(self, namespace: str) -> bool:
        return "*" in self.services or namespace in self.services


@dataclass(frozen=True)
class AccountRole:
    """A permission set's role in one account it is assigned to: the role Identity Center
    provisions there (`AWSReservedSSO_<name>_<16 hex>` under `/aws-reserved/sso.amazonaws.com/`),
    or, where `arn` is None, why there is none (`not_deployed`: not provisioned yet)."""

    account: str
    arn: str | None = None
    created: datetime | None = None
    not_deployed: bool = False
    why: str | None = None


@dataclass(frozen=True)
class Principal:
    """An IAM role, user, group or managed policy, as a source found it.

    `arn` is set once resolution knows it; `unresolved` says why it cannot be.
    `grants` is None when the source cannot know what the principal is granted
    (a bare ARN), in which case the AWS report's list of services stands.
    In a plan, `change` is the principal's own change action, `grants_before`
    what it was granted before the change (None where that is not known), and
    `granted_via` the addresses of the other resources that grant to it, in plan order.
    """

    address: str
    source: Source
    kind: Kind
    location: Location | None = None
    arn: str | None = None
    name: str | None = None
    path: str = "/"
    grants: tuple[Grant, ...] | None = None
    unresolved: str | None = None
    invalid_name: bool = False
    """The name or path the code gives breaks IAM's rules: `unresolved` says how, the
    value itself is gone (resolve.with_valid_names)."""
    deployed: bool | None = None
    change: str | None = None
    grants_before: tuple[Grant, ...] | None = None
    suppressions: tuple[Suppression, ...] = ()
    created: datetime | None = None
    granted_via: tuple[str, ...] = ()
    stack_address: str | None = None
    """Where the address is another name (a CDK construct path): `Stack/LogicalId` as
    CloudFormation knows it (a nested stack's logical ID between), for stack resolution."""
    boundary: Grant | None = None
    """The permissions boundary the code sets, as written: it limits, it grants nothing."""
    accounts: tuple[str, ...] | None = None
    """A permission set's accounts as the code assigns them (None: the code assigns it to
    none it can name, so they are asked of Identity Center)."""
    roles: tuple[AccountRole, ...] = ()
    """A permission set's role in each assigned account, as resolving found them."""


@dataclass(frozen=True)
class ActionAccess:
    name: str
    last_accessed: datetime | None = None
    region: str | None = None


@dataclass(frozen=True)
class ServiceAccess:
    namespace: str
    name: str
    last_accessed: datetime | None = None
    region: str | None = None
    actions: tuple[ActionAccess, ...] | None = None


@dataclass(frozen=True)
class AccessReport:
    """A completed last-accessed job for one ARN."""

    arn: str
    services: tuple[ServiceAccess, ...]
    completed: datetime | None = None


@dataclass(frozen=True)
class ReportFailure:
    """Why no report could be had for one ARN. `not_found` means IAM has no such
    entity, which for code not yet applied is the expected answer."""

    arn: str
    message: str
    not_found: bool = False


@dataclass(frozen=True)
class ActionResult:
    name: str
    state: State
    last_accessed: datetime | None = None
    region: str | None = None


@dataclass(frozen=True)
class ServiceResult:
    namespace: str
    name: str
    state: State
    last_accessed: datetime | None = None
    region: str | None = None
    granted_by: tuple[Location, ...] = ()
    actions: tuple[ActionResult, ...] | None = None
    suppressed: Suppression | None = None
    unused_actions: tuple[str, ...] | None = None
    """At action level, the tracked actions the code grants that were never used, as
    `service:Action`; None where not judged at action level."""
    accounts: tuple[str, ...] = ()
    """For a permission set, the assigned accounts in which this state holds (whose
    role did not use the service, or not recently); empty for other principals."""

    @property
    def partly_used(self) -> bool:
        """Used, with tracked actions that were never used."""
        return self.state == "used" and bool(self.unused_actions)


@dataclass(frozen=True)
class StaticFinding:
    """A broad grant seen in the code alone, with no usage data needed. `rule` is the
    name of the rule that found it, one of analysis.rules.STATIC."""

    rule: str
    message: str
    location: Location | None


@dataclass(frozen=True)
class PrincipalResult:
    """`granted` is what the code grants (None where a source cannot know); `added`
    and `removed` what a pending change grants anew or takes away; `unknown` the grants
    whose documents are not known, each with why; `unreported` the services the code
    grants that the report does not list (`not-in-report` or `unknown-service`)."""

    principal: Principal
    status: Status
    error: str | None = None
    services: tuple[ServiceResult, ...] = ()
    granted: tuple[str, ...] | None = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    static: tuple[StaticFinding, ...] = ()
    unknown: tuple[tuple[Location, str], ...] = ()
    unreported: tuple[ServiceResult, ...] = ()

    @property
    def grants_complete(self) -> bool | None:
        """Whether every grant's document is known (None where the code is not read)."""
        return None if self.principal.grants is None else not self.unknown

    def namespaces_in(self, state: State) -> list[str]:
        """The services in `state`, suppressed findings left out."""
        return sorted(s.namespace for s in self.services if s.state == state and not s.suppressed)

    def findings(self) -> list[ServiceResult]:
        """Unused, then stale services that are not suppressed."""
        flagged = [s for s in self.services if not s.suppressed]
        return [s for state in ("unused", "stale") for s in flagged if s.state == state]

    def suppressed(self) -> list[ServiceResult]:
        return [s for s in self.services if s.suppressed and s.state in ("unused", "stale")]

    def partly_used(self) -> list[ServiceResult]:
        return [s for s in self.services if s.partly_used]


@dataclass(frozen=True)
class CallerIdentity:
    """Whose credentials a run reads AWS with (sts:GetCallerIdentity)."""

    partition: str
    account: str
    arn: str


@dataclass(frozen=True)
class UsageSource:
    """Where a run's usage data came from, for a reader to judge it by: AWS (`live`,
    read as `identity` in its account), an access-data `file` (written at `file_date`,
    by its modification time), a sweep's `store` (its snapshots are named in the
    report's notes; `identity` when what it lacked was asked of AWS), IAM Access
    Analyzer's findings (`access-analyzer`, read as `identity`), or nowhere (`none`:
    offline, no credentials, or nothing to ask about)."""

    kind: Literal["live", "file", "store", "access-analyzer", "none"]
    identity: CallerIdentity | None = None
    file: str | None = None
    file_date: datetime | None = None
    store: str | None = None
    analyzer_arn: str | None = None

    def describe(self) -> str:
        """One line for a report's header."""
        who = f", as {self.identity.arn}" if self.identity is not None else ""
        if self.kind == "live" and self.identity is not None:
            return f"AWS, account {self.identity.account}{who}"
        if self.kind == "live":
            return "AWS"
        if self.kind == "store":
            return f"the sweep's store {self.store}" + (f"; what it lacked from AWS{who}" if who else "")
        if self.kind == "access-analyzer":
            return f"IAM Access Analyzer's findings of {self.analyzer_arn}{who}"
        if self.kind == "file":
            date = f", written {self.file_date:%Y-%m-%d %H:%M} UTC" if self.file_date else ""
            return f"the access-data file {self.file}{date}"
        return "none"


@dataclass(frozen=True)
class RunResult:
    """What a run found. `warnings` are about the run itself (no credentials, a refused
    call), said once each; `interrupted` means Ctrl-C cut the reports short."""

    stale_days: int
    now: datetime
    principals: tuple[PrincipalResult, ...]
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = ()
    interrupted: bool = False
    usage_source: UsageSource = field(default_factory=lambda: UsageSource("none"))


@dataclass(frozen=True)
class SourceResult:
    """What one source read from the input: principals, and the input it had to skip."""

    principals: tuple[Principal, ...] = ()
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
