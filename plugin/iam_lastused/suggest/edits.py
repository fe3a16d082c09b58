"""The suggestions carried out: each source file with the verdicts' edits made, in its
own syntax (see `rewrite`), or left alone with a note where an edit cannot be made."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from iam_lastused.files import MAX_SOURCE_BYTES, ReadRefused, read_bytes, refusal
from iam_lastused.model import Location, RunResult
from iam_lastused.suggest.rewrite import (
    Edit,
    Site,
    action_edits,
    apply_edits,
    find_sites,
    removal_edits,
    removals_at,
)
from iam_lastused.suggest.verdicts import (
    DEFAULT_MIN_AGE_DAYS,
    FileChange,
    PolicySuggestion,
    StatementKey,
    StatementSuggestion,
    Suggestions,
    judge_policies,
    judge_statements,
    statement_holders,
    statement_key,
)


def suggest(
    run: RunResult,
    granularity: str,
    min_age_days: int = DEFAULT_MIN_AGE_DAYS,
    created: Mapping[str, datetime] | None = None,
) -> Suggestions:
    """The verdicts, and each source file with the suggested edits made (files are read
    from their paths as the run reports them, relative to the current directory)."""
    keys = [statement_key(statement) for statement, _ in statement_holders(run)]
    judged = list(judge_statements(run, granularity, min_age_days, created))
    policies = judge_policies(run, dict(zip(keys, judged, strict=True)))
    texts: dict[str, str] = {}
    notes: list[str] = []

    def read(file: str) -> str | None:
        if file not in texts:
            try:
                data = read_bytes(Path(file), MAX_SOURCE_BYTES)  # regular files only
                texts[file] = data.decode("utf-8")  # line endings as they are
            except (OSError, ReadRefused, UnicodeDecodeError) as exc:
                notes.append(f"{file}: cannot read, so not edited: {refusal(exc)}")
                return None
        return texts[file]

    going: dict[str, set[int]] = {}
    for policy, _ in policies:
        if policy.verdict == "unused" and not policy.notes and policy.location.line:
            going.setdefault(policy.location.file, set()).add(policy.location.line)
    unit_edits: dict[str, list[Edit]] = {}
    sites: dict[str, list[Site]] = {}  # found while the file's parse tree is at hand
    removable: set[Location] = set()
    for file, lines in going.items():
        text = read(file)
        if text is not None:
            unit_edits[file], found = removals_at(file, text, lines)
            sites[file] = find_sites(file, text)
            removable.update(Location(file, line) for line in found)
    kept: list[tuple[PolicySuggestion, tuple[StatementKey, ...]]] = []
    for policy, statement_keys in policies:
        if policy.location not in removable:
            if policy.policy_arn is None and policy.policy_reference is None:
                continue  # an inline policy not removable whole: its statements' own notes say so
            if policy.verdict == "unused" and not policy.notes:
                policy = replace(policy, notes=(_NOT_ITS_OWN,))
        kept.append((policy, statement_keys))
    policies = kept
    covered = {key: policy for policy, statement_keys in policies for key in statement_keys}
    for index, key in enumerate(keys):
        if key in covered:
            policy = covered[key]
            judged[index] = replace(judged[index], policy=policy.location, policy_arn=policy.policy_arn)

    files: list[FileChange] = []
    edited = {i for i, s in enumerate(judged) if s.rewrites is not None and s.policy is None}
    for file in sorted({judged[i].location.file for i in edited} | set(unit_edits)):
        indices = [i for i in sorted(edited) if judged[i].location.file == file]
        text = read(file)
        if text is None:
            continue
        statements = [judged[i] for i in indices]
        units = unit_edits.get(file, [])
        after, updated, failure = _edit_file(file, text, statements, units, sites.get(file))
        for index, statement in zip(indices, updated, strict=True):
            judged[index] = statement
        for index, (policy, statement_keys) in enumerate(policies):
            if policy.location.file == file and policy.location in removable:
                done = {"notes": (failure,)} if failure else {"removed": True}
                policies[index] = (replace(policy, **done), statement_keys)
        if after != text:
            files.append(FileChange(file, text, after))
    return Suggestions(tuple(judged), tuple(files), tuple(notes), tuple(p for p, _ in policies))


def _matches(site: Site, statement: StatementSuggestion) -> bool:
    """The statement as written here; in any order, since a plan's rendered policy
    documents list actions sorted."""
    return (
        site.effect == "Allow"
        and not site.has_not_action
        and site.action is not None
        and sorted(site.action.values) == sorted(statement.actions)
    )


def _aligned(site: Site, statement: StatementSuggestion) -> tuple[tuple[str, ...] | None, ...]:
    """The statement's rewrites in the order its actions are written at `site`."""
    by_action = dict(zip(statement.actions, statement.rewrites or (), strict=True))
    return tuple(by_action[action] for action in site.action.values) if site.action else ()


