"""From findings to the fix: a verdict for each Allow statement and each policy, from
the reports alone (pure); `edits` carries them out in the files.

The rules:

- A statement's *holders* are every principal whose grants include it (the same
  statement, at the same file:line): a role and its inline policy, a managed policy and
  every principal it is attached to (and the policy itself, whose own report counts), a
  group and its members.
- A service of a statement is *removable* only when every holder's report has it
  `unused` or `stale`. A service some holder used within `--stale-days` is kept, and the
  verdict names who uses it; when other holders do not, the fix for them is a separate
  policy, which the suggestion says rather than makes.
- Kept as well: a service the pending change adds (it has no history yet), a suppressed
  finding, and a service a holder's report does not list (no data is not "unused").
- Verdicts: `unused` (every service removable: the statement goes), `partly-unused`
  (some services, or with `--granularity action` some actions, are removable),
  `all-used`, or `unknown` (not judged: a holder was not analysed, the actions cannot be
  read, or the statement differs between holders).
- Only `Allow` statements are judged; `Deny` statements are never touched. `Resource` and
  `Condition` are never changed: only the `Action` list is edited.
- At service level, an action pattern whose services are all removable is dropped; one
  spanning several services (`*`, `*:Get*`) is split into one pattern per kept service,
  but only when every service it covers has usage data. At action level, a pattern whose
  tracked actions are partly unused is replaced by the actions it covers minus the
  unused ones: the used ones and those IAM does not track (whose use is unknown), listed.
- A `NotAction` statement gets a verdict and a note ("rewrite as an Action list"), never
  an edit.
- No removal is suggested, only a note, while a holder was created less than
  `min_age_days` ago (when its creation time is known): its report has not seen enough.
- A statement is edited only where its Action is written literally at its file:line and
  matches what was analysed. A statement whose every action is removable is deleted.
- A policy whose every statement goes is removed whole, with its holders' attachment of it,
  where it is one principal's own: an inline policy (`aws_iam_*_policy`, `inline_policy`,
  an entry of CloudFormation `Policies`), or an attachment of a policy the code does not
  define (an AWS managed policy, whose statements come from the access data or IAM). A
  policy the code does not define loses nothing otherwise (it cannot be edited here): the
  note says which services a policy of your own would keep. Any other policy with nothing
  left keeps its last statement, and the note says to remove the policy.
- A permission set is judged by its roles (one verdict across its accounts, made by the
  analysis): its inline policy's statements are edited, and its AWS managed policy
  attachments removed, as any principal's; a customer managed policy it refers to by name
  is in each account, not in the code, so the note names it and what to take out of it. No
  removal is suggested while one of its roles is younger than `min_age_days`, or while
  an assigned account's role could not be read.
- Every edited file must still parse, or it is left alone.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Literal

from iam_lastused import catalog
from iam_lastused.analysis.analyze import statement_services
from iam_lastused.model import (
    Grant,
    Location,
    PolicyReference,
    PrincipalResult,
    RunResult,
    ServiceResult,
    Statement,
)

Verdict = Literal["all-used", "partly-unused", "unused", "unknown"]
Level = Literal["service", "action"]
DEFAULT_MIN_AGE_DAYS = 30
REMOVABLE_STATES = ("unused", "stale")


@dataclass(frozen=True)
class Kept:
    """A service of the statement that stays, and why."""

    namespace: str
    reason: str
    needed_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatementSuggestion:
    """The verdict on one statement. `rewrites` has, for each action as written, what
    replaces it (None: kept as is; (): dropped); `rewrites` None means no edit is
    suggested. `rewritten` is the statement as the patch leaves it ("" when the patch
    deletes it, None when the patch does not touch it). `policy` is set when the verdict on
    the whole policy that holds the statement (a `PolicySuggestion`) covers it, and
    `policy_arn` is that policy's ARN when the code does not define it."""

    location: Location
    principals: tuple[str, ...]
    verdict: Verdict
    level: Level
    actions: tuple[str, ...] = ()
    removable_services: tuple[str, ...] = ()
    removable_actions: tuple[str, ...] = ()
    kept: tuple[Kept, ...] = ()
    rewrites: tuple[tuple[str, ...] | None, ...] | None = None
    notes: tuple[str, ...] = ()
    rewritten: str | None = None
    policy: Location | None = None
    policy_arn: str | None = None

    @property
    def deletes(self) -> bool:
        """Whether the suggestion removes the statement whole."""
        return self.suggested_actions == ()

    @property
    def suggested_actions(self) -> tuple[str, ...] | None:
        """The Action list suggested ((): remove the statement), or None for no change."""
        if self.rewrites is None:
            return None
        return tuple(
            value
            for action, new in zip(self.actions, self.rewrites, strict=True)
            for value in ((action,) if new is None else new)
        )


