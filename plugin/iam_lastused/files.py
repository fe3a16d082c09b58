"""The read boundary: how every file that the scanned code (or its config) names is read.

The code comes from pull requests, and the job reading it holds AWS credentials and
a token. So a file named by the code (`file()`, `templatefile()`, a module `source`,
a link met while walking) is read only when its real path lies inside the *root* (the
git work tree holding the scanned path, else the current directory, or `--root`), and
only when it is a regular file: never a device, a FIFO or anything under `/proc`.
A refusal says which path, as written, and why; never what the file holds.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from pathspec import GitIgnoreSpec

from iam_lastused.model import InputError
from iam_lastused.render.escape import terminal_safe

OUTSIDE_ROOT = "outside the repository root"
MAX_SOURCE_BYTES = 4 * 1024 * 1024
"""The largest file of code any source reads."""
NOT_REGULAR = "not a regular file"
IN_GIT = "inside .git/, which holds the repository's settings and credentials"
_EXCERPT_CHARS = 40


class ReadRefused(Exception):
    """A file was not read: `reason` says why, in words that hold nothing of its content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooBig(ReadRefused):
    pass


def real_path(path: Path) -> Path | None:
    """The real path, or None where there is none: symlinks loop, or the name has a NUL."""
    try:
        return Path(os.path.realpath(path, strict=False))
    except (OSError, ValueError):
        return None


def git_work_tree(path: Path) -> Path | None:
    """The work tree holding `path` as it is written (links in it not followed, so a
    link in the checkout cannot choose another tree): the nearest directory with a
    `.git` entry. Found by looking, not by running git, which would read the
    repository's own config."""
    lexical = Path(os.path.abspath(path))
    for directory in (lexical, *lexical.parents):
        if os.path.lexists(directory / ".git"):
            return directory
    return None


@dataclass(frozen=True)
class Root:
    """Where files named by the code may be read from: real directories."""

    directories: tuple[Path, ...]

    def contains(self, path: Path) -> bool:
        real = real_path(path)
        return real is not None and any(real == d or d in real.parents for d in self.directories)

    def in_git_directory(self, path: Path) -> bool:
        """Whether `path` is, once links are followed, inside a `.git` directory of the
        root (where actions/checkout keeps the job's token, say): no code is there."""
        real = real_path(path)
        return real is not None and any(
            ".git" in real.relative_to(d).parts for d in self.directories if d in real.parents
        )


def root_for(paths: Iterable[Path], explicit: Path | None = None, cwd: Path | None = None) -> Root:
    """The root for a run over `paths`: `explicit` (`--root`) if given; else, for each
    path as written, the git work tree holding it, else the current directory when it
    holds the path, else the path's own directory. Worked out from the path as written:
    a scanned path that is a link (`infra -> ..`) does not move the root; it is outside
    it (`outside_root`)."""
    if explicit is not None:
        real = real_path(explicit)
        return Root((real,) if real is not None else ())
    here = Path(os.path.abspath(cwd or Path.cwd()))
    directories: list[Path] = []
    for path in paths:
        lexical = Path(os.path.abspath(path))
        found = git_work_tree(lexical)
        if found is None and (lexical == here or here in lexical.parents):
            found = here
        if found is None:
            found = lexical if os.path.isdir(lexical) and not os.path.islink(lexical) else lexical.parent
        if (real := real_path(found)) is not None:
            directories.append(real)
    if not directories and (real := real_path(here)) is not None:
        directories.append(real)
    return Root(tuple(dict.fromkeys(directories)))


def outside_root(paths: Iterable[Path], root: Root) -> list[InputError]:
    """An error for each path the user names that is, once its links are followed,
    outside the root: such a path (a link in the checkout) is not read."""
    return [
        InputError(f"not read: {OUTSIDE_ROOT} (a link to outside it)", str(path))
        for path in paths
        if path.exists() and not root.contains(path)
    ]


