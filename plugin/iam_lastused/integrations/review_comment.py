"""One comment kept current on a code review: a GitHub pull request's comment or a
GitLab merge request's note. What the two share lives here: the modes, which earlier
comment is ours (it carries the Markdown report's marker AND the token's own account
wrote it: anyone can write a comment that starts with the marker), and the command
line of the module that posts it. Each forge gives a `Thread` of its own.

Modes:

- `update` (default): edit our newest comment, or create one when there is none,
- `new`: always create a comment,
- `delete-and-new`: delete all of ours, then create one (so it is the newest),
- `off`: do nothing.

When the token's account cannot be learned, nothing is edited or deleted: `update`
posts a new comment, `delete-and-new` deletes none.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from iam_lastused.render.markdown import MARKER

MODES = ("update", "new", "delete-and-new", "off")
EXIT_OK, EXIT_USAGE = 0, 2

C = TypeVar("C")


class Thread(Protocol[C]):
    """The comments of one review, on one forge."""

    def comments(self) -> Sequence[C]:
        """Every comment, oldest first."""
        ...

    def body(self, comment: C) -> str: ...

    def written_by_token(self, comments: Sequence[C]) -> list[C] | None:
        """Those of `comments` the token's own account wrote, or None when that account
        cannot be learned."""
        ...

    def create(self, body: str) -> None: ...

    def edit(self, comment: C, body: str) -> None: ...

    def delete(self, comment: C) -> None: ...


def publish(thread: Thread[C], body: str, mode: str, no_account: str) -> str:
    """Post `body` by `mode`: "created", "updated", "deleted-and-created" or "skipped".
    `no_account` is said when the token's account cannot be learned."""
    if mode not in MODES:
        raise ValueError(f"unknown comment mode {mode!r}: use one of {', '.join(MODES)}")
    if mode == "off":
        return "skipped"
    if mode == "new":
        thread.create(body)
        return "created"
    marked = [comment for comment in thread.comments() if thread.body(comment).startswith(MARKER)]
    ours = thread.written_by_token(marked) if marked else []
    if ours is None:
        print(no_account)
        ours = []
    if mode == "update" and ours:
        thread.edit(ours[-1], body)
        return "updated"
    for comment in ours:
        thread.delete(comment)
    thread.create(body)
    return "deleted-and-created" if ours else "created"


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The posting module's command line: `python -I -m PROG REPORT.md --mode MODE`."""
    result = argparse.ArgumentParser(prog=prog, description=description)
    result.add_argument("report", type=Path, help="the Markdown report (--format markdown)")
    result.add_argument("--mode", choices=MODES, default="update", help="default update")
    return result


def error(message: str) -> int:
    print(f"iam-lastused: error: {message}", file=sys.stderr)
    return EXIT_USAGE
