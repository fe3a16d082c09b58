"""Reading Terraform: the module directories under the paths given (the walk), each
file's parse (cached by its content, the others parsed at once in bounded workers),
and the files the code names (`file()`, `templatefile()`), all under the read boundary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iam_lastused.files import HIDDEN_DIRECTORIES, ReadRefused, Root, excerpt, real_path, refusal
from iam_lastused.files import read_bytes as read_file_bytes
from iam_lastused.files import walk as walk_files
from iam_lastused.model import InputError
from iam_lastused.sources.iam_resources import TERRAFORM
from iam_lastused.sources.terraform import data_sources, parse_cache
from iam_lastused.sources.terraform.hcl import Block, HclError, hcl_blocks, json_blocks
from iam_lastused.sources.terraform.values import Text, text
from iam_lastused.sources.unknown import Unknown
from iam_lastused.store import scan_memo
from iam_lastused.workers import OverBudget, map_bounded

CACHE_NAMESPACE = parse_cache.NAMESPACE
_CACHE_FORMAT = "terraform-parse/7"  # 7: typed expression nodes (syntax.py), kept by msgspec

# python-hcl2 takes seconds and hundreds of megabytes per megabyte of HCL: a bigger
# file (generated, or hostile) is reported rather than read
MAX_FILE_BYTES = 4 * 1024 * 1024

TERRAFORM_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json")
_REPLACES = {".tofu": ".tf", ".tofu.json": ".tf.json"}
"""OpenTofu's own extensions, and the Terraform file each replaces beside it."""


def is_terraform(name: str) -> bool:
    return name.endswith(TERRAFORM_SUFFIXES)


def terraform_files(directory: Path) -> list[Path]:
    """The files of a module directory, as OpenTofu loads them: `x.tofu` (`x.tofu.json`)
    in place of `x.tf` (`x.tf.json`) beside it. A directory with no `.tofu` file, as
    Terraform's own are, is read the same by both."""
    files = [path for path in sorted(directory.iterdir()) if is_terraform(path.name) and not path.is_dir()]
    replaced = {
        path.name.removesuffix(tofu) + tf
        for path in files
        for tofu, tf in _REPLACES.items()
        if path.name.endswith(tofu)
    }
    return [path for path in files if path.name not in replaced]


_KEPT_DATA = {"aws_iam_policy_document", *data_sources.KNOWN_TYPES}


def _keep_block(kind: str, labels: list[str]) -> bool:
    if kind == "resource":
        return bool(labels) and labels[0] in TERRAFORM
    if kind == "data":
        return bool(labels) and labels[0] in _KEPT_DATA
    return kind in ("variable", "locals", "module", "output")


def parse_file(name: str, data: bytes) -> dict[str, Any]:
    """The blocks of one file as plain JSON-able data, or why it cannot be read."""
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"error": "cannot parse: not UTF-8 text", "line": None}
    try:
        blocks = (
            json_blocks(source, _keep_block) if name.endswith(".json") else hcl_blocks(source, _keep_block)
        )
    except MemoryError:  # over the worker's budget: workers.map_bounded says so
        raise
    except HclError as exc:  # HCL that Terraform refuses: in its words
        return {"error": str(exc), "line": exc.line}
    except Exception as exc:  # python-hcl2 and lark raise many types; each means this file is unreadable
        message, line = describe(exc, source)
        return {"error": f"cannot parse: {message}", "line": line}
    return {"blocks": blocks}


def describe(exc: Exception, source: str) -> tuple[str, int | None]:
    """Where a parse failed, and a short excerpt of that line: never the exception's own
    text, which quotes whole tokens of the file (a string of any length, say)."""
    line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
    line = line if isinstance(line, int) and line > 0 else None
    column = getattr(exc, "column", None) or getattr(exc, "colno", None)
    column = column if isinstance(column, int) and column > 0 else None
    token = getattr(getattr(exc, "token", None), "type", None)
    if token == "$END":
        what = "unexpected end of file"
    elif token is not None:
        what = "unexpected token"
    elif getattr(exc, "char", None) is not None:
        what = "unexpected character"
    else:
        what = "invalid syntax" if line else f"invalid {'JSON' if isinstance(exc, ValueError) else 'HCL'}"
    where = f" at column {column}" if column else ""
    near = excerpt(source, line, column)
    return f"{what}{where}" + (f" near `{near}`" if near else ""), line