@dataclass(frozen=True)
class PolicySuggestion:
    """The verdict on a policy as a whole, written at `location`: one whose every statement
    goes (`unused`; `removed` when the patch removes it), or a policy the code attaches but
    does not define (`policy_arn`) with something unused, which cannot be edited here."""

    location: Location
    principals: tuple[str, ...]
    verdict: Verdict
    policy_arn: str | None = None
    removable_services: tuple[str, ...] = ()
    kept_services: tuple[str, ...] = ()
    removed: bool = False
    notes: tuple[str, ...] = ()
    policy_reference: PolicyReference | None = None
    """A customer managed policy a permission set refers to by name: named, never edited."""


@dataclass(frozen=True)
class FileChange:
    file: str
    before: str
    after: str


@dataclass(frozen=True)
class Suggestions:
    statements: tuple[StatementSuggestion, ...]
    files: tuple[FileChange, ...] = ()
    notes: tuple[str, ...] = ()
    policies: tuple[PolicySuggestion, ...] = ()


# ---------------------------------------------------------------------------
# Verdicts: pure functions over a RunResult
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fate:
    """What the holders' reports say about one service of one statement."""

    removable: bool
    kept: Kept | None = None
    unused_actions: frozenset[str] = frozenset()
    tracked: frozenset[str] = frozenset()
    known: bool = True
    notes: tuple[str, ...] = ()


StatementKey = tuple[Location, tuple[str, ...], tuple[str, ...]]


def statement_holders(run: RunResult) -> list[tuple[Statement, list[PrincipalResult]]]:
    """Each Allow statement, with every principal that holds it. A statement is its place
    in the code and its actions: the same text reached through several module calls,
    attachments or group memberships is one statement (its resources may differ)."""
    held: dict[StatementKey, tuple[Statement, dict[str, PrincipalResult]]] = {}
    for result in run.principals:
        for grant in result.principal.grants or ():
            for statement in grant.statements:
                if statement.effect == "Allow":
                    key = (statement.location, statement.actions, statement.not_actions)
                    held.setdefault(key, (statement, {}))[1][result.principal.address] = result
    order = sorted(held, key=lambda key: (key[0].file, key[0].line or 0))
    return [(held[key][0], list(held[key][1].values())) for key in order]


def judge_statements(
    run: RunResult,
    granularity: str,
    min_age_days: int = DEFAULT_MIN_AGE_DAYS,
    created: Mapping[str, datetime] | None = None,
) -> tuple[StatementSuggestion, ...]:
    level: Level = "action" if granularity == "action" else "service"
    young = _young(run, min_age_days, created or {})
    return tuple(_judge(statement, results, level, young) for statement, results in statement_holders(run))


def _young(run: RunResult, min_age_days: int, created: Mapping[str, datetime]) -> dict[str, str]:
    """Principals created less than `min_age_days` ago, with the note to give; a permission
    set by its roles instead (`_held_back`)."""
    notes = {}
    for address, when in created.items():
        age = _age(run.now, when)
        if age < timedelta(days=min_age_days):
            notes[address] = (
                f"{address} was created {age.days} days ago (less than {min_age_days}): "
                "its report has not seen enough; no removal suggested"
            )
    for result in run.principals:
        if result.principal.roles:
            notes.pop(result.principal.address, None)
            held_back = _held_back(result, run.now, min_age_days)
            if held_back:
                notes[result.principal.address] = held_back
    return notes


