"""The terminal report: one block per principal, unused and stale services first."""

from __future__ import annotations

from datetime import datetime

from iam_lastused.model import Location, PrincipalResult, RunResult, ServiceResult
from iam_lastused.render.common import boundary_text, days_ago, in_accounts, role_text
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.findings import tracked_count, unreported_reason, unreported_to_say
from iam_lastused.render.suggestions import render_suggestions
from iam_lastused.suggest.verdicts import Suggestions

_STATUS_LINES = {"not-deployed": "not deployed yet: no usage history"}


def _where(location: Location | None) -> str:
    """`file:line`, or nothing: a plan's values have no line to point at."""
    if location is None or not location.line:
        return ""
    return terminal_safe(f"{location.file}:{location.line}")


def _names(namespaces: tuple[str, ...]) -> str:
    return terminal_safe(", ".join(namespaces))


def _service_line(service: ServiceResult, now: datetime, label: str = "", detail: str = "") -> str:
    label = label or service.state
    head = f"  {label:<7} {terminal_safe(service.namespace):<22} {terminal_safe(service.name)}"
    details = [detail] if detail else []
    if service.accounts:
        details.append(_names((in_accounts(service.accounts),)))
    if service.state == "stale":
        details.append(f"last used {days_ago(service.last_accessed, now)}")
    places = [where for location in service.granted_by if (where := _where(location))]
    if places:
        details.append("granted at " + ", ".join(places))
    return head + (f"  ({'; '.join(details)})" if details else "")


def _partly_used_line(service: ServiceResult, now: datetime) -> str:
    unused = service.unused_actions or ()
    detail = f"{len(unused)} of {tracked_count(service)} tracked actions never used: {_names(unused)}"
    return _service_line(service, now, "partly", detail)


def _unreported_lines(result: PrincipalResult, now: datetime) -> list[str]:
    return [
        _service_line(s, now, "unknown" if s.state == "unknown-service" else "no data",
                      unreported_reason(s))
        for s in unreported_to_say(result)
    ]


def _suppressed_line(service: ServiceResult) -> str:
    suppression = service.suppressed
    reason = terminal_safe(suppression.reason) if suppression else ""
    where = (_where(suppression.location) if suppression else "") or "config"
    return f"  suppressed {service.state} {terminal_safe(service.namespace)}: {reason} ({where})"


def _principal_block(result: PrincipalResult, now: datetime) -> list[str]:
    principal = result.principal
    heading = f"{principal.kind} {terminal_safe(principal.address)}"
    if principal.arn and principal.arn != principal.address:
        heading += f"  [{terminal_safe(principal.arn)}]"
    where = _where(principal.location)
    change = f"  ({terminal_safe(principal.change)})" if principal.change else ""
    lines = [heading + (f"  {where}" if where else "") + change]
    lines.extend(f"  {terminal_safe(role_text(role, now))}" for role in principal.roles)
    if principal.boundary is not None:
        where = _where(principal.boundary.location)
        lines.append(f"  permissions boundary: {terminal_safe(boundary_text(principal.boundary))}"
                     + (f" ({where})" if where else ""))
    if result.added:
        lines.append(f"  this change grants {_names(result.added)}: no usage history yet")
    if result.removed:
        lines.append(f"  this change removes {_names(result.removed)}")
    for finding in result.static:
        where = _where(finding.location)
        lines.append(f"  broad   {terminal_safe(finding.message)}" + (f"  ({where})" if where else ""))
    for location, why in result.unknown:
        where = _where(location)
        lines.append(f"  grants partly unknown: {terminal_safe(why)}" + (f" ({where})" if where else ""))
    if result.status != "analyzed":
        reason = terminal_safe(result.error) if result.error else ""
        lines.append("  " + (_STATUS_LINES.get(result.status) or f"{result.status}: {reason}"))
        if result.granted and not result.added:
            lines.append(f"  the code grants {_names(result.granted)}")
        return lines
    reported = [s for s in result.services if s.state != "not-granted"]
    granted = len(reported) + len(result.unreported)
    used, unused, stale = (sum(s.state == state for s in reported) for state in ("used", "unused", "stale"))
    suppressed = result.suppressed()
    lines.append(
        f"  {granted} service{'s' if granted != 1 else ''} granted: "
        f"{used} used, {unused} never used, {stale} stale"
        + (f", {len(result.unreported)} not in IAM's report" if result.unreported else "")
        + (f" ({len(suppressed)} suppressed)" if suppressed else "")
    )
    lines.extend(_service_line(s, now) for s in result.findings())
    lines.extend(_partly_used_line(s, now) for s in result.partly_used())
    lines.extend(_unreported_lines(result, now))
    lines.extend(_suppressed_line(s) for s in suppressed)
    removed = len(result.services) - len(reported)
    if removed:
        lines.append(f"  ({removed} service{'s' if removed != 1 else ''} no longer granted by the code)")
    return lines


def render_text(run: RunResult, suggestions: Suggestions | None = None) -> str:
    """The terminal report; with `suggestions`, followed by them."""
    lines: list[str] = []
    for result in run.principals:
        lines.extend(_principal_block(result, run.now))
        lines.append("")
    analyzed = [p for p in run.principals if p.status == "analyzed"]
    unused = sum(len(p.namespaces_in("unused")) for p in analyzed)
    stale = sum(len(p.namespaces_in("stale")) for p in analyzed)
    suppressed = sum(len(p.suppressed()) for p in analyzed)
    broad = sum(len(p.static) for p in run.principals)
    partly = sum(len(p.partly_used()) for p in analyzed)
    if run.principals:  # with nothing to judge, where the data came from is no news
        lines.append(f"usage data: {terminal_safe(run.usage_source.describe())}")
    usage = (
        f"{len(analyzed)} analysed: {unused} never-used and {stale} stale service grants "
        f"(stale: not used in {run.stale_days} days)" + (f", {suppressed} suppressed" if suppressed else "")
        + (f"; {partly} used service{'s' if partly != 1 else ''} with never-used actions" if partly else "")
    ) if analyzed else "none analysed"  # no counts of what was not looked at
    lines.append(
        f"{len(run.principals)} principal{'s' if len(run.principals) != 1 else ''}, {usage}"
        + (f"; {broad} broad grant{'s' if broad != 1 else ''} in the code" if broad else "")
        if run.principals else "no IAM principal found"
    )
    for note in run.notes:
        lines.append(f"note: {terminal_safe(note)}")
    for error in run.errors:
        lines.append(f"error: {terminal_safe(format_error(error.message, error.file, error.line))}")
    report = "\n".join(lines) + "\n"
    return report + "\n" + render_suggestions(suggestions) if suggestions is not None else report


def format_error(message: str, file: str | None, line: int | None) -> str:
    if not file:
        return message
    return f"{file}:{line}: {message}" if line else f"{file}: {message}"
