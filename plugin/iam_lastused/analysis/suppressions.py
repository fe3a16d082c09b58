"""Suppressions: findings a user has accepted, with a reason.

In code, a comment on the line of a resource or statement, on the line just above
it, or on any line inside a statement: `# iam-lastused:ignore=dynamodb,sqs reason`
(`//` works in HCL too; `*` for every service). In CloudFormation, also the
resource's Metadata: `iam-lastused: {ignore: [dynamodb], reason: ...}` (read by
that source). In the config file, `[[suppress]]` with `principal` (an address or
ARN, as the report prints it), `services` and `reason`. Comments are lexical, so
they are found in the file's lines rather than in the parse, as linters find
`noqa`; a statement's extent is found as `--suggest` finds it. A comment or a config
entry that applies to nothing is said in a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from iam_lastused.files import MAX_SOURCE_BYTES, ReadRefused, read_bytes
from iam_lastused.model import Location, Principal, SourceResult, Suppression
from iam_lastused.suggest.rewrite import find_sites

_DIRECTIVE = re.compile(r"(?:#|//)\s*iam-lastused:ignore=([A-Za-z0-9*,\-]+)\s*(.*)$")


def parse_directive(line: str, location: Location | None = None) -> Suppression | None:
    match = _DIRECTIVE.search(line)
    if not match:
        return None
    services = tuple(s.strip().lower() for s in match[1].split(",") if s.strip())
    return Suppression(services, match[2].strip() or "no reason given", location)


def _lines(file: str) -> tuple[str, ...]:
    """The lines of a file a source read (regular files only: a principal's location
    is where the code was read from, never a device or a FIFO)."""
    try:
        return tuple(read_bytes(Path(file), MAX_SOURCE_BYTES).decode("utf-8", errors="replace").splitlines())
    except (OSError, ReadRefused):
        return ()


def _locations(principal: Principal) -> Iterable[Location]:
    if principal.location:
        yield principal.location
    for grant in principal.grants or ():
        yield grant.location
        for statement in grant.statements:
            yield statement.location


def _statement_extents(file: str, lines: Sequence[str]) -> list[tuple[int, int]]:
    """The first and last line of each statement written in the file."""
    text = "\n".join(lines) + "\n"
    return [
        (text.count("\n", 0, site.span.start) + 1, text.count("\n", 0, site.span.end) + 1)
        for site in find_sites(file, text)
    ]


def _directives_by_place(
    principals: Sequence[Principal], read: Callable[[str], Sequence[str]]
) -> tuple[dict[Location, list[Suppression]], list[str]]:
    """Each directive in the files the principals were read from, by the place it applies
    to (a principal's, a grant's or a statement's location), and a note for each that
    applies to none."""
    places = {location for p in principals for location in _locations(p) if location.line is not None}
    found: dict[Location, list[Suppression]] = {}
    notes: list[str] = []
    for file in sorted({location.file for location in places}):
        lines = read(file)
        directives = {
            number: directive for number, text in enumerate(lines, start=1)
            if _MENTION in text and (directive := parse_directive(text, Location(file, number)))
        }
        statements: list[tuple[int, int]] | None = None
        for number, directive in directives.items():
            targets = [Location(file, line) for line in (number, number + 1)]
            if not any(target in places for target in targets):
                statements = _statement_extents(file, lines) if statements is None else statements
                inside = [start for start, end in statements if start <= number <= end]
                targets = [Location(file, max(inside))] if inside else []  # the innermost statement
            targets = [target for target in targets if target in places]
            for target in targets:
                found.setdefault(target, []).append(directive)
            if not targets:
                notes.append(f"{file}:{number}: iam-lastused:ignore applies to nothing here: put it on or "
                             "above a resource or statement, or inside a statement")
    return found, notes


_TOKEN = re.compile(r"[A-Za-z0-9_-]+|.", re.DOTALL)
_ANY_KEY = r'(?:\[(?:"(?:[^"\\]|\\.)*"|[0-9]+)\])?'


@cache
def address_pattern(pattern: str) -> re.Pattern[str]:
    """A config `principal` as a pattern of addresses: written as the report prints them,
    brackets and quotes literal, `*` any run of characters (segments and instance keys
    alike, inside quotes too), and a name without an instance key standing for all its
    instances, as Terraform's -target does: `module.orders.*` matches
    `module.orders["eu"].aws_iam_role.x`."""
    tokens = _TOKEN.findall(pattern)
    regex = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token == "*":
            regex.append(".*")
        elif re.fullmatch(r"[A-Za-z0-9_-]+", token) and following in (".", ""):
            regex.append(re.escape(token) + _ANY_KEY)
        else:
            regex.append(re.escape(token))
    return re.compile("".join(regex), re.DOTALL)


def _matches(principal: Principal, pattern: str) -> bool:
    names = (principal.address, principal.arn)
    return any(address_pattern(pattern).fullmatch(name) for name in names if name)


def from_config(principal: Principal, entries: Sequence[Mapping[str, Any]]) -> tuple[Suppression, ...]:
    return tuple(
        Suppression(tuple(str(s).lower() for s in entry["services"]), str(entry.get("reason") or "in config"))
        for entry in entries
        if _matches(principal, str(entry["principal"]))
    )


def _malformed(principal: Principal, read: Callable[[str], Sequence[str]]) -> list[str]:
    """A note for each directive on or above the principal's lines that does not parse
    (`# iam-lastused:ignore s3`, without `=`): a suppression is never silently ignored."""
    notes = []
    for location in _locations(principal):
        if location.line is None:
            continue
        lines = read(location.file)
        for number in (location.line, location.line - 1):
            text = lines[number - 1] if 1 <= number <= len(lines) else ""
            if _MENTION in text and not parse_directive(text):
                notes.append(f"{location.file}:{number}: a suppression that does not parse: write "
                             "iam-lastused:ignore=SERVICE[,SERVICE...] followed by the reason")
    return notes


_MENTION = "iam-lastused:ignore"


def _written_at(entry: Mapping[str, Any]) -> str:
    """Where a config entry is written: `file:line`, the file alone, or `config`."""
    if "line" in entry:
        return f"{entry['file']}:{entry['line']}"
    return str(entry.get("file", "config"))


def with_suppressions(found: SourceResult, config_entries: Sequence[Mapping[str, Any]]) -> SourceResult:
    read = cache(_lines)  # each file once per run: paths may be relative to this run's directory
    by_place, unplaced = _directives_by_place(found.principals, read)
    principals = tuple(
        replace(p, suppressions=tuple(dict.fromkeys([
            *p.suppressions,
            *(directive for location in _locations(p) for directive in by_place.get(location, ())),
            *from_config(p, config_entries),
        ])))
        for p in found.principals
    )
    unmatched = [
        f"{_written_at(entry)}: the [[suppress]] entry for principal = {str(entry['principal'])!r} "
        "matches no principal"
        for entry in config_entries
        if found.principals and not any(_matches(p, str(entry["principal"])) for p in found.principals)
    ]
    notes = [note for p in found.principals for note in _malformed(p, read)]
    return replace(found, principals=principals,
                   notes=tuple(dict.fromkeys([*found.notes, *notes, *unplaced, *unmatched])))
