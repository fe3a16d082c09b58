"""The suggestions as text (after the text report), as the `suggestions` field of the
JSON report, and as a patch for `git apply`."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path

from iam_lastused.render.escape import terminal_safe
from iam_lastused.suggest.verdicts import PolicySuggestion, StatementSuggestion, Suggestions


def render_suggestions(suggestions: Suggestions) -> str:
    """Each policy and statement with something to remove: where, the verdict, and the
    edit; a statement a policy's verdict covers is shown under the policy alone. Every
    line is made safe for a terminal: names and actions come from the code."""
    entries = [(p.location, _policy_text(p)) for p in suggestions.policies]
    entries.extend(
        (s.location, _statement_text(s))
        for s in suggestions.statements
        if s.verdict in ("partly-unused", "unused") and s.policy is None
    )
    entries.sort(key=lambda entry: (entry[0].file, entry[0].line or 0))
    lines = [line for _, text in entries for line in text]
    counts = {v: sum(1 for s in suggestions.statements if s.verdict == v) for v in _VERDICTS}
    summary = ", ".join(f"{counts[v]} {label}" for v, label in _VERDICTS.items())
    lines.append(f"{len(suggestions.statements)} Allow statements: {summary}")
    removed = sum(1 for p in suggestions.policies if p.removed)
    if removed:
        lines.append(f"{removed} polic{'y' if removed == 1 else 'ies'} removed whole")
    lines.extend(f"note: {note}" for note in suggestions.notes)
    return "\n".join("\t".join(map(terminal_safe, line.split("\t"))) for line in lines) + "\n"


def _policy_text(policy: PolicySuggestion) -> list[str]:
    where = f"{policy.location.file}:{policy.location.line or '?'}"
    reference = policy.policy_reference
    name = f" {policy.policy_arn}" if policy.policy_arn else ""
    name = f" {reference.path}{reference.name} (customer managed, by name)" if reference else name
    lines = [f"{where}  {policy.verdict} policy{name}  ({', '.join(policy.principals)})"]
    if policy.removable_services:
        lines.append(f"  remove services: {', '.join(policy.removable_services)}")
    lines.extend(f"  note: {note}" for note in policy.notes)
    if policy.removed:
        what = "attachment" if policy.policy_arn else "policy"
        lines.append(f"  suggested: remove this {what} (every statement is unused)")
    return [*lines, ""]


_VERDICTS = {
    "all-used": "all used", "partly-unused": "partly unused", "unused": "unused", "unknown": "not judged",
}


def _statement_text(statement: StatementSuggestion) -> list[str]:
    where = f"{statement.location.file}:{statement.location.line or '?'}"
    lines = [f"{where}  {statement.verdict}  ({', '.join(statement.principals)})"]
    if statement.removable_services:
        lines.append(f"  remove services: {', '.join(statement.removable_services)}")
    if statement.removable_actions:
        lines.append(f"  remove actions: {_some(statement.removable_actions)}")
    lines.extend(f"  keep {kept.namespace}: {kept.reason}" for kept in statement.kept)
    lines.extend(f"  note: {note}" for note in statement.notes)
    if statement.rewritten == "":
        lines.append("  suggested: remove this statement")
    elif statement.rewritten:
        lines.append("  suggested:")
        lines.extend(f"    {line}" if line else "" for line in statement.rewritten.splitlines())
    elif statement.suggested_actions:
        lines.append(f"  suggested Action: {', '.join(statement.suggested_actions)}")
    return [*lines, ""]


def _some(names: Sequence[str], shown: int = 8) -> str:
    """The first few names, and how many more there are."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def render_patch(suggestions: Suggestions, root: Path) -> str:
    """A unified diff of every edited file, paths relative to `root` with a/ and b/
    prefixes, for `git apply` or `patch -p1`. A file outside `root` is left out, with a
    comment line before the diff saying so (both tools skip such lines)."""
    head: list[str] = []
    body: list[str] = []
    for change in suggestions.files:
        relative = os.path.relpath(Path(change.file).resolve(), root.resolve())
        if relative.startswith(".."):
            head.append(f"# not in this patch (outside {root}): {change.file}\n")
            continue
        name = Path(relative).as_posix()
        diff = difflib.unified_diff(
            change.before.splitlines(keepends=True),
            change.after.splitlines(keepends=True),
            f"a/{name}",
            f"b/{name}",
        )
        body.extend(_terminated(line) for line in diff)
    return "".join(head + body)


def _terminated(line: str) -> str:
    """A diff line; a last line without a newline gets the marker both tools expect."""
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def suggestions_json(suggestions: Suggestions) -> dict[str, object]:
    """The suggestions for the JSON report."""
    return {
        "policies": [
            {
                "file": p.location.file,
                "line": p.location.line,
                "principals": list(p.principals),
                "verdict": p.verdict,
                "policy_arn": p.policy_arn,
                "policy_reference": None if p.policy_reference is None else {
                    "name": p.policy_reference.name, "path": p.policy_reference.path,
                },
                "removable_services": list(p.removable_services),
                "kept_services": list(p.kept_services),
                "edited": p.removed,
                "notes": list(p.notes),
            }
            for p in suggestions.policies
        ],
        "statements": [
            {
                "file": s.location.file,
                "line": s.location.line,
                "principals": list(s.principals),
                "verdict": s.verdict,
                "level": s.level,
                "actions": list(s.actions),
                "removable_services": list(s.removable_services),
                "removable_actions": list(s.removable_actions),
                "kept": [{"namespace": k.namespace, "reason": k.reason, "needed_by": list(k.needed_by)}
                         for k in s.kept],
                "suggested_actions": None if s.suggested_actions is None else list(s.suggested_actions),
                "edited": s.rewritten is not None,
                "policy": None if s.policy is None else {
                    "file": s.policy.file, "line": s.policy.line, "policy_arn": s.policy_arn,
                },
                "notes": list(s.notes),
            }
            for s in suggestions.statements
        ],
        "notes": list(suggestions.notes),
    }
