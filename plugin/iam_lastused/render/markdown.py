"""The pull-request comment: a hidden marker (so the GitHub Action finds and updates
its own comment), a one-line verdict, a summary table, then one collapsible block
per principal with something to show, and the run's errors and notes.

Every string from the code or from AWS is escaped: in Markdown, ASCII punctuation
is backslash-escaped and `<`, `>`, `&`, `|` become entities (so no HTML, link,
emphasis or table cell can be made); in the raw HTML of a `<summary>` it is
HTML-escaped. After every `@` and `#` comes a zero-width joiner, which GitHub's
mention and issue-reference filters (they run on the rendered text) do not match.

The comment stays within GitHub's 65,536-character limit, counted in UTF-8 bytes
(never fewer than characters): sections that do not fit are cut, each with a note
saying how many entries were left out.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from urllib.parse import quote

from iam_lastused.model import InputError, Location, PrincipalResult, RunResult, ServiceResult
from iam_lastused.render.common import (
    artifact_uri,
    boundary_text,
    days_ago,
    in_accounts,
    role_text,
    roles_to_show,
)
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.findings import tracked_count, unreported_to_say
from iam_lastused.suggest.verdicts import Suggestions

MARKER = "<!-- iam-lastused -->"
MAX_LENGTH = 65_536
_NOTE_ROOM = 400
_GITHUB_VARIABLES = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA")
_JOINER = "\u200d"
_BREAKS = {"@": "@" + _JOINER, "#": "#" + _JOINER}
_INLINE = {
    **{ch: "\\" + ch for ch in string.punctuation},
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "@": _BREAKS["@"],
    "#": "\\" + _BREAKS["#"],
}
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", **_BREAKS}
_STATUS = {
    "not-deployed": "not deployed yet: no usage history",
    "no-data": "no report in the access data",
    "unresolved": "unresolved",
    "invalid-name": "invalid name",
    "error": "error",
}
_TABLE_HEADER = (
    "| principal | status | change | granted | unused | stale |\n| --- | --- | --- | --: | --: | --: |\n"
)


def escape_inline(text: str) -> str:
    """Untrusted text for Markdown: a paragraph, a list item or a table cell."""
    return "".join(_INLINE.get(ch, ch) for ch in terminal_safe(text))


def escape_html(text: str) -> str:
    """Untrusted text for raw HTML, where Markdown is not parsed."""
    return "".join(_HTML.get(ch, ch) for ch in terminal_safe(text))


def blob_base(environ: Mapping[str, str]) -> str | None:
    """`{server}/{repo}/blob/{sha}` when running in GitHub Actions, else None."""
    server, repo, sha = (environ.get(name, "") for name in _GITHUB_VARIABLES)
    if not (server and repo and sha):
        return None
    return "/".join(quote(part.rstrip("/"), safe=":/") for part in (server, repo, "blob", sha))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _code(text: str) -> str:
    return f"<code>{escape_inline(text)}</code>"


def _codes(namespaces: tuple[str, ...]) -> str:
    return ", ".join(_code(ns) for ns in namespaces)


def _place(location: Location, base: str | None) -> str:
    """`file:line`, linked to the file at this commit when `base` is known."""
    label = escape_inline(f"{location.file}:{location.line}" if location.line else location.file)
    if base is None or location.file.startswith(("/", "\\")):
        return label
    anchor = f"#L{location.line}" if location.line else ""
    return f"[{label}]({base}/{artifact_uri(location.file)}{anchor})"


def _granted_services(result: PrincipalResult) -> int | None:
    if result.status == "analyzed":
        return sum(1 for s in result.services if s.state != "not-granted") + len(result.unreported)
    return len(result.granted) if result.granted is not None else None


def _verdict(run: RunResult) -> str:
    """The headline: what was found, counted as the text report counts it; the success
    mark only when something was analysed, nothing found and every input read."""
    analyzed = [p for p in run.principals if p.status == "analyzed"]
    unused = sum(len(p.namespaces_in("unused")) for p in analyzed)
    stale = sum(len(p.namespaces_in("stale")) for p in analyzed)
    flagged = sum(1 for p in analyzed if p.namespaces_in("unused") or p.namespaces_in("stale"))
    broad = sum(len(p.static) for p in run.principals)
    skipped = len(run.principals) - len(analyzed)
    not_analysed = f"; {_plural(skipped, 'principal')} not analysed" if skipped else ""
    errors = f"; {_plural(len(run.errors), 'input error')}" if run.errors else ""
    found = [f"{_plural(broad, 'broad grant')} in the code"] if broad else []
    if unused or stale:
        found.insert(0, f"{unused} never-used and {stale} stale service grants across "
                     f"{_plural(flagged, 'principal')} (stale: not used in {run.stale_days} days)")
    if found:
        return f"**iam-lastused**: {'; '.join(found)}{not_analysed}{errors}"
    if not run.principals:
        return f"**iam-lastused**: no IAM principal found{errors}"
    if not analyzed:
        none = f"none of {_plural(len(run.principals), 'principal')} could be analysed"
        return f"**iam-lastused**: {none}{errors}"
    mark = "" if errors else "✅ "
    return (
        f"{mark}**iam-lastused**: no never-used or stale service grants in "
        f"{_plural(len(analyzed), 'analysed principal')}{not_analysed}{errors}"
    )


def _row(result: PrincipalResult) -> str:
    principal = result.principal
    granted = _granted_services(result)
    analyzed = result.status == "analyzed"
    cells = [
        f"{principal.kind} {_code(principal.address)}",
        result.status,
        escape_inline(principal.change) if principal.change else "—",
        str(granted) if granted is not None else "—",
        str(len(result.namespaces_in("unused"))) if analyzed else "—",
        str(len(result.namespaces_in("stale"))) if analyzed else "—",
    ]
    return f"| {' | '.join(cells)} |\n"


def _granted_at(service: ServiceResult, base: str | None) -> str:
    held = f", {escape_inline(in_accounts(service.accounts))}" if service.accounts else ""
    if not service.granted_by:
        return held
    return held + ", granted at " + ", ".join(_place(loc, base) for loc in service.granted_by)


def _service_item(service: ServiceResult, run: RunResult, base: str | None) -> str:
    what = f"{_code(service.namespace)} ({escape_inline(service.name)})"
    if service.state == "unused":
        return f"- **never used**: {what}{_granted_at(service, base)}\n"
    when = f" ({service.last_accessed.date().isoformat()})" if service.last_accessed else ""
    ago = days_ago(service.last_accessed, run.now)
    return f"- **stale**: {what}, last used {ago}{when}{_granted_at(service, base)}\n"


def _partly_used_item(service: ServiceResult, base: str | None) -> str:
    unused = service.unused_actions or ()
    return (
        f"- **partly used**: {_code(service.namespace)} ({escape_inline(service.name)}), "
        f"{len(unused)} of {tracked_count(service)} tracked actions never used: {_codes(unused)}"
        f"{_granted_at(service, base)}\n"
    )


def _unreported_item(service: ServiceResult, base: str | None) -> str:
    if service.state == "unknown-service":
        return (
            f"- **not a known IAM service** (check the prefix): {_code(service.namespace)}"
            f"{_granted_at(service, base)}\n"
        )
    return (
        f"- **not yet in IAM's report**: {_code(service.namespace)} ({escape_inline(service.name)})"
        f"{_granted_at(service, base)}\n"
    )


def _summary(result: PrincipalResult) -> str:
    principal = result.principal
    if result.status == "analyzed":
        unused, stale = len(result.namespaces_in("unused")), len(result.namespaces_in("stale"))
        state = f"{unused} never used, {stale} stale"
    else:
        state = _STATUS[result.status]
    return f"{principal.kind} <code>{escape_html(principal.address)}</code>: {escape_html(state)}"


def principal_body(result: PrincipalResult, run: RunResult, base: str | None) -> list[str]:
    """A principal's details as Markdown lines: the comment's and a run task outcome's body."""
    principal = result.principal
    items = []
    if principal.location:
        items.append(f"- defined at {_place(principal.location, base)}\n")
    if principal.arn and principal.arn != principal.address:
        items.append(f"- ARN {_code(principal.arn)}\n")
    items.extend(f"- {escape_inline(role_text(role, run.now))}\n" for role in principal.roles)
    if principal.boundary is not None:
        where = f" ({_place(principal.boundary.location, base)})"
        items.append(f"- permissions boundary: {escape_inline(boundary_text(principal.boundary))}{where}\n")
    if result.status != "analyzed":
        reason = f": {escape_inline(result.error)}" if result.error else ""
        items.append(f"- **{_STATUS[result.status]}**{reason}\n")
    items.extend(_service_item(service, run, base) for service in result.findings())
    items.extend(_partly_used_item(service, base) for service in result.partly_used())
    items.extend(_unreported_item(service, base) for service in unreported_to_say(result))
    for service in result.suppressed():
        reason = escape_inline(service.suppressed.reason) if service.suppressed else ""
        items.append(f"- suppressed ({service.state}): {_code(service.namespace)}: {reason}\n")
    if result.added:
        items.append(f"- **added by this change**, no usage history yet: {_codes(result.added)}\n")
    if result.removed:
        items.append(f"- **removed by this change**: {_codes(result.removed)}\n")
    if result.status != "analyzed" and result.granted and not result.added:
        items.append(f"- **granted by the code**: {_codes(result.granted)}\n")
    for finding in result.static:
        where = f" at {_place(finding.location, base)}" if finding.location else ""
        items.append(f"- **broad grant**{where}: {escape_inline(finding.message)}\n")
    for location, why in result.unknown:
        items.append(f"- grants partly unknown: {escape_inline(why)} ({_place(location, base)})\n")
    return items


