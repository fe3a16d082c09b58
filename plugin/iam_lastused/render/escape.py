"""Making untrusted strings (names from IaC, text from AWS) safe to print: one way per
kind of format, which every renderer of that kind uses. Text (text, lint, the terminal's
messages): `terminal_safe`; JSON (json, sarif, gitlab): `json_safe` over the document;
XML (junit): `xml_document_safe` over the document. After each, no line can start a
CI system's log command (GitHub's `::name::`, `##[group]`; Azure's `##vso[`), whatever
the code, file names or AWS said; the data reads back the same from JSON and XML.
"""

from __future__ import annotations

import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_LOG_COMMAND = re.compile(r"#(?=#(?:vso)?\[)")
"""The first `#` of `##[` and `##vso[`, which CI runners read as a command anywhere in a line."""
_COMMAND_LINE = re.compile(r"^([ \t]*):(?=:)", re.MULTILINE)
"""The first `:` of a line starting `::`, a GitHub workflow command."""


def terminal_safe(text: str) -> str:
    """Control and format characters (escape sequences, bidi overrides, line breaks) shown
    as escapes, and no log command: `##[` shown as `#\\x23[`, a leading `::` as `\\x3a:`."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
    if "#" in text:
        text = _LOG_COMMAND.sub(r"\\x23", text)
    return _COMMAND_LINE.sub(r"\1\\x3a", text) if ":" in text else text


def xml_document_safe(document: str) -> str:
    """An XML document with no log command in any line: the `#` of `##[` and the first
    `:` of a line starting `::` as character references, which read back the same (no
    line of markup starts with `:` or holds `##`)."""
    return _COMMAND_LINE.sub(r"\1&#58;", _LOG_COMMAND.sub("&#35;", document))


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_safe(text: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) with each lone surrogate,
    which cannot be written as UTF-8, as its `\\u` escape. Such strings come from file
    names that are not UTF-8 (Python decodes their bytes to surrogates) and from JSON
    input; outside strings JSON has none, so the text reads back the same. So does the
    `#` of a log command (`##[`), written `\\u0023`; JSON's line breaks are escapes already."""
    text = _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return _LOG_COMMAND.sub(r"\\u0023", text) if "#" in text else text


def uri_bytes(path: str) -> bytes:
    """A path's bytes, for percent-encoding: a file name's undecodable bytes as they
    were, any other lone surrogate backslash-escaped."""
    try:
        return path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return path.encode("utf-8", "backslashreplace")
