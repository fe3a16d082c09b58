"""IAM policy documents read into statements, each with the line it was written on.

One parser for every place a policy comes from: Terraform (JSON text, `jsonencode`),
CloudFormation and SAM templates, and the AWS managed policies read from IAM. A
source that cannot know part of a string writes `UNKNOWN_PART` there; an action
holding it is left out and the document is marked not fully known.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]  # not in typeshed
from typing import Any

from iam_lastused.model import InputError, Location, Statement

UNKNOWN_PART = "${?}"

Locate = Callable[[int, Any], Location]
"""Where statement `index` (the raw statement given too) was written."""


@dataclass(frozen=True)
class PolicyDoc:
    """A policy document's statements, each with its Sid (for source/override merging)."""

    statements: tuple[tuple[str | None, Statement], ...] = ()
    known: bool = True


def from_document(document: Any, locate: Locate) -> PolicyDoc:
    """The statements of a parsed policy document (a mapping with `Statement`)."""
    if not isinstance(document, dict):
        return PolicyDoc(known=False)
    raw = document.get("Statement", [])
    raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list):
        return PolicyDoc(known=False)
    known, statements = True, []
    for index, item in enumerate(raw):
        effect = item.get("Effect", "Allow") if isinstance(item, dict) else None
        if not isinstance(effect, str) or UNKNOWN_PART in effect:
            known = False
            continue
        actions, actions_known = strings(item.get("Action"))
        not_actions, not_actions_known = strings(item.get("NotAction"))
        known = known and actions_known and not_actions_known
        sid = item.get("Sid")
        resources, resources_known = strings(item.get("Resource"))
        statement = Statement(
            locate(index, item), effect, actions, not_actions, resources if resources_known else None
        )
        statements.append((sid if isinstance(sid, str) else None, statement))
    return PolicyDoc(tuple(statements), known)


def from_json(
    text: str,
    location: Location,
    report: Callable[[InputError], None],
    origin: Location | None = None,
    partial: bool = False,
) -> PolicyDoc:
    """The statements of a policy written as JSON text. `origin` is where the text
    itself starts (a heredoc, a file), so each statement gets its own line; otherwise
    every statement is at `location`. Invalid JSON is reported, unless the text is
    `partial` (parts of it unknown), where it is only not known."""
    try:
        document = json.loads(text)
    except RecursionError:  # json.loads nests as deep as the text; the stack does not
        where = origin or location
        report(InputError("invalid policy JSON: nested too deeply", where.file, where.line))
        return PolicyDoc(known=False)
    except json.JSONDecodeError as exc:
        if not partial:
            where = location if origin is None or origin.line is None else origin
            line = where.line if where is location else where.line + exc.lineno - 1  # type: ignore[operator]
            report(InputError(f"invalid policy JSON: {exc.msg}", where.file, line))
        return PolicyDoc(known=False)
    if origin is None or origin.line is None:
        return from_document(document, lambda index, statement: location)
    file, first, offsets = origin.file, origin.line, _statement_offsets(text)

    def locate(index: int, statement: Any) -> Location:
        return Location(file, first + (offsets[index] if index < len(offsets) else 0))

    return from_document(document, locate)


def strings(value: Any) -> tuple[tuple[str, ...], bool]:
    """The strings of an Action, NotAction or Resource value, and whether all were readable."""
    if value is None:
        return (), True
    items = value if isinstance(value, list) else [value]
    found = tuple(item for item in items if isinstance(item, str) and UNKNOWN_PART not in item)
    return found, len(found) == len(items)


def _skip_space(source: str, position: int) -> int:
    while position < len(source) and source[position] in " \t\r\n":
        position += 1
    return position


_DECODER = json.JSONDecoder()


def _statement_offsets(source: str) -> list[int]:
    """How many lines into `source` each statement starts. json.loads keeps no
    positions, so this walks the (already validated) top-level object by hand."""
    position = _skip_space(source, 0)
    if source[position : position + 1] != "{":
        return []
    position = _skip_space(source, position + 1)
    while source[position : position + 1] == '"':
        key, position = scanstring(source, position + 1)
        position = _skip_space(source, _skip_space(source, position) + 1)
        if key == "Statement":
            return _element_offsets(source, position)
        _, position = _DECODER.raw_decode(source, position)
        position = _skip_space(source, position)
        if source[position : position + 1] == ",":
            position = _skip_space(source, position + 1)
    return []


def _element_offsets(source: str, position: int) -> list[int]:
    if source[position] != "[":
        return [source.count("\n", 0, position)]
    offsets = []
    position = _skip_space(source, position + 1)
    while position < len(source) and source[position] != "]":
        offsets.append(source.count("\n", 0, position))
        _, position = _DECODER.raw_decode(source, position)
        position = _skip_space(source, position)
        if source[position : position + 1] == ",":
            position = _skip_space(source, position + 1)
    return offsets
