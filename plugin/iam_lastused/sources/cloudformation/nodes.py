"""What a template's nodes say of where they are, as cfn-lint's decoder gives them, and
what the tools reading a template say of it, on one line: for the template reader and
SAM's translation alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iam_lastused.sources.unknown import Unknown


def line(node: Any) -> int | None:
    """The line a node starts at (an Unknown keeps the line of what it stands for)."""
    if isinstance(node, Unknown):
        return node.line
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def end_line(node: Any) -> int | None:
    mark = getattr(node, "end_mark", None)
    return mark.line + 1 if mark is not None else None


def key_line(mapping: Mapping[str, Any], key: str) -> int | None:
    """The line of `key` in `mapping` (the key node's own)."""
    return next((line(candidate) for candidate in mapping if candidate == key), None)


def mapping(value: Any) -> Mapping[str, Any]:
    """The value where it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def short(message: str) -> str:
    """A tool's message (cfn-lint's decoder or transform, SAM's translator) on one line
    and short: YAML's and JSON's quote the template's text on the lines after the first."""
    lines = message.strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    return first[:200] + ("..." if len(first) > 200 else "")  # each format escapes it
