"""Joining principals with their reports: pure functions, no I/O.

A service in a report is `used` if last accessed within `stale_days`, `stale`
if accessed longer ago, `unused` if never accessed in the tracking period, and
`not-granted` if the code no longer grants it (the code is what will be
deployed, so a grant it already removes is not a finding). A tracked action (with
`--granularity action`) is judged the same way. A service the code grants that the
report does not list is `not-in-report`, or `unknown-service` when the catalogue does
not know it either (a mistyped prefix, or a service newer than the catalogue): shown,
never a finding.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from iam_lastused import catalog
from iam_lastused.analysis import rules
from iam_lastused.analysis.rule import PrincipalCheck, StatementCheck
from iam_lastused.model import (
    AccessReport,
    AccountRole,
    ActionAccess,
    ActionResult,
    Grant,
    Location,
    Principal,
    PrincipalResult,
    ReportFailure,
    RunResult,
    ServiceAccess,
    ServiceResult,
    State,
    Statement,
    StaticFinding,
)

DEFAULT_MAX_SERVICES = 10
_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def statement_services(statement: Statement) -> set[str]:
    if statement.effect != "Allow":
        return set()
    if statement.not_actions:
        return catalog.services_for_not_actions(statement.not_actions)
    return catalog.services_for_actions(statement.actions)


def granted_services(grants: Sequence[Grant]) -> tuple[dict[str, list[Location]], bool]:
    """Each service the grants allow, with the statements that allow it, and
    whether that list is complete (False when a grant's statements are unknown)."""
    granted: dict[str, list[Location]] = {}
    complete = True
    for grant in grants:
        if not grant.known:
            complete = False
        for statement in grant.statements:
            for namespace in statement_services(statement):
                granted.setdefault(namespace, [])
                if statement.location not in granted[namespace]:
                    granted[namespace].append(statement.location)
    return granted, complete


def _state(last_accessed: datetime | None, cutoff: datetime) -> State:
    if last_accessed is None:
        return "unused"
    return "used" if last_accessed >= cutoff else "stale"


@functools.lru_cache(maxsize=4096)
def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for what any of the action patterns matches, as IAM matches them
    (case-insensitive, `*` and `?` wildcards); for no pattern, one that matches nothing."""
    return re.compile("|".join(fnmatch.translate(pattern.strip().lower()) for pattern in patterns) or "(?!)")


def _grants_action(statements: Sequence[Statement], namespace: str) -> Callable[[str], bool]:
    """Whether the Allow statements grant the action (`Action` or `service:Action`) of `namespace`."""
    allows = [statement for statement in statements if statement.effect == "Allow"]
    listed = _any_of(tuple(
        pattern
        for statement in allows if not statement.not_actions
        for pattern in statement.actions
        if fnmatch.fnmatchcase(namespace, pattern.strip().lower().partition(":")[0])
    ))
    excepting = [_any_of(statement.not_actions) for statement in allows if statement.not_actions]

    def grants(action: str) -> bool:
        name = f"{namespace}:{action.rpartition(':')[2]}".lower()
        return bool(listed.match(name)) or any(not excepted.match(name) for excepted in excepting)

    return grants


def _service_result(
    service: ServiceAccess,
    cutoff: datetime,
    granted: dict[str, list[Location]] | None,
    complete: bool,
    unknown_grants: tuple[Location, ...],
    statements: Sequence[Statement] | None,
    granularity: str,
) -> ServiceResult:
    """`statements` are the code's, when all are known (None otherwise)."""
    state = _state(service.last_accessed, cutoff)
    granted_by: tuple[Location, ...] = ()
    if granted is not None:
        if service.namespace in granted:
            granted_by = tuple(granted[service.namespace])
        elif complete:
            state = "not-granted"
        else:
            granted_by = unknown_grants
    actions = None
    if service.actions is not None:
        grants = _grants_action(statements, service.namespace) if statements is not None else None
        actions = tuple(
            ActionResult(
                name=action.name,
                state=_state(action.last_accessed, cutoff)
                if state != "not-granted" and (grants is None or grants(action.name)) else "not-granted",
                last_accessed=action.last_accessed,
                region=action.region,
            )
            for action in service.actions
        )
    unused_actions = None
    if granularity == "action" and actions is not None and state != "not-granted":
        unused_actions = tuple(sorted(
            (f"{service.namespace}:{a.name.rpartition(':')[2]}" for a in actions if a.state == "unused"),
            key=str.lower,
        ))
    return ServiceResult(
        namespace=service.namespace,
        name=service.name,
        state=state,
        last_accessed=service.last_accessed,
        region=service.region,
        granted_by=granted_by,
        actions=actions,
        unused_actions=unused_actions,
    )


def _unreported(granted: Mapping[str, list[Location]], report: AccessReport) -> tuple[ServiceResult, ...]:
    """The services the code grants that the report does not list."""
    listed = {service.namespace for service in report.services}
    known = catalog.service_namespaces()
    return tuple(
        ServiceResult(
            namespace=namespace,
            name=catalog.service_name(namespace),
            state="not-in-report" if namespace in known else "unknown-service",
            granted_by=tuple(granted[namespace]),
        )
        for namespace in sorted(set(granted) - listed)
    )


def static_findings(principal: Principal, granted: tuple[str, ...] | None, max_services: int) -> tuple[
    StaticFinding, ...
]:
    """Broad grants visible in the code alone: useful with no usage data at all. Each
    statement is checked by every statement rule in turn, then the principal's grants."""
    findings = [
        StaticFinding(rule.name, message, statement.location)
        for grant in principal.grants or ()
        for statement in grant.statements
        for rule in rules.static()
        if isinstance(rule.decided_by, StatementCheck)
        for message in rule.decided_by.check(statement)
    ]
    findings += [
        StaticFinding(rule.name, message, principal.location)
        for rule in rules.static()
        if isinstance(rule.decided_by, PrincipalCheck)
        for message in rule.decided_by.check(granted, max_services)
    ]
    return tuple(dict.fromkeys(findings))


def grant_changes(principal: Principal) -> tuple[tuple[str, ...] | None, tuple[str, ...], tuple[str, ...]]:
    """What the code grants, and what a pending change adds and removes."""
    if principal.grants is None:
        return None, (), ()
    after = set(granted_services(principal.grants)[0])
    if principal.change == "create":
        return tuple(sorted(after)), tuple(sorted(after)), ()
    if principal.grants_before is None:
        return tuple(sorted(after)), (), ()
    before = set(granted_services(principal.grants_before)[0])
    return tuple(sorted(after)), tuple(sorted(after - before)), tuple(sorted(before - after))


def unknown_grants(grants: Sequence[Grant]) -> tuple[tuple[Location, str], ...]:
    """Each grant whose document is not known, with why, once per place and reason."""
    found = (
        (grant.location, grant.unknown or (
            f"{grant.policy_arn} was not read" if grant.policy_arn else "the policy document is not known"
        ))
        for grant in grants
        if not grant.known
    )
    return tuple(dict.fromkeys(found))


def analyze_principal(
    principal: Principal,
    outcome: AccessReport | ReportFailure | None,
    now: datetime,
    stale_days: int,
    max_services: int = DEFAULT_MAX_SERVICES,
    granularity: str = "service",
) -> PrincipalResult:
    result = _code_only(principal, max_services)
    if principal.unresolved:
        return _unresolved(result)
    if principal.deployed is False or principal.arn is None:
        return replace(result, status="not-deployed")
    if outcome is None:
        return replace(result, status="no-data", error="no report for this ARN in the access data")
    if isinstance(outcome, ReportFailure):
        if outcome.not_found:
            return replace(result, status="not-deployed")
        return replace(result, status="error", error=outcome.message)
    return _judged(result, outcome, now, stale_days, granularity)


def _code_only(principal: Principal, max_services: int) -> PrincipalResult:
    """What the code alone says of the principal: what it grants, and its static findings."""
    granted, added, removed = grant_changes(principal)
    return PrincipalResult(
        principal, "analyzed", granted=granted, added=added, removed=removed,
        static=static_findings(principal, granted, max_services),
        unknown=unknown_grants(principal.grants or ()),
    )


def _unresolved(result: PrincipalResult) -> PrincipalResult:
    principal = result.principal
    if principal.invalid_name:
        return replace(result, status="invalid-name", error=principal.unresolved)
    return replace(result, status="unresolved", error=principal.unresolved)


def _judged(
    result: PrincipalResult, report: AccessReport, now: datetime, stale_days: int, granularity: str
) -> PrincipalResult:
    """Each service of the report judged against the principal's grants."""
    principal = result.principal
    cutoff = now - timedelta(days=stale_days)
    granted_at: dict[str, list[Location]] | None = None
    complete = False
    unknown: tuple[Location, ...] = ()
    statements: tuple[Statement, ...] | None = None
    if principal.grants is not None:
        granted_at, complete = granted_services(principal.grants)
        unknown = tuple(grant.location for grant in principal.grants if not grant.known)
        if complete:
            statements = tuple(s for grant in principal.grants for s in grant.statements)
    services = tuple(
        _suppress(_service_result(service, cutoff, granted_at, complete, unknown, statements, granularity),
                  principal)
        for service in sorted(report.services, key=lambda s: s.namespace)
    )
    unreported = _unreported(granted_at, report) if granted_at is not None else ()
    return replace(result, services=services, unreported=unreported)


def analyze_permission_set(
    principal: Principal,
    outcomes: Mapping[str, AccessReport | ReportFailure],
    now: datetime,
    stale_days: int,
    max_services: int = DEFAULT_MAX_SERVICES,
    granularity: str = "service",
) -> PrincipalResult:
    """A permission set, judged by its roles' reports together: a service is unused only
    if no account's role used it, stale by its most recent use in any account, used
    otherwise; each unused or stale service names the accounts it is so in. Its roles come
    back with why each that has no report has none."""
    roles = tuple(_role_outcome(role, outcomes.get(role.arn) if role.arn else None)
                  for role in principal.roles)
    result = _code_only(replace(principal, roles=roles), max_services)
    if principal.unresolved:
        return _unresolved(result)
    reports = {role.account: report for role in roles
               if role.arn and isinstance(report := outcomes.get(role.arn), AccessReport)}
    if reports:
        judged = _judged(result, _merged(principal.arn or principal.address, reports.values()), now,
                         stale_days, granularity)
        return replace(judged, services=tuple(_in_accounts(service, reports) for service in judged.services))
    if principal.deployed is False or all(role.not_deployed for role in roles):
        return replace(result, status="not-deployed")
    unread = [role for role in roles if not role.not_deployed]
    failed = any(role.arn and isinstance(outcomes.get(role.arn), ReportFailure) for role in unread)
    why = "; ".join(f"account {role.account}: {role.why}" for role in unread if role.why)
    return replace(result, status="error" if failed else "no-data", error=why)


def _role_outcome(role: AccountRole, outcome: AccessReport | ReportFailure | None) -> AccountRole:
    """The role with why it has no report, if it has none."""
    if isinstance(outcome, AccessReport) or role.arn is None:
        return role
    if outcome is None:
        return replace(role, why=role.why or "no report for its role in the access data")
    return replace(role, why=outcome.message, not_deployed=outcome.not_found)


def _merged(arn: str, reports: Iterable[AccessReport]) -> AccessReport:
    """One report of several: each service (and tracked action) with its most recent use in any."""
    by_namespace: dict[str, list[ServiceAccess]] = {}
    for report in reports:
        for service in report.services:
            by_namespace.setdefault(service.namespace, []).append(service)
    return AccessReport(arn, tuple(_latest(services) for _, services in sorted(by_namespace.items())))


def _latest(services: Sequence[ServiceAccess]) -> ServiceAccess:
    latest = max(services, key=lambda service: service.last_accessed or _NEVER)
    tracked = [service.actions for service in services if service.actions is not None]
    if not tracked:
        return latest
    by_name: dict[str, ActionAccess] = {}
    for action in (action for actions in tracked for action in actions):
        known = by_name.get(action.name)
        if known is None or (action.last_accessed or _NEVER) > (known.last_accessed or _NEVER):
            by_name[action.name] = action
    return replace(latest, actions=tuple(by_name[name] for name in sorted(by_name)))


def _in_accounts(service: ServiceResult, reports: Mapping[str, AccessReport]) -> ServiceResult:
    """An unused or stale service with the accounts it is so in: those whose role's report
    lists it (none used it recently, or it would be used)."""
    if service.state not in ("unused", "stale"):
        return service
    accounts = tuple(account for account, report in reports.items()
                     if any(listed.namespace == service.namespace for listed in report.services))
    return replace(service, accounts=accounts)


def _suppress(service: ServiceResult, principal: Principal) -> ServiceResult:
    """An unused or stale service the user accepted stays in the report, marked."""
    if service.state not in ("unused", "stale"):
        return service
    match = next((s for s in principal.suppressions if s.covers(service.namespace)), None)
    return replace(service, suppressed=match) if match else service


def analyze(
    principals: Sequence[Principal],
    outcomes: Mapping[str, AccessReport | ReportFailure],
    now: datetime,
    stale_days: int,
    max_services: int = DEFAULT_MAX_SERVICES,
    granularity: str = "service",
) -> tuple[PrincipalResult, ...]:
    return tuple(
        analyze_permission_set(p, outcomes, now, stale_days, max_services, granularity)
        if p.kind == "permission-set" else
        analyze_principal(
            p, outcomes.get(p.arn) if p.arn else None, now, stale_days, max_services, granularity
        )
        for p in principals
    )


def granularity_notes(results: Sequence[PrincipalResult], granularity: str) -> tuple[str, ...]:
    """With `--granularity action`, where the reports could not tell which actions of a
    used service were never used, said once for the run: reports with no action-level
    data at all (made at service level, as an access-data file may be), and services
    IAM does not track at action level."""
    if granularity != "action":
        return ()
    service_level = 0
    untracked: set[str] = set()
    for result in results:
        used = [s for s in result.services if s.state == "used"]
        if not any(s.actions is not None for s in result.services):
            service_level += bool(used)
        else:
            untracked.update(s.namespace for s in used if s.actions is None)
    notes = []
    if service_level:
        many = service_level != 1
        notes.append(
            f"--granularity action: the report{'s' if many else ''} of {service_level} "
            f"principal{'s have' if many else ' has'} no action-level data (TrackedActionsLastAccessed), "
            f"so {'their' if many else 'its'} services are judged at service level only: made at service "
            "level, as an access-data file can be (fetch --granularity action saves action-level reports), "
            "or no service used is tracked at action level"
        )
    if untracked:
        notes.append(
            f"--granularity action: IAM does not track {', '.join(sorted(untracked))} at action level: "
            f"{'their' if len(untracked) != 1 else 'its'} actions are not judged"
        )
    return tuple(notes)


FAIL_LEVELS: dict[str, frozenset[str]] = {
    "never": frozenset(),
    "static": frozenset({"static", "stale", "unused"}),
    "stale": frozenset({"stale", "unused"}),
    "unused": frozenset({"unused"}),
}
"""What each `--fail-on` level fails on: `static` is the broadest (any finding)."""


def has_findings(run: RunResult, fail_on: str) -> bool:
    """Whether `run` has a finding, not suppressed, at or above the `fail_on` level."""
    levels = FAIL_LEVELS[fail_on]
    if "static" in levels and any(p.static for p in run.principals):
        return True
    return any(s.state in levels for p in run.principals for s in p.findings())
