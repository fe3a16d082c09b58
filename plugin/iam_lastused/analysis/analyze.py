"""Joining principals with their reports: pure functions, no I/O.

A service in a report is `used` if last accessed within `stale_days`, `stale`
if accessed longer ago, `unused` if never accessed in the tracking period, and
`not-granted` if the code no longer grants it (the code is what will be
deployed, so a grant it already removes is not a finding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from iam_lastused import catalog
from iam_lastused.model import (
    AccessReport,
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


def _service_result(
    service: ServiceAccess,
    cutoff: datetime,
    granted: dict[str, list[Location]] | None,
    complete: bool,
    unknown_grants: tuple[Location, ...],
) -> ServiceResult:
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
        actions = tuple(
            ActionResult(
                name=action.name,
                state="not-granted" if state == "not-granted" else _state(action.last_accessed, cutoff),
                last_accessed=action.last_accessed,
                region=action.region,
            )
            for action in service.actions
        )
    return ServiceResult(
        namespace=service.namespace,
        name=service.name,
        state=state,
        last_accessed=service.last_accessed,
        region=service.region,
        granted_by=granted_by,
        actions=actions,
    )


def _statement_findings(statement: Statement) -> list[StaticFinding]:
    if statement.effect != "Allow" or statement.resources is None or "*" not in statement.resources:
        return []
    if statement.not_actions:
        excluded = ", ".join(statement.not_actions)
        message = f"grants every action except {excluded} on every resource (NotAction with Resource \"*\")"
        return [StaticFinding("wildcard-action", message, statement.location)]
    if any(action.strip() == "*" for action in statement.actions):
        message = 'grants every action on every resource (Action "*" with Resource "*")'
        return [StaticFinding("wildcard-action", message, statement.location)]
    services = sorted({a.split(":")[0].lower() for a in statement.actions if a.partition(":")[2] == "*"})
    return [
        StaticFinding("service-wildcard", f'grants every {service} action on every resource ("{service}:*")',
                      statement.location)
        for service in services
    ]


def static_findings(principal: Principal, granted: tuple[str, ...] | None, max_services: int) -> tuple[
    StaticFinding, ...
]:
    """Broad grants visible in the code alone: useful with no usage data at all."""
    findings = [
        finding
        for grant in principal.grants or ()
        for statement in grant.statements
        for finding in _statement_findings(statement)
    ]
    if granted is not None and len(granted) > max_services:
        message = f"grants {len(granted)} services (more than {max_services})"
        findings.append(StaticFinding("many-services", message, principal.location))
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
) -> PrincipalResult:
    granted, added, removed = grant_changes(principal)
    result = PrincipalResult(
        principal, "analyzed", granted=granted, added=added, removed=removed,
        static=static_findings(principal, granted, max_services),
        unknown=unknown_grants(principal.grants or ()),
    )
    if principal.unresolved:
        return replace(result, status="unresolved", error=principal.unresolved)
    if principal.deployed is False or principal.arn is None:
        return replace(result, status="not-deployed")
    if outcome is None:
        return replace(result, status="no-data", error="no report for this ARN in the access data")
    if isinstance(outcome, ReportFailure):
        if outcome.not_found:
            return replace(result, status="not-deployed")
        return replace(result, status="error", error=outcome.message)

    cutoff = now - timedelta(days=stale_days)
    granted_at: dict[str, list[Location]] | None = None
    complete = False
    unknown: tuple[Location, ...] = ()
    if principal.grants is not None:
        granted_at, complete = granted_services(principal.grants)
        unknown = tuple(grant.location for grant in principal.grants if not grant.known)
    services = tuple(
        _suppress(_service_result(service, cutoff, granted_at, complete, unknown), principal)
        for service in sorted(outcome.services, key=lambda s: s.namespace)
    )
    return replace(result, services=services)


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
) -> tuple[PrincipalResult, ...]:
    return tuple(
        analyze_principal(p, outcomes.get(p.arn) if p.arn else None, now, stale_days, max_services)
        for p in principals
    )


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
