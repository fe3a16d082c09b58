"""Each option is declared once (options.py): its kind, type, choices, metavar, help,
default and check. The parser, the config reader and the library's `runner.Options` take
them from there, none states its own."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from iam_lastused.cli.arguments import argument
from iam_lastused.cli.parser import build_parser
from iam_lastused.options import OPTIONS, declared
from iam_lastused.runner import Options

CLI = Path(__file__).parent.parent / "plugin" / "iam_lastused" / "cli"


def _commands_actions(
    parser: argparse.ArgumentParser, command: str | None = None
) -> Iterator[tuple[str | None, str, argparse.Action]]:
    for action in parser._actions:  # argparse keeps no public list of a parser's options
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands_actions(child, name)
        for option in action.option_strings:
            if option.startswith("--") and option not in ("--help", "--version"):
                yield command, option[2:], action


COMMANDS_ACTIONS = list(_commands_actions(build_parser()))
ACTIONS = [(name, action) for _, name, action in COMMANDS_ACTIONS]
SHOWN = ("option_strings", "dest", "nargs", "const", "default", "type", "choices", "required", "help",
         "metavar")
"""What of an argparse action makes an option what it is on the command line."""


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


def test_every_parser_option_is_declared():
    assert {name for name, _ in ACTIONS} <= set(OPTIONS)
    assert {"store", "host", "shard", "config", "exclude"} <= {name for name, _ in ACTIONS}


def test_every_parser_action_is_what_its_declaration_gives():
    """Kind, type, choices, metavar, help and default of each command's option: its
    declaration's (with that command's variant), none written in the parser."""
    differ = []
    for command, name, action in COMMANDS_ACTIONS:
        expected = argparse.ArgumentParser().add_argument(f"--{name}", **argument(declared(name, command)))
        wrong = [(field, getattr(action, field)) for field in SHOWN
                 if getattr(action, field) != getattr(expected, field)]
        if wrong or type(action) is not type(expected):
            differ.append((command, name, wrong))
    assert differ == []


def test_a_commands_variant_is_declared_with_the_option():
    shown = {(command, name): action for command, name, action in COMMANDS_ACTIONS}
    assert shown["cfn", "stack"].required and shown["cfn", "stack"].metavar == "NAME"
    assert isinstance(shown["scan", "stack"], argparse._AppendAction)
    assert shown["hook", "exclude"].help == OPTIONS["exclude"].variants["hook"]["help"]
    assert shown["wrap", "chdir"].default == Path(".") and shown["plan", "chdir"].default is None


def test_no_option_is_added_to_a_parser_outside_the_declaration():
    """Only cli/arguments.py turns a declaration into an argument; the rest of cli/
    adds positionals (and --version) alone."""
    written = sorted(
        f"{path.relative_to(CLI)}: {found.group(0)}"
        for path in CLI.rglob("*.py")
        for found in re.finditer(r"add_argument\(\s*f?[\"']-[^\"']*", path.read_text(encoding="utf-8"))
        if path.name != "arguments.py" and "--version" not in found.group(0)
    )
    assert written == []


def test_the_invokers_config_value_is_converted_by_the_declaration(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    invoker = tmp_path / "invoker.toml"  # no repository holds it: the invoker's own
    invoker.write_text('max-age = "2x"\n')
    monkeypatch.setenv(OPTIONS["config"].env or "", str(invoker))
    run = cli("check", "arn:aws:iam::111122223333:role/x", "--access-data",
              str(Path(__file__).parent.parent / "examples" / "access-data.json"))
    assert run.code == 2
    assert run.err == (f"iam-lastused: error: {invoker}: max-age '2x': give a whole number and a unit, "
                       "s, m, h or d (e.g. 24h)\n")


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
