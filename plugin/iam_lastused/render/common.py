"""What several formats say alike: how long ago something was used, and a file's place
as a URI reference."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from iam_lastused.render.escape import uri_bytes


def days_ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return ""
    days = (now - when).days
    return "today" if days <= 0 else f"{days} day{'s' if days != 1 else ''} ago"


def artifact_uri(path: str) -> str:
    """A file path as given, as a relative URI reference: forward slashes, percent-encoded."""
    return quote(uri_bytes(path.replace("\\", "/").removeprefix("./")), safe="/")