def _edit_file(
    file: str,
    text: str,
    statements: list[StatementSuggestion],
    unit_edits: Sequence[Edit] = (),
    sites: list[Site] | None = None,
) -> tuple[str, list[StatementSuggestion], str | None]:
    """The file with every statement's edit made and the policies of `unit_edits` removed,
    the statements with what was done, and why nothing was edited when the edits could not
    be made (they overlap, or the result would not parse)."""
    sites = find_sites(file, text) if sites is None else sites
    updated = list(statements)
    found: dict[int, Site] = {}
    for index, statement in enumerate(statements):
        site = next((s for s in sites if s.line == statement.location.line and _matches(s, statement)), None)
        if site is None:
            updated[index] = _note(statement, _NOT_LITERAL if statement.location.line else _NO_LINE)
        else:
            found[index] = site
    own = {
        index: action_edits(site.action, _aligned(site, statements[index]))  # type: ignore[arg-type]
        for index, site in found.items()
        if not statements[index].deletes
    }
    edits = [*unit_edits, *(edit for site_edits in own.values() for edit in site_edits)]
    deleted: list[int] = []
    for indices in _by_policy(found, statements).values():
        siblings = found[indices[0]].siblings
        if len(indices) == len(siblings.spans):
            for index in indices:
                updated[index] = _note(updated[index], _LAST_STATEMENT)
            continue
        edits.extend(removal_edits(text, siblings, {found[index].index for index in indices}))
        deleted.extend(indices)
    if not edits:
        return text, updated, None
    within = sum(1 for site in sites if any(start <= site.span.start and site.span.end <= end
                                            for start, end, _ in unit_edits))
    try:
        after = apply_edits(text, edits)
        failure = None if len(find_sites(file, after)) == len(sites) - len(deleted) - within else _NOT_PARSING
    except ValueError:  # never expected: the edits were found apart, but a wrong file is worse than none
        failure = _OVERLAPPING
    if failure:
        edited = {*own, *deleted}
        return text, [_note(s, failure) if i in edited else s for i, s in enumerate(updated)], failure
    for index in deleted:
        updated[index] = replace(updated[index], rewritten="")
    for index, site_edits in own.items():
        updated[index] = replace(updated[index], rewritten=_snippet(text, found[index], site_edits))
    return after, updated, None


_LAST_STATEMENT = (
    "not edited: every statement of this policy is unused; remove the policy (and what attaches it) instead"
)
_NOT_PARSING = "not edited: the edited file would not parse"
_OVERLAPPING = "not edited: the edits to this file overlap"
_NOT_LITERAL = "not edited: the Action list is not written literally at this line"
_NO_LINE = "not edited: the statement's line is not known"
_NOT_ITS_OWN = (
    "not edited: no resource or list entry of its own attaches the policy at this line (a list "
    "attribute, an attachment of several principals, or one the framework adds)"
)


def _by_policy(found: Mapping[int, Site], statements: Sequence[StatementSuggestion]) -> dict[int, list[int]]:
    """The statements to delete, grouped by the policy document they are in."""
    groups: dict[int, list[int]] = {}
    for index, site in found.items():
        if statements[index].deletes:
            groups.setdefault(id(site.siblings), []).append(index)
    return groups


def _note(statement: StatementSuggestion, note: str) -> StatementSuggestion:
    return replace(statement, notes=(*statement.notes, note), rewritten=None)


def _snippet(text: str, site: Site, edits: Sequence[Edit]) -> str:
    """The statement as edited, dedented, from its first character. A statement that
    starts after other text on its line (`Statement = [{`) is indented as that line is,
    as its closing line is: not as deep as the column it starts at."""
    line_start = text.rfind("\n", 0, site.span.start) + 1
    before = text[line_start : site.span.start]
    indent = before if not before.strip() else before[: len(before) - len(before.lstrip())]
    shifted = [(start - site.span.start, end - site.span.start, new) for start, end, new in edits]
    return textwrap.dedent(indent + apply_edits(text[site.span.start : site.span.end], shifted))


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