def _details(result: PrincipalResult, run: RunResult, base: str | None) -> str | None:
    """A collapsible block, or None for an analysed principal with nothing to show."""
    shown = (
        result.findings() or result.suppressed() or result.partly_used() or result.unreported
        or result.added or result.removed or result.static or result.unknown
        or roles_to_show(result.principal)
    )
    if result.status == "analyzed" and not shown:
        return None
    body = "".join(principal_body(result, run, base))
    return f"<details><summary>{_summary(result)}</summary>\n\n{body}\n</details>\n\n"


def _error_item(error: InputError, base: str | None) -> str:
    where = f"{_place(Location(error.file, error.line), base)}: " if error.file else ""
    return f"- {where}{escape_inline(error.message)}\n"


def _size(text: str) -> int:
    return len(text.encode())


def _fit(items: list[str], budget: int, noun: str) -> str:
    """As many items as fit in `budget`, in order, then a note saying how many did not."""
    used = 0
    for kept, item in enumerate(items):
        used += _size(item)
        if used > budget:
            return "".join(items[:kept]) + _left_out(len(items) - kept, noun)
    return "".join(items)


def _left_out(count: int, noun: str) -> str:
    return (
        f"\n_{_plural(count, 'more ' + noun)} left out to stay within GitHub's comment size limit; "
        "the text and JSON reports (`--format text`, `--format json`) have them all._\n\n"
    )