def _age(now: datetime, when: datetime) -> timedelta:
    return now - (when if when.tzinfo else when.replace(tzinfo=timezone.utc))


def _held_back(result: PrincipalResult, now: datetime, min_age_days: int) -> str | None:
    """Why a permission set gets no removal, by its roles: one created less than
    `min_age_days` ago (a re-assignment makes a new role, with no history), or an assigned
    account whose role could not be read (its use is unknown). An account where the role is
    not deployed yet has no use to lose."""
    address = result.principal.address
    reasons = []
    for role in result.principal.roles:
        if role.arn and role.created and _age(now, role.created) < timedelta(days=min_age_days):
            reasons.append(f"{address} was created {_age(now, role.created).days} days ago in account "
                           f"{role.account} (its role there, less than {min_age_days}): its report has not "
                           "seen enough")
        elif role.arn is None and not role.not_deployed:
            reasons.append(f"{address}'s role in {role.account} could not be read "
                           f"({role.why or 'no reason given'})")
    return f"{'; '.join(reasons)}; no removal suggested" if reasons else None


def _judge(
    statement: Statement, results: list[PrincipalResult], level: Level, young: Mapping[str, str]
) -> StatementSuggestion:
    addresses = tuple(sorted(r.principal.address for r in results))
    base = StatementSuggestion(statement.location, addresses, "unknown", level, statement.actions)
    reason = _not_judged(statement, results)
    if reason:
        return replace(base, notes=(reason,))
    services = sorted(statement_services(statement))
    fates = {namespace: _fate(namespace, results, level) for namespace in services}
    removable = tuple(namespace for namespace in services if fates[namespace].removable)
    actions = _removable_actions(statement, fates)
    notes = [note for namespace in services for note in fates[namespace].notes]
    judged = replace(
        base,
        removable_services=removable,
        removable_actions=actions,
        kept=tuple(fate.kept for fate in fates.values() if fate.kept),
        rewrites=_rewrites(statement.actions, fates, level, notes) if removable or actions else None,
    )
    verdict: Verdict = "all-used"
    if removable or actions:
        whole = len(removable) == len(services) or judged.suggested_actions == ()
        verdict = "unused" if whole else "partly-unused"
    blocked = [young[r.principal.address] for r in results if r.principal.address in young]
    if statement.not_actions:
        blocked.append("a NotAction statement is not edited: rewrite it as an Action list of what is used")
    if verdict == "all-used" or blocked:
        judged = replace(judged, rewrites=None)
    return replace(judged, verdict=verdict, notes=tuple(dict.fromkeys([*notes, *blocked])))


def _not_judged(statement: Statement, results: list[PrincipalResult]) -> str | None:
    if not statement_services(statement):
        return "the statement's actions cannot be read: not judged"
    for result in results:
        if result.status != "analyzed":
            return f"{result.principal.address} was not analysed ({result.status}): not judged"
    return None


def _service(result: PrincipalResult, namespace: str) -> ServiceResult | None:
    return next((s for s in result.services if s.namespace == namespace), None)


def _fate(namespace: str, results: Sequence[PrincipalResult], level: Level) -> _Fate:
    """Removable when every holder's report has the service unused or stale; otherwise
    kept, with who needs it, and (at action level) the actions no holder used."""
    needed_by: dict[str, str] = {}
    unused_by_holder: list[frozenset[str]] = []
    tracked: set[str] = set()
    notes: list[str] = []
    for result in results:
        address = result.principal.address
        service = _service(result, namespace)
        tracked.update(_action_names(namespace, service, ("used", *REMOVABLE_STATES)))
        reason = _why_kept(namespace, result, service)
        if reason is None:
            continue
        needed_by[address] = reason
        unused: frozenset[str] = frozenset()
        if level == "action" and service is not None and reason == f"used by {address}":
            if service.actions is None:
                notes.append(f"{namespace}: no action-level data; judged at service level")
            unused = _action_names(namespace, service, REMOVABLE_STATES)
        unused_by_holder.append(unused)
    if not needed_by:
        return _Fate(True, tracked=frozenset(tracked))
    kept = Kept(namespace, "; ".join(needed_by.values()), _who(needed_by, results))
    others = [r.principal.address for r in results if r.principal.address not in needed_by]
    if others:
        verb = "does" if len(others) == 1 else "do"
        notes.append(
            f"{namespace} is still needed by {', '.join(kept.needed_by)}; {', '.join(others)} "
            f"{verb} not use it, and can lose it only through a separate policy"
        )
    known = all(_has_data(_service(r, namespace)) for r in results)
    unused_by_all = frozenset.intersection(*unused_by_holder)
    return _Fate(False, kept, unused_by_all, frozenset(tracked), known, tuple(notes))


