"""The one way the tool writes a file: whole or not at all."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomically(path: os.PathLike[str] | str, content: str | bytes, mode: int = 0o666) -> None:
    """Write `content` (text is written as UTF-8) to `path` whole or not at all, with
    the permissions a new file gets. The temporary file beside it is created with `mode`
    (0o666: a report, for others to read as any new file) and so takes the umask, as
    the file would; 0o600 for what only the user may read."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
