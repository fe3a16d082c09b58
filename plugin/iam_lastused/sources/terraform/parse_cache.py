"""Each Terraform file's parse, kept by its content: a second read of the same text skips
python-hcl2. Entries hold the typed blocks of `syntax` as msgspec encodes them, and the
key they were stored under (an entry of another format or key is a miss).
"""

from __future__ import annotations

from typing import Any

import msgspec

from iam_lastused.sources.terraform.syntax import Block
from iam_lastused.store import cache

NAMESPACE = "terraform-parse"


class _Entry(msgspec.Struct, frozen=True):
    """One file's parse: its blocks, or why it was not read."""

    key: str
    blocks: list[Block] | None = None
    error: str | None = None
    line: int | None = None


def load(key: str) -> dict[str, Any] | None:
    """The parse kept under `key` (`{"blocks": [...]}` or `{"error": ..., "line": ...}`)."""
    data = cache.load_bytes(NAMESPACE, key)
    if data is None:
        return None
    try:
        entry = msgspec.json.decode(data, type=_Entry)
    except (msgspec.DecodeError, RecursionError):  # another format, or damaged: a miss
        return None
    if entry.key != key:
        return None
    if entry.blocks is not None:
        return {"blocks": entry.blocks}
    return {"error": entry.error, "line": entry.line}


def store(key: str, parsed: dict[str, Any]) -> None:
    """Keep a file's parse under `key` (not one nested too deeply to encode)."""
    entry = _Entry(key, parsed.get("blocks"), parsed.get("error"), parsed.get("line"))
    try:
        data = msgspec.json.encode(entry)
    except RecursionError:
        return
    cache.store_bytes(NAMESPACE, key, data)