def _has_data(service: ServiceResult | None) -> bool:
    return service is not None and service.state != "not-granted"


def _why_kept(namespace: str, result: PrincipalResult, service: ServiceResult | None) -> str | None:
    """Why one holder keeps a service; None when its report has it unused or stale."""
    address = result.principal.address
    if service is None or not _has_data(service):
        return f"no usage data for {address}"
    if namespace in result.added:
        return f"added by the pending change to {address}"
    if service.suppressed:
        return f"suppressed for {address}: {service.suppressed.reason}"
    if service.state in REMOVABLE_STATES:
        return None
    return f"used by {address}"


def _action_names(namespace: str, service: ServiceResult | None, states: Sequence[str]) -> frozenset[str]:
    """The service's tracked actions in `states`, as lowercase `service:action`."""
    actions = service.actions if service is not None else None
    return frozenset(
        f"{namespace}:{a.name.rpartition(':')[2]}".lower() for a in actions or () if a.state in states
    )


def _who(needed_by: Mapping[str, str], results: Sequence[PrincipalResult]) -> tuple[str, ...]:
    """Who needs a service: the principals, not a managed policy's own report, when both do."""
    kinds = {r.principal.address: r.principal.kind for r in results}
    people = [address for address in needed_by if kinds[address] != "policy"]
    return tuple(sorted(people or needed_by))


def _covers(pattern: str, action: str) -> bool:
    """Whether an action pattern matches `service:Action`, the way IAM matches it."""
    return fnmatch.fnmatchcase(action.lower(), pattern.strip().lower())


@functools.cache
def _covered(pattern: str, namespace: str) -> tuple[str, ...]:
    """The catalogued actions of one service that a pattern covers."""
    return tuple(sorted(a for a in catalog.actions_matching(pattern) if a.split(":")[0] == namespace))


def _removable_actions(statement: Statement, fates: Mapping[str, _Fate]) -> tuple[str, ...]:
    """The actions of kept services that the statement grants and no holder used."""
    found: dict[str, str] = {}
    for namespace, fate in fates.items():
        if fate.removable or not fate.unused_actions:
            continue
        for pattern in statement.actions:
            for action in _covered(pattern, namespace):
                if action.lower() in fate.unused_actions:
                    found.setdefault(action.lower(), action)
            for action in fate.unused_actions:
                if _covers(pattern, action):
                    found.setdefault(action, action)
    return tuple(sorted(found.values(), key=str.lower))


def _rewrites(
    actions: tuple[str, ...], fates: Mapping[str, _Fate], level: Level, notes: list[str]
) -> tuple[tuple[str, ...] | None, ...] | None:
    """What replaces each action, duplicates of kept actions left out; None when nothing changes."""
    narrowed = [_narrow(pattern, fates, level, notes) for pattern in actions]
    if all(new is None for new in narrowed):
        return None
    seen = {a.lower() for a, new in zip(actions, narrowed, strict=True) if new is None}
    rewrites: list[tuple[str, ...] | None] = []
    for new in narrowed:
        if new is None:
            rewrites.append(None)
            continue
        fresh = tuple(value for value in dict.fromkeys(new) if value.lower() not in seen)
        seen.update(value.lower() for value in fresh)
        rewrites.append(fresh)
    return tuple(rewrites)


