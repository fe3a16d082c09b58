"""What a template's nodes say of where they are, as cfn-lint's decoder gives them, for
the template reader and SAM's translation alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iam_lastused.sources.cloudformation.values import Unknown


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