def _load_all(
    paths: Sequence[Path], root: Root, use_cache: bool, manifest: scan_memo.Manifest
) -> list[dict[str, Any]]:
    """Each file's parse: from the cache when its content has been parsed before, the
    others all at once in bounded workers (on every core, each file within its time
    and memory budget). A file over the budget is not cached, nor is the scan that
    read it: on a busy machine an ordinary file may run late, and the cache would
    make that last."""
    loaded: list[dict[str, Any]] = []
    misses: list[tuple[int, str, bytes, str]] = []
    for path in paths:
        manifest.saw(path)
        try:
            data = read_file_bytes(path, MAX_FILE_BYTES, root)
        except (OSError, ReadRefused) as exc:
            loaded.append({"error": f"not read: {refusal(exc)}", "line": None})
            continue
        key = f"{_CACHE_FORMAT}:{hashlib.sha256(data).hexdigest()}"
        cached = parse_cache.load(key) if use_cache else None
        loaded.append(cached if isinstance(cached, dict) else {})
        if not isinstance(cached, dict):
            misses.append((len(loaded) - 1, path.name, data, key))
    parsed = map_bounded(parse_file, [(name, data) for _, name, data, _ in misses])
    for (index, _, _, key), outcome in zip(misses, parsed, strict=True):
        if isinstance(outcome, OverBudget):
            loaded[index] = {"error": outcome.reason, "line": None}
            manifest.keepable = False
        else:
            if use_cache:
                parse_cache.store(key, outcome)
            loaded[index] = outcome
    return loaded


@dataclass
class Module:
    """A module directory as read: its real path, how the report names it, and the
    blocks of each of its files."""

    real: Path
    display: str
    files: list[tuple[str, list[Block]]]

    def blocks(self, kind: str) -> Iterator[tuple[str, Block]]:
        for file, blocks in self.files:
            for block in blocks:
                if block["type"] == kind:
                    yield file, block


class Files:
    """What a scan has read, and reads once: module directories and named files, inside
    `root`. Problems go to `error` and `note`; `manifest` records every path looked at,
    for the kept scan (store.scan_memo)."""

    def __init__(
        self, root: Root, use_cache: bool, error: Callable[[InputError], None], note: Callable[[str], None]
    ) -> None:
        self.root = root
        self.use_cache = use_cache
        self.error = error
        self.note = note
        self.manifest = scan_memo.Manifest()
        self.modules: dict[Path, Module] = {}
        self.parsed: dict[Path, dict[str, Any]] = {}
        self.texts: dict[Path, Text | Unknown] = {}

    def discover(self, paths: Sequence[Path], exclude: Sequence[str]) -> list[Path]:
        """The module directories under `paths`, loaded; each real directory is visited
        once. The walk leaves out hidden directories and what `exclude` names (globs,
        `files.walk`); a file named in `paths` is read whatever they say. They choose
        only the root modules: a module directory is read whole, as terraform reads it
        (a file glob leaves a directory out only when it leaves out all its Terraform
        files), and a module called from a root is read wherever it lies, excluded or
        not, as terraform would load it."""
        found: list[tuple[Path, str]] = []
        seen: set[Path] = set()
        for path in paths:
            self.manifest.saw(path)
            if path.is_file():
                walk: Iterator[tuple[Path, list[str], list[str]]] = iter([(path.parent, [], [path.name])])
            elif path.is_dir():
                walk = walk_files(path, (*exclude, HIDDEN_DIRECTORIES))
            else:
                self.error(InputError("no such file or directory", str(path)))
                continue
            for directory, links, names in walk:
                self.manifest.saw(directory)
                for link in links:
                    self.note(f"{directory / link}: a link to a directory; not followed")
                real = real_path(directory)
                if real is None or real in seen:
                    continue
                seen.add(real)
                if any(is_terraform(name) for name in names):
                    found.append((real, str(directory)))
        self.preload([real for real, _ in found])
        for real, display in found:
            self.module(real, display)
        return [real for real, _ in found]

    def preload(self, directories: Sequence[Path]) -> None:
        """Parse the files of every module directory in one batch."""
        for directory in directories:
            self.manifest.saw(directory)
        files = [path for directory in directories for path in terraform_files(directory)]
        missing = [path for path in files if path not in self.parsed]
        loaded = _load_all(missing, self.root, self.use_cache, self.manifest)
        self.parsed.update(zip(missing, loaded, strict=True))

    def module(self, real: Path, display: str) -> Module:
        if real not in self.modules:
            self.preload([real])  # a directory reached only through a module call
            files = []
            for path in terraform_files(real):
                file = str(Path(display) / path.name)
                parsed = self.parsed.pop(path)
                if "error" in parsed:
                    self.error(InputError(parsed["error"], file, parsed["line"]))
                files.append((file, parsed.get("blocks", [])))
            self.modules[real] = Module(real, str(Path(display)), files)
        return self.modules[real]

    def text(self, real: Path, display: str) -> Text | Unknown:
        """The text of a file the code names, read once; Unknown with why it was not."""
        if real not in self.texts:
            self.manifest.saw(real)
            try:
                data = read_file_bytes(real, MAX_FILE_BYTES, self.root).decode("utf-8")
                self.texts[real] = text(data, file=display, line=1)
            except (OSError, ReadRefused, UnicodeDecodeError) as exc:
                self.texts[real] = Unknown(refusal(exc))
            except ValueError:  # a NUL in the name
                self.texts[real] = Unknown("not a file name")
        return self.texts[real]