def _narrow(
    pattern: str, fates: Mapping[str, _Fate], level: Level, notes: list[str]
) -> tuple[str, ...] | None:
    """One action pattern without what is removable; None when it stays as written."""
    services = sorted(catalog.services_for_actions((pattern,)))
    if not services or any(namespace not in fates for namespace in services):
        return None
    kept = [namespace for namespace in services if not fates[namespace].removable]
    if not kept:
        return ()
    if len(services) > 1 and not all(fates[namespace].known for namespace in services):
        if len(kept) < len(services):
            notes.append(f"{pattern} covers services with no usage data: not narrowed")
        return None
    expanded: dict[str, tuple[str, ...] | None] = dict.fromkeys(kept)
    if level == "action":
        expanded = {namespace: _expand(pattern, namespace, fates[namespace], notes) for namespace in kept}
    if len(kept) == len(services) and all(new is None for new in expanded.values()):
        return None
    action_part = pattern.partition(":")[2] or "*"
    result: list[str] = []
    for namespace, new in expanded.items():
        if new is not None:
            result.extend(new)
        else:
            result.append(pattern if len(services) == 1 else f"{namespace}:{action_part}")
    return tuple(result)


def _expand(pattern: str, namespace: str, fate: _Fate, notes: list[str]) -> tuple[str, ...] | None:
    """The actions a pattern covers in one service minus those no holder used, or None
    when it covers none of those."""
    covered = _covered(pattern, namespace)
    if not fate.unused_actions or not any(a.lower() in fate.unused_actions for a in covered):
        return None
    kept = tuple(a for a in covered if a.lower() not in fate.unused_actions)
    untracked = sum(1 for a in kept if a.lower() not in fate.tracked)
    if untracked:
        notes.append(
            f"{pattern}: {len(kept) - untracked} used actions kept, and {untracked} that IAM does not "
            "track (their use is unknown)"
        )
    return kept


# ---------------------------------------------------------------------------
# Edits: the statements as written, rewritten
# ---------------------------------------------------------------------------


def statement_key(statement: Statement) -> StatementKey:
    return (statement.location, statement.actions, statement.not_actions)


_GrantKey = tuple[Location, str | None, tuple[Statement, ...]]


def judge_policies(
    run: RunResult, judged: Mapping[StatementKey, StatementSuggestion]
) -> list[tuple[PolicySuggestion, tuple[StatementKey, ...]]]:
    """The verdict on each policy as a whole, where there is one to give, with the keys of
    the statements it covers.

    What is written at one place (a resource, a block, a list entry) is removed only when
    every grant written there goes whole: several module instances, or a group and its
    members, reach one place. An inline policy goes whole only when no other policy or
    attachment shares its statements; a policy the code does not define, when nothing in it
    is used. Such a policy with something unused that cannot go gets a note instead."""
    grants: dict[_GrantKey, Grant] = {}
    holders: dict[_GrantKey, dict[str, None]] = {}
    held_in: dict[StatementKey, set[_GrantKey]] = {}
    for result in run.principals:
        for grant in result.principal.grants or ():
            key = (grant.location, grant.policy_arn, grant.statements)
            grants[key] = grant
            holders.setdefault(key, {})[result.principal.address] = None
            for statement in grant.statements:
                held_in.setdefault(statement_key(statement), set()).add(key)

    def allowed(key: _GrantKey) -> tuple[StatementKey, ...]:
        keys = (statement_key(s) for s in grants[key].statements if s.effect == "Allow")
        return tuple(k for k in keys if k in judged)

    def goes_whole(key: _GrantKey) -> bool:
        grant, keys = grants[key], allowed(key)
        if grant.policy_reference is not None:
            return False  # defined in each account, not here: named in a note (`_referenced`)
        own = grant.policy_arn is not None or all(held_in[k] == {key} for k in keys)
        return grant.known and bool(keys) and own and _every_statement_goes(grant, keys, judged)

    at: dict[Location, list[_GrantKey]] = {}
    for key in grants:
        at.setdefault(key[0], []).append(key)
    found = []
    for location, keys_here in at.items():
        if all(goes_whole(key) for key in keys_here):
            keys = tuple(dict.fromkeys(k for key in keys_here for k in allowed(key)))
            arns = {grants[key].policy_arn for key in keys_here}
            found.append((PolicySuggestion(
                location,
                tuple(sorted({address for key in keys_here for address in holders[key]})),
                "unused",
                arns.pop() if len(arns) == 1 else None,
                tuple(sorted({namespace for k in keys for namespace in judged[k].removable_services})),
            ), keys))
            continue
        for key in keys_here:
            if grants[key].policy_reference is not None:
                found.extend(_referenced(grants[key], tuple(sorted(holders[key])), allowed(key), judged))
            elif grants[key].policy_arn is not None:
                found.extend(_not_removed(grants[key], tuple(sorted(holders[key])), allowed(key), judged))
    return sorted(found, key=lambda item: (item[0].location.file, item[0].location.line or 0))


