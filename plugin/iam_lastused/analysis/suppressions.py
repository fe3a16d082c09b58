"""Suppressions: findings a user has accepted, with a reason.

In code, a comment on the line of a resource or statement, or on the line just
above it: `# iam-lastused:ignore=dynamodb,sqs reason` (`//` works in HCL too; `*`
for every service). In CloudFormation, also the resource's Metadata:
`iam-lastused: {ignore: [dynamodb], reason: ...}` (read by that source). In the
config file, `[[suppress]]` with `principal` (an address or ARN; shell wildcards
allowed), `services` and `reason`. Comments are lexical, so they are found in
the file's lines rather than in the parse, as linters find `noqa`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from iam_lastused.files import MAX_SOURCE_BYTES, ReadRefused, read_bytes
from iam_lastused.model import Location, Principal, SourceResult, Suppression

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


def _at(location: Location, read: Callable[[str], Sequence[str]]) -> list[Suppression]:
    if location.line is None:
        return []
    lines = read(location.file)
    found = []
    for line_number in (location.line, location.line - 1):
        if 1 <= line_number <= len(lines):
            directive = parse_directive(lines[line_number - 1], Location(location.file, line_number))
            if directive:
                found.append(directive)
    return found


def _locations(principal: Principal) -> Iterable[Location]:
    if principal.location:
        yield principal.location
    for grant in principal.grants or ():
        yield grant.location
        for statement in grant.statements:
            yield statement.location


def in_code(principal: Principal, read: Callable[[str], Sequence[str]] = _lines) -> tuple[Suppression, ...]:
    """The directives on or above the principal's resource, its grants and their statements."""
    found = [s for location in _locations(principal) for s in _at(location, read)]
    return tuple(dict.fromkeys([*principal.suppressions, *found]))


def from_config(principal: Principal, entries: Sequence[Mapping[str, Any]]) -> tuple[Suppression, ...]:
    return tuple(
        Suppression(tuple(str(s).lower() for s in entry["services"]), str(entry.get("reason") or "in config"))
        for entry in entries
        if any(
            fnmatch.fnmatchcase(name, str(entry["principal"]))
            for name in (principal.address, principal.arn or "")
        )
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


def with_suppressions(found: SourceResult, config_entries: Sequence[Mapping[str, Any]]) -> SourceResult:
    read = cache(_lines)  # each file once per run: paths may be relative to this run's directory
    principals = tuple(
        replace(p, suppressions=tuple(dict.fromkeys([*in_code(p, read), *from_config(p, config_entries)])))
        for p in found.principals
    )
    notes = [note for p in found.principals for note in _malformed(p, read)]
    return replace(found, principals=principals, notes=tuple(dict.fromkeys([*found.notes, *notes])))
