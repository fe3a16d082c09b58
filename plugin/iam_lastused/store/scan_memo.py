"""A whole scan's result, kept with what it was read from, so that a second scan of an
unchanged tree gives it back without parsing or evaluating anything.

What a scan looked at is its `Manifest`: every file it read and every directory it
listed, each with the status that changes when its content does (device, inode, size,
modification and change times; for a link, the link's own too). A kept result is given
back only when every entry's status is still the same, so an edit, a new file in a
module directory, a retargeted link or a file that appears where the code names one
makes the scan run again. Like git's index, a scan that read something changed within
a second of its start is not kept: a write in the same clock tick would not move the
times. Whatever else decides the result (the paths as given, the var files, variables,
`TF_VAR_*`, what is known of the account, the tool's own code) is in the key.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

from iam_lastused.model import SourceResult
from iam_lastused.store import cache

NAMESPACE = "scan-memo"
_FORMAT = "scan-memo/1"
_RACY_NS = 1_000_000_000
_LIBRARIES = ("python-hcl2", "aws-sam-translator", "botocore")

Stamp = list[int]


def _stamp(path: str) -> Stamp | None:
    """What changes when the file or directory at `path` does; None where nothing is."""
    try:
        own = os.lstat(path)
        status = os.stat(path) if stat.S_ISLNK(own.st_mode) else own
    except (OSError, ValueError):
        return None
    link = [own.st_ino, own.st_ctime_ns] if own is not status else []
    times = [status.st_mtime_ns, status.st_ctime_ns]
    return [status.st_mode, status.st_dev, status.st_ino, status.st_size, *times, *link]


@dataclass
class Manifest:
    """What one scan read: paths, each with its stamp when the scan looked."""

    entries: dict[str, Stamp | None] = field(default_factory=dict)
    keepable: bool = True
    """False once the scan read something whose status does not follow its content (a
    pipe given as a var file, say): such a scan is never kept."""

    def saw(self, path: Path | str) -> None:
        name = str(path)
        if name in self.entries:
            return
        found = self.entries[name] = _stamp(name)
        if found is not None and not (stat.S_ISREG(found[0]) or stat.S_ISDIR(found[0])):
            self.keepable = False


def key(*inputs: Any) -> str:
    """The key of a scan of these inputs (JSON-able values) by this version of the tool:
    their hash, since they hold variables' values (`TF_VAR_*`, `--var`), which may be
    secrets; the entry keeps the key, and so never the values."""
    text = json.dumps([_FORMAT, _code(), *inputs], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@functools.cache
def _code() -> list[Any]:
    """The tool's own modules and the libraries that read the code, as installed: a
    change to any of them is a change to what a scan makes."""
    package = Path(__file__).resolve().parent.parent
    modules = sorted(
        (str(path.relative_to(package)), path.stat().st_size, path.stat().st_mtime_ns)
        for path in package.rglob("*.py")
    )
    versions: list[str | None] = []
    for library in _LIBRARIES:
        try:
            versions.append(metadata.version(library))
        except metadata.PackageNotFoundError:
            versions.append(None)
    return [hashlib.sha256(json.dumps(modules).encode()).hexdigest(), versions]


class _Entry(msgspec.Struct):
    key: str
    read: dict[str, Stamp | None]
    result: SourceResult


def load(memo_key: str) -> SourceResult | None:
    """The result kept under `memo_key`, if everything it was read from is unchanged."""
    data = cache.load_bytes(NAMESPACE, memo_key)
    if data is None:
        return None
    try:
        entry = msgspec.json.decode(data, type=_Entry)
    except (msgspec.DecodeError, RecursionError):  # not an entry of this format: a miss
        return None
    if entry.key != memo_key or any(_stamp(path) != stamp for path, stamp in entry.read.items()):
        return None
    return entry.result


def keep(memo_key: str, manifest: Manifest, result: SourceResult, started_ns: int) -> None:
    """Keep `result` for the next scan, unless something it read may change unseen."""
    if not manifest.keepable:
        return
    recent = started_ns - _RACY_NS
    if any(stamp is not None and max(stamp[4], stamp[5]) >= recent for stamp in manifest.entries.values()):
        return
    try:
        data = msgspec.json.encode(_Entry(memo_key, manifest.entries, result), enc_hook=_plain)
    except RecursionError:  # a result nested too deeply to encode is not kept
        return
    cache.store_bytes(NAMESPACE, memo_key, data)


def _plain(value: Any) -> Any:
    """A string that remembers where it was written (values.Text) kept as the string."""
    if isinstance(value, str):
        return str(value)
    raise NotImplementedError(type(value).__name__)
