"""The config file: `.iam-lastused.toml`, or `[tool.iam-lastused]` in `pyproject.toml`.

The nearest one walking up from the working directory wins. Its keys are the
long CLI option names (`stale-days = 30`, `fail-on = "unused"`); they become the
parser's defaults, so an option given on the command line still overrides them.
`[[suppress]]` entries (principal, services, reason) suppress findings, and
`[accounts]` names the profile to use for each account ID.

The config file comes with the code, so from a pull request: it is data, not a remote
control. What the run writes (`output`, `also-write`), the shape of its output
(`suggest`), the read boundary (`root`) and the AWS identity it takes on (`profile`,
`assume-role-arn`) are for the command line only, and a path it names must lie inside
the repository that holds it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iam_lastused.files import OUTSIDE_ROOT, root_for

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = ".iam-lastused.toml"
# where the report goes and what it looks like; and which AWS identity the run takes on
COMMAND_LINE_ONLY = ("output", "also-write", "suggest", "root", "profile", "assume-role-arn",
                     "max-age", "usage-source", "analyzer-arn", "store")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    path: Path | None
    options: dict[str, Any]
    suppress: tuple[dict[str, Any], ...] = ()
    accounts: dict[str, str] = field(default_factory=dict)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def find_config(start: Path) -> Config:
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return _config(candidate, _read(candidate))
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            table = _read(pyproject).get("tool", {}).get("iam-lastused")
            if isinstance(table, dict):
                return _config(pyproject, table)
    return Config(None, {})


def _config(path: Path, table: dict[str, Any]) -> Config:
    suppress = table.get("suppress", [])
    if not isinstance(suppress, list) or not all(
        isinstance(s, dict)
        and isinstance(s.get("principal"), str)
        and isinstance(s.get("services"), list)
        and all(isinstance(service, str) for service in s["services"])
        and isinstance(s.get("reason", ""), str)
        for s in suppress
    ):
        raise ConfigError(f"{path}: each [[suppress]] needs principal = \"ADDRESS\" and services = [...]")
    accounts = table.get("accounts", {})
    if not isinstance(accounts, dict) or not all(isinstance(v, str) for v in accounts.values()):
        raise ConfigError(f"{path}: [accounts] maps each account ID to a profile name")
    options = {key: value for key, value in table.items() if key not in ("suppress", "accounts")}
    for key in options:
        if key.replace("_", "-") in COMMAND_LINE_ONLY:
            raise ConfigError(f"{path}: {key} can be given on the command line only, not in the config file")
    return Config(path, options, tuple(suppress), {str(k): v for k, v in accounts.items()})


def _long_options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {
        option[2:]: action
        for action in parser._actions  # argparse keeps no public list of its options
        for option in action.option_strings
        if option.startswith("--")
    }


def apply_defaults(parsers: list[argparse.ArgumentParser], config: Config) -> None:
    """Make the config's options the defaults of each subcommand that has them."""
    options = [_long_options(parser) for parser in parsers]
    for key in config.options:
        if not any(key.replace("_", "-") in known for known in options):
            raise ConfigError(f"{config.path}: unknown option {key!r}")
    for parser, known in zip(parsers, options, strict=True):
        defaults = {
            known[name].dest: _convert(config.path, key, known[name], value)
            for key, value in config.options.items()
            if (name := key.replace("_", "-")) in known
        }
        parser.set_defaults(**defaults)


def _convert(path: Path | None, key: str, action: argparse.Action, value: Any) -> Any:
    convert: Callable[[Any], Any] | None = action.type  # type: ignore[assignment]  # argparse types it loosely
    if action.nargs == 0:  # a flag such as --no-cache
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: {key} must be true or false")
        return value
    if isinstance(action, argparse._AppendAction):
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{path}: {key} must be a string or a list of strings")
        converted_values = [convert(v) if convert else v for v in values]
        if action.type is Path:
            for item in converted_values:
                _inside(path, key, item)
        return converted_values
    try:
        converted = convert(value) if convert and isinstance(value, str) else value
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: {key} = {value!r} is not a valid value") from None
    if isinstance(converted, bool) and action.type in (int, float):
        raise ConfigError(f"{path}: {key} must be a number, not true or false")
    if action.type is int and not isinstance(converted, int):
        raise ConfigError(f"{path}: {key} must be a whole number")
    if action.type is float and not isinstance(converted, int | float):
        raise ConfigError(f"{path}: {key} must be a number")
    if action.type is Path and not isinstance(converted, Path):
        raise ConfigError(f"{path}: {key} must be a path (a string)")
    if isinstance(converted, Path):  # --access-data's type gives a path, or an s3:// URL
        _inside(path, key, converted)
    elif isinstance(converted, str) and converted.startswith("s3://"):
        raise ConfigError(f"{path}: {key}: a store URL can be given on the command line only")
    if action.choices and converted not in action.choices:
        raise ConfigError(f"{path}: {key} must be one of {', '.join(map(str, action.choices))}")
    return converted


def _inside(config_path: Path | None, key: str, value: Path) -> None:
    """A path the config names must lie inside the repository holding the config."""
    if config_path is None:
        return
    if not root_for([config_path.parent]).contains(Path.cwd() / value):
        raise ConfigError(f"{config_path}: {key} = {str(value)!r} is {OUTSIDE_ROOT}; not read")