def _every_statement_goes(
    grant: Grant, keys: tuple[StatementKey, ...], judged: Mapping[StatementKey, StatementSuggestion]
) -> bool:
    """Every statement of the grant is an Allow statement that the suggestions delete."""
    return len(keys) == len(grant.statements) and all(judged[k].deletes for k in keys)


def _not_removed(
    grant: Grant,
    principals: tuple[str, ...],
    keys: tuple[StatementKey, ...],
    judged: Mapping[StatementKey, StatementSuggestion],
) -> list[tuple[PolicySuggestion, tuple[StatementKey, ...]]]:
    """A policy the code does not define, with something unused, that is not removed."""
    allows = [judged[k] for k in keys]
    if not grant.known or not any(s.rewrites is not None for s in allows):
        return []
    removable = tuple(sorted({namespace for s in allows for namespace in s.removable_services}))
    base = PolicySuggestion(grant.location, principals, "unused", grant.policy_arn, removable)
    if _every_statement_goes(grant, keys, judged):
        return [(replace(base, notes=(_SHARED_PLACE,)), keys)]
    granted = {namespace for s in grant.statements for namespace in statement_services(s)}
    kept = tuple(sorted(granted - set(removable)))
    note = (
        f"{grant.policy_arn} is not defined in the code, so it is not edited: to drop what is "
        f"unused, attach a policy of your own instead, granting only {', '.join(kept)}"
    )
    return [(replace(base, verdict="partly-unused", kept_services=kept, notes=(note,)), keys)]


def _referenced(
    grant: Grant,
    principals: tuple[str, ...],
    keys: tuple[StatementKey, ...],
    judged: Mapping[StatementKey, StatementSuggestion],
) -> list[tuple[PolicySuggestion, tuple[StatementKey, ...]]]:
    """A customer managed policy a permission set refers to by name, with something
    unused: the policy is in each assigned account, not in the code, so it is named in a
    note with what to take out of it, and never edited."""
    allows = [judged[k] for k in keys]
    reference = grant.policy_reference
    if reference is None or not grant.known or not any(s.rewrites is not None for s in allows):
        return []
    removable = tuple(sorted({namespace for s in allows for namespace in s.removable_services}))
    actions = tuple(sorted({action for s in allows for action in s.removable_actions}, key=str.lower))
    granted = {namespace for s in grant.statements for namespace in statement_services(s)}
    kept = tuple(sorted(granted - set(removable)))
    unused = ", ".join(removable or actions)
    note = (
        f"the customer managed policy {reference.path}{reference.name} is referred to by name and defined "
        f"in each assigned account, not in this code, so it is not edited: remove {unused} from it there"
        + (f", keeping {', '.join(kept)}" if kept else ", or stop attaching it")
    )
    verdict: Verdict = "unused" if _every_statement_goes(grant, keys, judged) else "partly-unused"
    suggestion = PolicySuggestion(grant.location, principals, verdict, None, removable, kept, notes=(note,),
                                  policy_reference=reference)
    return [(suggestion, keys)]


_SHARED_PLACE = (
    "not edited: what is written at this line also attaches a policy that is used (another entry "
    "on the same line, another module instance, or another principal)"
)
