"""Every command-line option and every environment variable the tool reads is
documented in the README (a user should never have to read --help or the code to
find one)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from iam_lastused.cli.parser import build_parser

TOP = Path(__file__).resolve().parent.parent
README = (TOP / "README.md").read_text(encoding="utf-8")


def _options(parser: argparse.ArgumentParser) -> set[str]:
    found = set()
    for action in parser._actions:  # argparse keeps no public list of a parser's options
        found.update(option for option in action.option_strings if option.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= _options(child)
    return found - {"--help"}


def _environment_variables() -> set[str]:
    package = TOP / "plugin" / "iam_lastused"
    return {
        name
        for path in package.rglob("*.py")
        for name in re.findall(r"[\"'](IAM_LASTUSED_[A-Z_]+)[\"']", path.read_text(encoding="utf-8"))
    }


def test_every_option_is_in_the_readme() -> None:
    missing = sorted(option for option in _options(build_parser()) if f"`{option}" not in README)
    assert missing == []


def test_every_environment_variable_is_in_the_readme() -> None:
    variables = _environment_variables()
    assert "IAM_LASTUSED_CACHE_DIR" in variables  # the search finds what the code reads
    assert sorted(name for name in variables if f"`{name}" not in README) == []
