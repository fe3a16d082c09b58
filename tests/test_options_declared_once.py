"""Each option's default and check are declared once (options.py): the parser, the config
reader and the library's `runner.Options` take them from there, none states its own."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from iam_lastused.cli.parser import build_parser
from iam_lastused.options import _VALUES, OPTIONS
from iam_lastused.runner import Options


def _actions(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:  # argparse keeps no public list of a parser's options
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _actions(child)
        for option in action.option_strings:
            if option.startswith("--") and option not in ("--help", "--version"):
                yield option[2:], action


ACTIONS = list(_actions(build_parser()))


def test_every_parser_default_is_the_declared_one():
    wrong = [
        (name, action.default, OPTIONS[name].default)
        for name, action in ACTIONS
        if OPTIONS[name].default is not None and action.default != OPTIONS[name].default
    ]
    assert wrong == []


def test_no_parser_option_has_a_value_default_of_its_own():
    """A number or string default belongs in the declaration, not in the parser."""
    own = [
        (name, action.default)
        for name, action in ACTIONS
        if isinstance(action.default, int | float | str) and not isinstance(action.default, bool)
        and action.default != argparse.SUPPRESS and OPTIONS[name].default is None
    ]
    assert own == []


def test_a_default_the_help_states_is_the_declared_one():
    stated = {
        (name, found.group(1))
        for name, action in ACTIONS
        if OPTIONS[name].default is not None
        and (found := re.search(r"\(default ([^)]+)\)", action.help or ""))
        and found.group(1) not in (str(OPTIONS[name].default), f"{OPTIONS[name].default:g}"
                                   if isinstance(OPTIONS[name].default, float) else "")
    }
    assert stated == {("max-age", "24h")}  # a duration, as it is written on the command line


def test_the_librarys_options_default_to_the_declarations():
    for field in dataclasses.fields(Options):
        declared = OPTIONS.get(field.name.replace("_", "-"))
        if declared is not None and declared.default is not None:
            assert field.default == declared.default, field.name


def test_every_default_and_check_is_of_a_declared_option():
    assert set(_VALUES) <= set(OPTIONS)
    assert {name for name, _ in ACTIONS} <= set(OPTIONS)


@pytest.mark.parametrize(("content", "says"), [
    ("stale-days = -1\n", "stale-days must be 0 or more"),
    ("timeout = 0\n", "timeout must be more than 0 seconds"),
])
def test_a_config_value_is_checked_as_the_command_lines(cli, tmp_path, monkeypatch, content, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".iam-lastused.toml").write_text(content)
    run = cli("check", "arn:aws:iam::111122223333:role/x",
              "--access-data", str(Path(__file__).parent.parent / "examples" / "access-data.json"))
    assert run.code == 2 and run.err == f"iam-lastused: error: {tmp_path / '.iam-lastused.toml'}: {says}\n"


def test_the_run_task_servers_numbers_are_usage_errors_with_its_usage(capsys):
    from iam_lastused.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["run-task", "serve", "--queue-limit", "0"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith("usage: iam-lastused run-task serve ")
    assert err.endswith("error: --queue-limit must be 1 or more\n")