def _list(title: str, items: list[str], budget: int, noun: str) -> str:
    return f"**{title}**\n\n{_fit(items, budget, noun)}\n" if items else ""


def _table(rows: list[str], budget: int) -> str:
    return f"{_TABLE_HEADER}{_fit(rows, budget, 'principal')}\n" if rows else ""


def render_markdown(run: RunResult, suggestions: Suggestions | None = None, links: str | None = None) -> str:
    """The pull-request comment; `links` is the base URL of file links (`blob_base`)."""
    base = links
    head = f"{MARKER}\n{_verdict(run)}\n\nUsage data: {escape_inline(run.usage_source.describe())}\n\n"
    budget = MAX_LENGTH - _size(head) - _size(_TABLE_HEADER) - 4 * _NOTE_ROOM
    errors = _list("Errors", [_error_item(e, base) for e in run.errors], budget // 8, "error")
    notes = _list("Notes", [f"- {escape_inline(note)}\n" for note in run.notes], budget // 8, "note")
    budget -= _size(errors) + _size(notes)
    table = _table([_row(p) for p in run.principals], budget)
    budget -= _size(table) - _size(_TABLE_HEADER)
    blocks = [block for p in run.principals if (block := _details(p, run, base))]
    return head + table + _fit(blocks, budget, "principal") + errors + notes
