"""An option's argument on the command line, made from its declaration (options.py): the
one place the parser learns an option's kind, type, choices, metavar, default and help."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from iam_lastused.options import Option, declared


def argument(option: Option) -> dict[str, Any]:
    """`add_argument`'s keywords for an option."""
    if option.kind == "flag":
        return {"action": "store_true", "help": option.help}
    keywords: dict[str, Any] = {"help": option.help, "metavar": option.metavar}
    if option.kind == "repeated":
        keywords |= {"action": "append", "default": []}
    elif option.kind == "list":
        keywords["default"] = []
    elif option.kind == "optional":
        keywords |= {"nargs": "?", "const": option.const}
    if option.default is not None:
        keywords["default"] = option.default
    if option.type is not None:
        keywords["type"] = option.type
    if option.choices is not None:
        keywords["choices"] = option.choices
    if option.required:
        keywords["required"] = True
    if option.dest is not None:
        keywords["dest"] = option.dest
    return keywords


def add_options(
    container: argparse._ActionsContainer, names: Iterable[str], command: str | None = None
) -> None:
    """Each named option, as `command` has it, added to a parser or one of its groups."""
    for name in names:
        container.add_argument(f"--{name}", **argument(declared(name, command)))
