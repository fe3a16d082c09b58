"""IAM Access Analyzer's unused-access findings, as the reports the analysis reads.

A finding lists what was *not* used within the analyzer's window (`unusedAccessAge`):
an unused service with no `lastAccessed` was never used, one with an old `lastAccessed`
was last used then; an unused role, every service it is granted. A service the code
grants that no finding lists was used within the window: it is reported as used now,
so stale (`--stale-days`) is judged only beyond the window. The absence of a finding is
not proof of use where the analyzer would not have judged the principal: one created
within the window, one its rules exclude (account or tags), one outside its zone of
trust, or a group or managed policy (it judges roles and users): those are no-data,
each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from iam_lastused import catalog
from iam_lastused.analysis.analyze import granted_services
from iam_lastused.aws import access_analyzer
from iam_lastused.aws.access_analyzer import Analyzer, Findings, UnusedService
from iam_lastused.model import AccessReport, ActionAccess, Principal, ServiceAccess

TagsOf = Callable[[Principal], "dict[str, str] | None"]


@dataclass
class AnalyzerUsage:
    outcomes: dict[str, AccessReport] = field(default_factory=dict)
    no_data: dict[str, str] = field(default_factory=dict)
    """Why a principal has no data, by ARN."""


def source_note(analyzer: Analyzer, stale_days: int) -> str:
    note = (f"usage from IAM Access Analyzer {analyzer.arn} (unused after {analyzer.window_days} days): "
            "a service it does not report unused was used within that window")
    if stale_days < analyzer.window_days:
        note += f"; stale (--stale-days {stale_days}) is judged only beyond {analyzer.window_days} days"
    return note


def usage(
    principals: Sequence[Principal],
    analyzer: Analyzer,
    findings: Findings,
    tags_of: TagsOf,
    now: datetime,
    granularity: str = "service",
) -> AnalyzerUsage:
    found = AnalyzerUsage()
    for principal in principals:
        arn = principal.arn
        if arn is None or principal.unresolved or principal.deployed is False:
            continue
        if arn in findings.unused_roles and principal.grants is None:
            last = findings.unused_roles[arn]
            when = f"last used {last.date()}" if last else "never used"
            found.no_data[arn] = (f"IAM Access Analyzer reports the whole role unused ({when}) but lists no "
                                  "services: scan its code to see which grants that is")
            continue
        if arn in findings.services or arn in findings.unused_roles:
            found.outcomes[arn] = _report(principal, arn, findings, now, granularity)
            continue
        why = _not_judged(principal, arn, analyzer, tags_of, now)
        if why:
            found.no_data[arn] = why
        else:
            found.outcomes[arn] = _report(principal, arn, findings, now, granularity)
    return found


def _not_judged(principal: Principal, arn: str, analyzer: Analyzer, tags_of: TagsOf, now: datetime) -> str:
    """Why the analyzer would have no finding on the principal whatever its use ("" if none)."""
    account = arn.split(":")[4]
    if principal.kind not in ("role", "user"):
        return f"IAM Access Analyzer judges roles and users only, not a {principal.kind}"
    if account in analyzer.excluded_accounts:
        return f"account {account} is excluded by the analyzer's rules"
    if not analyzer.organization and account != analyzer.account:
        return f"outside the analyzer's zone of trust (account {analyzer.account} only)"
    window = timedelta(days=analyzer.window_days)
    if principal.created is not None and now - principal.created < window:
        age = (now - principal.created).days
        return (f"created {age} days ago, within the analyzer's {analyzer.window_days}-day window: "
                "no finding is not proof of use")
    if analyzer.excluded_tags:
        tags = tags_of(principal)
        if tags is None:
            return "the analyzer excludes principals by tag, and this one's tags cannot be read"
        if any(all(tags.get(key) == value for key, value in rule.items()) for rule in analyzer.excluded_tags):
            return "its tags are excluded by the analyzer's rules"
    return ""


def _report(
    principal: Principal, arn: str, findings: Findings, now: datetime, granularity: str
) -> AccessReport:
    granted = set(granted_services(principal.grants)[0]) if principal.grants is not None else set()
    services: dict[str, ServiceAccess] = {}
    if arn in findings.unused_roles:
        last = findings.unused_roles[arn]
        services = {ns: ServiceAccess(ns, catalog.service_name(ns), last) for ns in granted}
    for unused in findings.services.get(arn, ()):
        services[unused.namespace] = _service(unused, granularity)
    for namespace in granted - set(services):  # granted, and no finding: used within the window
        services[namespace] = ServiceAccess(namespace, catalog.service_name(namespace), now)
    return AccessReport(arn, tuple(services[ns] for ns in sorted(services)), now)


def _service(unused: UnusedService, granularity: str) -> ServiceAccess:
    actions: Any = None
    if granularity == "action" and unused.actions:
        actions = tuple(ActionAccess(name, last) for name, last in unused.actions)
    return ServiceAccess(
        unused.namespace, catalog.service_name(unused.namespace), unused.last_accessed, actions=actions
    )


def from_analyzer(
    session: Any,
    iam: Any,
    analyzer_arn: str,
    principals: Sequence[Principal],
    now: datetime,
    granularity: str = "service",
) -> tuple[Analyzer, AnalyzerUsage]:
    """The analyzer and what its findings say of `principals` (AnalyzerError when it
    cannot be read)."""
    client = access_analyzer.analyzer_client(session, analyzer_arn)
    analyzer = access_analyzer.read_analyzer(client, analyzer_arn)
    arns = [p.arn for p in principals if p.arn and not p.unresolved and p.deployed is not False]
    findings = access_analyzer.read_findings(client, analyzer, arns)

    def tags_of(principal: Principal) -> dict[str, str] | None:
        return access_analyzer.principal_tags(iam, principal.kind, principal.name or "")

    return analyzer, usage(principals, analyzer, findings, tags_of, now, granularity)
