"""A small on-disk cache of JSON entries in the user's cache directory.

Entries are written atomically (temporary file, then rename), so a reader sees
a whole entry or none. Anything unreadable is treated as a miss, and a cache
directory that cannot be written only costs the speed-up: the cache is never a
reason for a run to fail. Each namespace is kept under `MAX_NAMESPACE_BYTES`: past it,
the entries used longest ago go (a read touches an entry).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import platformdirs

from iam_lastused.store.atomic import write_atomically

MAX_NAMESPACE_BYTES = 256 * 1024 * 1024
_PRUNE_EVERY = 200  # writes between two looks at a namespace's size
_writes: dict[str, int] = {}


def cache_dir() -> Path:
    override = os.environ.get("IAM_LASTUSED_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("iam-lastused"))


def _entry_path(namespace: str, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()
    return cache_dir() / namespace / f"{digest}.json"


def load(namespace: str, key: str, max_age_seconds: float | None = None) -> Any | None:
    """The value stored under `key`, or None if absent, expired or unreadable."""
    data = load_bytes(namespace, key, max_age_seconds)
    try:
        entry = json.loads(data) if data is not None else None
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    return entry.get("value")


def load_bytes(namespace: str, key: str, max_age_seconds: float | None = None) -> bytes | None:
    """The bytes stored under `key` (by `store_bytes`; whether they are the entry of
    that key is the caller's to check), or None if absent or expired."""
    path = _entry_path(namespace, key)
    try:
        status = path.stat()
        if max_age_seconds is not None and time.time() - status.st_mtime > max_age_seconds:
            return None
        data = path.read_bytes()
        os.utime(path, (time.time(), status.st_mtime))  # used now; its age stays its write's
    except OSError:
        return None
    return data


def store(namespace: str, key: str, value: Any) -> bool:
    """Store `value` under `key`; False if the cache could not be written."""
    try:
        # json.dumps, unlike json.dump, encodes in C: a large entry costs a fraction.
        text = json.dumps({"key": key, "value": value}, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):  # not JSON, or nested too deeply for it
        return False
    return store_bytes(namespace, key, text.encode("utf-8"))


def store_bytes(namespace: str, key: str, data: bytes) -> bool:
    """Store `data` under `key`; False if the cache could not be written."""
    path = _entry_path(namespace, key)
    try:
        _private_directory(path.parent)
        write_atomically(path, data, mode=0o600)
    except OSError:
        return False
    _writes[namespace] = _writes.get(namespace, 0) + 1
    if _writes[namespace] % _PRUNE_EVERY == 1:
        prune(namespace)
    return True


def _private_directory(directory: Path) -> None:
    """`directory` (a namespace's) made, or kept, 0700; the cache directory above it is
    made 0700 when this makes it."""
    if not directory.parent.is_dir():
        directory.parent.mkdir(mode=0o700, parents=True)
    directory.mkdir(mode=0o700, exist_ok=True)
    if stat.S_IMODE(directory.stat().st_mode) != 0o700:
        directory.chmod(0o700)  # made by an earlier version, with the umask's mode


def prune(namespace: str, max_bytes: int = MAX_NAMESPACE_BYTES) -> None:
    """Remove the entries used longest ago until the namespace holds at most `max_bytes`."""
    try:
        entries = [(entry.stat(), entry) for entry in (cache_dir() / namespace).glob("*.json")]
    except OSError:
        return
    total = sum(status.st_size for status, _ in entries)
    for status, entry in sorted(entries, key=lambda item: item[0].st_atime):
        if total <= max_bytes:
            return
        entry.unlink(missing_ok=True)
        total -= status.st_size