def read_bytes(path: Path, limit: int, root: Root | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, inside `root` when one is
    given. Raises ReadRefused (or OSError, for a file that cannot be opened at all)."""
    if root is not None and not root.contains(path):
        raise ReadRefused(OUTSIDE_ROOT)
    if root is not None and root.in_git_directory(path):
        raise ReadRefused(IN_GIT)
    real = real_path(path)
    if real is not None and real.parts[1:2] in (("proc",), ("sys",), ("dev",)):
        raise ReadRefused(NOT_REGULAR)  # /proc's files say they are regular; none is code
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise ReadRefused(NOT_REGULAR)
        if status.st_size > limit:
            raise TooBig(f"{status.st_size:,} bytes is over the limit of {limit:,}")
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise TooBig(f"over the limit of {limit:,} bytes")
    return data


def refusal(exc: OSError | ReadRefused | UnicodeDecodeError) -> str:
    """Why a read failed, in words that hold nothing of the file's content."""
    if isinstance(exc, ReadRefused):
        return exc.reason
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return exc.strerror or type(exc).__name__


DEFAULT_EXCLUDE = (".terraform/", ".git/", "node_modules/")
"""What every walk leaves out; the user's `--exclude` globs add to these."""
HIDDEN_DIRECTORIES = ".*/"
"""The Terraform walk leaves out every hidden directory (`.terraform`, `.github`, ...)."""


@functools.lru_cache(maxsize=256)
def _spec(globs: tuple[str, ...]) -> GitIgnoreSpec:
    """The globs as gitignore reads them (pre-commit's and tflint's users write them so):
    one without a `/` but at its end (`node_modules/`, `*_test.tf`) matches a name at any
    depth, one with a `/` (or a leading `/`) the path from the directory walked; a
    trailing `/` matches directories only (and so all below them); `**` any number of
    directories (`examples/**`: all inside `examples`); `*`, `?` and `[...]` within one
    name, case-sensitively; `!GLOB` takes back what an earlier one left out.

    On RE2, whose matching is linear in the path: the globs may come from the config file,
    that is from a pull request, as does the tree walked, and pathspec's default regular
    expressions backtrack (`**/a/**/a/**/b` over a path 2,000 directories deep takes about
    a minute; bench/exclude_globs.py prints the figures)."""
    return GitIgnoreSpec.from_lines(globs, backend="re2")


def excluded(relative: PurePath, exclude: Sequence[str], directory: bool = False) -> bool:
    """Whether a path, relative to the directory walked, matches one of the `exclude` globs."""
    if not relative.parts:
        return False
    # a name's undecodable bytes (os.fsdecode's surrogates) as U+FFFD: RE2 takes UTF-8 only
    path = relative.as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _spec(tuple(exclude)).match_file(path + ("/" if directory else ""))


def walk(directory: Path, exclude: Sequence[str]) -> Iterator[tuple[Path, list[str], list[str]]]:
    """`os.walk` without following links to directories, sorted: each directory, with
    the links to directories it holds (for a note) and its file names. A link to a file
    is listed; whether it may be read is `read_bytes`'s to say. A directory (and all
    below it) or file matching an `exclude` glob (`excluded`) is left out; `directory`
    itself never is."""
    for current, directories, names in os.walk(directory, followlinks=False):
        base = Path(current)
        parts = base.relative_to(directory).parts
        kept = [name for name in directories if not excluded(PurePath(*parts, name), exclude, True)]
        links = sorted(name for name in kept if (base / name).is_symlink())
        directories[:] = sorted(name for name in kept if name not in links)
        yield base, links, sorted(name for name in names if not excluded(PurePath(*parts, name), exclude))


def excerpt(text: str, line: int | None, column: int | None = None) -> str:
    """At most a few characters of one line of `text` (from `column`), terminal-safe: enough
    to find the spot, too little to carry a secret out of a file."""
    if not line:
        return ""
    lines = text.splitlines()
    if line > len(lines):
        return ""
    start = max((column or 1) - 1, 0)
    piece = lines[line - 1][start:].strip()
    if not piece:
        return ""
    short = piece[:_EXCERPT_CHARS] + ("..." if len(piece) > _EXCERPT_CHARS else "")
    return terminal_safe(short)
