"""One line per finding, as linters print them (`path:line: [rule] message`), then one
summary line: the pre-commit hooks' format, which editors and terminals link to the
file. Principals with no usage data say nothing; input that was skipped says so; each
permission set's roles are one line (`[permission-set-roles]`), not counted as a finding."""

from __future__ import annotations

from iam_lastused.model import NOT_ANALYSABLE, InputError, Location, PrincipalResult, RunResult
from iam_lastused.render.common import roles_text
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.findings import Finding, findings, said_once
from iam_lastused.suggest.verdicts import Suggestions


def _place(location: Location | None) -> str:
    if location is None:
        return ""
    return f"{location.file}:{location.line}: " if location.line else f"{location.file}: "


def _line(finding: Finding) -> str:
    where = finding.locations[0] if finding.locations else None
    also = finding.locations[1:]
    more = f" (also granted at {', '.join(_place(loc).rstrip(': ') for loc in also)})" if also else ""
    return terminal_safe(f"{_place(where)}[{finding.rule.name}] {finding.message}{more}")


def _roles(result: PrincipalResult, run: RunResult) -> str:
    principal = result.principal
    return terminal_safe(
        f"{_place(principal.location)}[permission-set-roles] {principal.kind} {principal.address}: "
        f"{roles_text(principal, run.now)}"
    )


def _error(error: InputError) -> str:
    where = Location(error.file, error.line) if error.file else None
    return terminal_safe(f"{_place(where)}[input-error] {error.message}")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render_lint(run: RunResult, suggestions: Suggestions | None = None) -> str:
    shown = said_once(run, [finding for finding in findings(run) if not finding.suppressed])
    lines = [_line(finding) for finding in shown]
    lines += [_roles(result, run) for result in run.principals if result.principal.roles]
    lines += [_error(error) for error in run.errors]
    counted = [finding for finding in shown if not finding.rule.no_data]  # no data is no finding
    principals = {finding.result.principal.address for finding in counted}
    suppressed = sum(1 for finding in findings(run) if finding.suppressed)
    unanalysed = sum(1 for result in run.principals if result.status in NOT_ANALYSABLE)
    summary = (
        f"iam-lastused: {_plural(len(counted), 'finding')} in {_plural(len(principals), 'principal')}"
        f" of {len(run.principals)}"
        + (f", {suppressed} suppressed" if suppressed else "")
        + (f", {unanalysed} not analysed" if unanalysed else "")
        + (f", {_plural(len(run.errors), 'file')} not read" if run.errors else "")
    )
    return "".join(line + "\n" for line in [*lines, summary])
