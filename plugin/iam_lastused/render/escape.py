"""Making untrusted strings (names from IaC, text from AWS) safe to print."""

from __future__ import annotations


def terminal_safe(text: str) -> str:
    """Control and format characters (escape sequences, bidi overrides) shown as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
