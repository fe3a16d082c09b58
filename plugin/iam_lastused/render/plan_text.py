"""Notes in Terraform's human plan text: `#   iam-lastused: ...` comment lines
under the header of each IAM resource the plan changes, the rest left as it was, and
after the text a section for the principals with findings that the text does not
show (a resource the plan leaves alone has no header)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from iam_lastused.model import NOT_ANALYSABLE, PrincipalResult, RunResult, ServiceResult
from iam_lastused.render.common import in_accounts, role_text
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.findings import unreported_reason, unreported_to_say
from iam_lastused.render.suggestions import render_suggestions
from iam_lastused.suggest.verdicts import Suggestions

_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_HEADER = re.compile(
    r'(?P<indent>\s*)# (?P<address>(?:[^\s"]|"(?:[^"\\]|\\.)*")+) '
    r"(?:will be|must be) (?:created|updated in-place|replaced|destroyed|read during apply)"
)
_PREFIX = "iam-lastused: "


def annotate_plan(text: str, notes: Mapping[str, list[str]]) -> str:
    """`text` with `notes[address]` inserted after the header line of `address`,
    at the header's indentation; every other byte as it was."""
    lines = text.split("\n")
    annotated: list[str] = []
    for line in lines:
        annotated.append(line)
        header = _HEADER.match(_COLOUR.sub("", line))
        if header and header.group("address") in notes:
            ending = "\r" if line.endswith("\r") else ""
            indent = header.group("indent")
            annotated.extend(
                f"{indent}#   {terminal_safe(note)}{ending}" for note in notes[header.group("address")]
            )
    return "\n".join(annotated)


def _idle(result: PrincipalResult) -> list[str]:
    """The unused and stale services, each with the accounts it holds in (a permission set's)."""
    by_name: dict[str, ServiceResult] = {s.namespace: s for s in result.services}

    def named(namespace: str) -> str:
        held = in_accounts(by_name[namespace].accounts)
        return f"{namespace} ({held})" if held else namespace

    return [named(n) for n in result.namespaces_in("unused") + result.namespaces_in("stale")]


def principal_notes(result: PrincipalResult, stale_days: int, now: datetime | None = None) -> list[str]:
    """The note lines for one principal: a permission set's roles (with `now`, their age),
    what it leaves unused, and what the change adds or removes. A principal the plan
    destroys gets none."""
    if result.principal.change == "delete":
        return []
    notes = [role_text(role, now) for role in result.principal.roles]
    if result.status == "analyzed":
        in_report = [s.namespace for s in result.services if s.state != "not-granted"]
        granted = len(result.granted if result.granted is not None else in_report)
        idle = _idle(result)
        if idle:
            notes.append(
                f"{len(idle)} of {granted} granted services not used in {stale_days} days: {', '.join(idle)}"
            )
        elif granted:
            notes.append(f"all {granted} granted services used in the last {stale_days} days")
        notes.extend(
            f"{s.namespace} used, but not these tracked actions: {', '.join(s.unused_actions or ())}"
            for s in result.partly_used()
        )
        notes.extend(f"{s.namespace}: {unreported_reason(s)}" for s in unreported_to_say(result))
    elif result.status != "not-deployed":
        notes.append(f"{result.status}: {result.error or 'no usage data'}")
    if result.added:
        used = {s.namespace for s in result.services if s.last_accessed is not None}
        history = "" if used & set(result.added) else " (no usage history yet)"
        notes.append(f"this change adds {', '.join(result.added)}{history}")
    elif result.status == "not-deployed":
        notes.append("not deployed yet: no usage history")
    if result.removed:
        notes.append(f"this change removes {', '.join(result.removed)}")
    notes.extend(
        f"broad grant: {finding.message}"
        + (f" ({finding.location.file}:{finding.location.line})" if finding.location and finding.location.line
           else "")
        for finding in result.static
    )
    return [terminal_safe(_PREFIX + note) for note in notes]


def shown_headers(text: str) -> set[str]:
    """The addresses whose header the plan text shows: the resources the plan changes."""
    shown = set()
    for line in text.split("\n"):
        header = _HEADER.match(_COLOUR.sub("", line))
        if header:
            shown.add(header.group("address"))
    return shown


def _header(result: PrincipalResult, shown: set[str]) -> str | None:
    """The principal's own header when the text shows it, else that of the first
    resource the plan changes that grants to it."""
    return next((a for a in (result.principal.address, *result.principal.granted_via) if a in shown), None)


def place_notes(
    results: Sequence[PrincipalResult], stale_days: int, shown: set[str], now: datetime | None = None
) -> dict[str, list[str]]:
    """Principals' notes by the header they go under; notes under another resource's
    header name their principal."""
    placed: dict[str, list[str]] = {}
    for result in results:
        address = result.principal.address
        lines = principal_notes(result, stale_days, now)
        header = _header(result, shown)
        if header is None or not lines:
            continue
        if header != address:
            named = f"{_PREFIX}{terminal_safe(address)}: "
            lines = [named + line.removeprefix(_PREFIX) for line in lines]
        placed.setdefault(header, []).extend(lines)
    return placed


def _worth_saying(result: PrincipalResult) -> bool:
    unknown = any(s.state == "unknown-service" for s in result.unreported)
    return bool(result.findings() or result.static or unknown) or result.status in NOT_ANALYSABLE


def not_shown(
    results: Sequence[PrincipalResult], stale_days: int, shown: set[str], now: datetime | None = None
) -> list[str]:
    """The section for principals with findings whose notes have no header to go under."""
    lines = []
    for result in results:
        notes = principal_notes(result, stale_days, now)
        if _header(result, shown) is None and notes and _worth_saying(result):
            lines.append(f"  # {terminal_safe(result.principal.address)} (not changed by this plan)")
            lines.extend(f"  #   {note}" for note in notes)
    return ["", f"{_PREFIX}principals with findings that this plan does not show:", *lines] if lines else []


def render_plan(run: RunResult, suggestions: Suggestions | None = None, *, text: str) -> str:
    """Terraform's plan `text` with each principal's notes under its header, then the
    principals it does not show; with `suggestions`, followed by them."""
    shown = shown_headers(text)
    annotated = annotate_plan(text, place_notes(run.principals, run.stale_days, shown, run.now))
    rest = not_shown(run.principals, run.stale_days, shown, run.now)
    if rest:
        annotated = annotated.rstrip("\n") + "\n" + "\n".join(rest) + "\n"
    return annotated + "\n" + render_suggestions(suggestions) if suggestions is not None else annotated
