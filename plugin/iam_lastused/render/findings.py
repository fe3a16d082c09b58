"""The run as a list of findings, one rule each, for the formats that list findings
(SARIF, the linter lines of the pre-commit hooks, JUnit, GitLab Code Quality): one
per unused or stale service of each principal, located at the statements that grant
it; with `--granularity action`, one per used service with never-used actions; one per
service the code grants that IAM's report does not list; one per principal that could
not be analysed; one per broad grant seen in the code alone. Each has a key that stays
the same when lines move, for fingerprints. `--fail-on` counts none but the unused and
stale services and the broad grants (analysis.analyze.has_findings). The rules are
analysis.rules'."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from iam_lastused.analysis import rules
from iam_lastused.analysis.rule import Rule
from iam_lastused.analysis.rules import UNRESOLVED, UNUSED_ACTIONS
from iam_lastused.model import (
    NOT_ANALYSABLE,
    Location,
    PrincipalResult,
    RunResult,
    ServiceResult,
    Suppression,
)
from iam_lastused.render.common import days_ago, in_accounts


@dataclass(frozen=True)
class Finding:
    rule: Rule
    message: str
    result: PrincipalResult
    locations: tuple[Location, ...]
    service: str = ""
    key: str = ""
    suppressed: Suppression | None = None
    actions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    """For a permission set, the assigned accounts where the finding holds."""

    @property
    def fingerprint(self) -> str:
        """Stable across runs: depends on neither line numbers nor wording."""
        key = f"{self.rule.id}\0{self.result.principal.address}\0{self.service or self.key}"
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def findings(run: RunResult) -> list[Finding]:
    return [finding for result in run.principals for finding in _principal_findings(result, run)]


def _principal_findings(result: PrincipalResult, run: RunResult) -> list[Finding]:
    static = _static(result)
    if result.status in NOT_ANALYSABLE:
        return [_unresolved(result), *static]
    if result.status != "analyzed":
        return static
    services = [
        _service(result, service, run.stale_days, run.now)
        for service in result.services
        if service.state in ("unused", "stale")
    ]
    partly = [_partly_used(result, service) for service in result.partly_used()]
    unreported = [_unreported(result, service) for service in result.unreported]
    return services + partly + unreported + static


def _who(result: PrincipalResult) -> str:
    return f"{result.principal.kind} {result.principal.address}"


def _own(result: PrincipalResult) -> tuple[Location, ...]:
    return (result.principal.location,) if result.principal.location else ()


def _where_held(service: ServiceResult) -> str:
    """`, in accounts A, B` for a permission set's finding; "" for other principals'."""
    held = in_accounts(service.accounts)
    return f", {held}" if held else ""


def _service(result: PrincipalResult, service: ServiceResult, stale_days: int, now: datetime) -> Finding:
    what = f"{service.namespace} ({service.name})"
    rule = rules.by_state(service.state)
    if service.state == "unused":
        text = (
            f"{_who(result)} is granted {what} but has not used it in IAM's tracking period"
            f"{_where_held(service)}."
        )
    else:
        when = service.last_accessed.date().isoformat() if service.last_accessed else "unknown"
        text = (
            f"{_who(result)} is granted {what} but last used it {days_ago(service.last_accessed, now)} "
            f"({when}); stale after {stale_days} days{_where_held(service)}."
        )
    where = service.granted_by or _own(result)
    return Finding(rule, text, result, where, service=service.namespace, suppressed=service.suppressed,
                   accounts=service.accounts)


def tracked_count(service: ServiceResult) -> int:
    """How many of the service's tracked actions the code grants."""
    return sum(1 for action in service.actions or () if action.state != "not-granted")


def unused_actions_message(result: PrincipalResult, service: ServiceResult) -> str:
    unused = service.unused_actions or ()
    return (
        f"{_who(result)} uses {service.namespace} ({service.name}) but has not used "
        f"{len(unused)} of its {tracked_count(service)} tracked actions in IAM's tracking period"
        f"{_where_held(service)}: {', '.join(unused)}."
    )


def _partly_used(result: PrincipalResult, service: ServiceResult) -> Finding:
    text = unused_actions_message(result, service)
    where = service.granted_by or _own(result)
    return Finding(UNUSED_ACTIONS, text, result, where, service=service.namespace,
                   actions=service.unused_actions or (), accounts=service.accounts)


def unreported_reason(service: ServiceResult) -> str:
    if service.state == "unknown-service":
        return "not a known IAM service: check the prefix"
    return "not yet in IAM's report"


def unreported_to_say(result: PrincipalResult) -> list[ServiceResult]:
    """The services the report does not list, as the text, Markdown and plan notes show them:
    not those the pending change adds, which they show as added already."""
    return [s for s in result.unreported if s.state == "unknown-service" or s.namespace not in result.added]


def unreported_message(result: PrincipalResult, service: ServiceResult) -> str:
    what = f"{service.namespace} ({service.name})"
    if service.state == "unknown-service":
        return f"{_who(result)} is granted {service.namespace}, not a known IAM service: check the prefix."
    if service.namespace in result.added:
        return f"{_who(result)} is granted {what} by this change; IAM's report does not list it yet."
    return f"{_who(result)} is granted {what} by the code, but IAM's report does not list it yet."


def _unreported(result: PrincipalResult, service: ServiceResult) -> Finding:
    rule = rules.by_state(service.state)
    where = service.granted_by or _own(result)
    return Finding(rule, unreported_message(result, service), result, where, service=service.namespace)


def _unresolved(result: PrincipalResult) -> Finding:
    reason = result.error or "unknown reason"
    if result.status in ("unresolved", "invalid-name"):
        text = f"{_who(result)} cannot be analysed: {reason}."
    else:
        text = f"No last-accessed report for {_who(result)}: {reason}."
    return Finding(UNRESOLVED, text, result, _own(result))


def said_once(run: RunResult, found: list[Finding]) -> list[Finding]:
    """`found` with the findings of principals that cannot be analysed made one, when
    every principal of the run cannot be for one and the same reason (no credentials,
    say: nothing about any of them), for the formats that print one line per finding."""
    reasons = {result.error for result in run.principals if result.status in NOT_ANALYSABLE}
    unresolved = [finding for finding in found if finding.rule is UNRESOLVED]
    if len(unresolved) < 2 or len(unresolved) != len(run.principals) or len(reasons) != 1:
        return found
    reason = unresolved[0].result.error or "unknown reason"
    text = f"{len(unresolved)} principals cannot be analysed: {reason}."
    merged = Finding(UNRESOLVED, text, unresolved[0].result, (), key="every principal")
    return [merged, *(finding for finding in found if finding.rule is not UNRESOLVED)]


def _static(result: PrincipalResult) -> list[Finding]:
    return [
        Finding(
            rules.by_name(finding.rule),
            f"{_who(result)}: {finding.message}.",
            result,
            (finding.location,) if finding.location else (),
            key=finding.message,
        )
        for finding in result.static
    ]
