"""Making untrusted strings (names from IaC, text from AWS) safe to print."""

from __future__ import annotations

import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def terminal_safe(text: str) -> str:
    """Control and format characters (escape sequences, bidi overrides) shown as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_safe(text: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) with each lone surrogate,
    which cannot be written as UTF-8, as its `\\u` escape. Such strings come from file
    names that are not UTF-8 (Python decodes their bytes to surrogates) and from JSON
    input; outside strings JSON has none, so the text reads back the same."""
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def uri_bytes(path: str) -> bytes:
    """A path's bytes, for percent-encoding: a file name's undecodable bytes as they
    were, any other lone surrogate backslash-escaped."""
    try:
        return path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return path.encode("utf-8", "backslashreplace")
