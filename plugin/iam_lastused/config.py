"""The config file: `.iam-lastused.toml`, or `[tool.iam-lastused]` in `pyproject.toml`.

The nearest one walking up from the working directory wins. Its keys are the
long CLI option names (`stale-days = 30`, `fail-on = "unused"`), each converted and
checked as its declaration (options.py) says; they become the parser's defaults, so an
option given on the command line still overrides them.
`[[suppress]]` entries (principal, services, reason) suppress findings, and
`[accounts]` names the profile to use for each account ID. A path it names is
relative to the config file.

The config file found this way comes with the code, so from a pull request: it states
preferences, never authority. Which keys it may set is options.OPTIONS's to say: an
option that decides which data judges the code or whose credentials read it is refused
there (one line naming the key; the run goes on without it), and may come from a config
file the invoker names (`--config FILE`, or `IAM_LASTUSED_CONFIG`) outside the
repository, laid over the repository's. What the run writes, and its read boundary, are
for the command line only (an error). A path the repository's config names must lie
inside the repository that holds it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iam_lastused.files import OUTSIDE_ROOT, git_work_tree, root_for
from iam_lastused.options import OPTIONS, Option, declared, problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = ".iam-lastused.toml"
CONFIG_VARIABLE = OPTIONS["config"].env or ""
"""The environment's way to name the invoker's config file (a CI server's, say)."""


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    path: Path | None
    options: dict[str, Any]
    suppress: tuple[dict[str, Any], ...] = ()
    accounts: dict[str, str] = field(default_factory=dict)
    refused: tuple[str, ...] = ()
    """One line for each key the repository's config may not set, which was left out."""
    origin: dict[str, Path] = field(default_factory=dict)
    """The file each option came from, for messages (the invoker's config over the
    repository's)."""


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def read_config(cwd: Path, named: Path | None = None) -> Config:
    """The repository's config (found from `cwd`), with the invoker's (`named`, else the
    file `IAM_LASTUSED_CONFIG` names) laid over it. A named file inside the repository
    (the git work tree holding `cwd`; without one, the directory of the config found) is
    the repository's: it is read as one found, and the found one itself only once."""
    found = find_config(cwd)
    named = named or (Path(os.environ[CONFIG_VARIABLE]) if os.environ.get(CONFIG_VARIABLE) else None)
    if named is None:
        return found
    if not named.is_file():
        raise ConfigError(f"{named}: cannot read the config file: no such file")
    if found.path is not None and found.path.resolve() == named.resolve():
        return found
    repository = git_work_tree(cwd) or (found.path.parent if found.path is not None else None)
    trusted = repository is None or not named.resolve().is_relative_to(repository.resolve())
    table = _read(named)
    if named.name == "pyproject.toml":
        table = table.get("tool", {}).get("iam-lastused", {})
    invoker = _config(named, table, trusted=trusted)
    return Config(
        invoker.path,
        {**found.options, **invoker.options},
        (*found.suppress, *invoker.suppress),
        invoker.accounts or found.accounts,
        (*found.refused, *invoker.refused),
        {**found.origin, **invoker.origin},
    )


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


def _config(path: Path, table: dict[str, Any], trusted: bool = False) -> Config:
    """A config file's table; `trusted` for the invoker's own, which may set what a
    repository's may not."""
    allowed = ("repository", "invoker") if trusted else ("repository",)
    refused = []
    for key in list(table):
        option = OPTIONS.get(key.replace("_", "-"))
        if option is None:
            raise ConfigError(f"{path}: unknown option {key!r}")
        if option.set_by == "command-line":
            raise ConfigError(f"{path}: {key} can be given on the command line only, not in the config file")
        if option.set_by not in allowed:
            refused.append(
                f"{path}: {key} is not taken from the repository's config file: it decides which usage "
                "data or AWS identity is used (give it on the command line, or in --config FILE)"
            )
            del table[key]
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
    suppress = _located(path, suppress)
    accounts = table.get("accounts", {})
    if not isinstance(accounts, dict) or not all(isinstance(v, str) for v in accounts.values()):
        raise ConfigError(f"{path}: [accounts] maps each account ID to a profile name")
    options = {
        key: _relative_to(path, key, value, trusted) if OPTIONS[key.replace("_", "-")].path else value
        for key, value in table.items()
        if key not in ("suppress", "accounts")
    }
    return Config(
        path, options, tuple(suppress), {str(k): v for k, v in accounts.items()}, tuple(refused),
        dict.fromkeys(options, path),
    )


_SUPPRESS_HEADER = re.compile(
    r'^[ \t]*\[\[\s*(?:tool\s*\.\s*"?iam-lastused"?\s*\.\s*)?suppress\s*\]\]', re.MULTILINE
)


def _located(path: Path, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each [[suppress]] entry with the file and line it is written at (TOML's reader
    gives no lines: the headers, in order, where each entry has one), so a note about
    an entry can point at it."""
    text = path.read_text(encoding="utf-8")
    lines = [text.count("\n", 0, match.start()) + 1 for match in _SUPPRESS_HEADER.finditer(text)]
    if len(lines) != len(entries):  # written inline (suppress = [{...}]): the file alone
        return [{**entry, "file": _shown(path)} for entry in entries]
    return [{**entry, "file": _shown(path), "line": line} for entry, line in zip(entries, lines, strict=True)]


def _relative_to(config_path: Path, key: str, value: Any, trusted: bool) -> Any:
    """A path (or list of paths) the config names, made relative to the config file; in
    a repository's config it must lie inside the repository holding the config. Values
    of the wrong type are left for config_defaults to name."""
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in values) or any("://" in item for item in values):
        return value  # a URL (s3://...) is no path
    resolved = [config_path.parent / item for item in values]
    if not trusted:
        root = root_for([config_path.parent])
        for item, path in zip(values, resolved, strict=True):
            if not root.contains(path):
                raise ConfigError(f"{config_path}: {key} = {item!r} is {OUTSIDE_ROOT}; not read")
    converted = [_shown(path) for path in resolved]
    return converted if isinstance(value, list) else converted[0]


def _shown(path: Path) -> str:
    """A path as messages show it: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def config_defaults(config: Config, names: Iterable[str], command: str | None = None) -> dict[str, Any]:
    """The config's values of the options named (as `command` has them), converted and checked
    as their declarations say: the parsed command line's defaults, by attribute."""
    wanted = set(names)
    return {
        option.dest or name.replace("-", "_"):
            _convert(config.origin.get(key, config.path), key, option, value)
        for key, value in config.options.items()
        if (name := key.replace("_", "-")) in wanted and (option := declared(name, command))
    }


def _convert(path: Path | None, key: str, option: Option, value: Any) -> Any:
    convert = option.type
    if option.kind == "flag":  # such as no-cache
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: {key} must be true or false")
        return value
    if option.kind == "repeated":
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{path}: {key} must be a string or a list of strings")
        return [convert(v) if convert else v for v in values]
    try:
        converted = convert(value) if convert and isinstance(value, str) else value
    except argparse.ArgumentTypeError as exc:  # says what a value should be, as the command line's error does
        raise ConfigError(f"{path}: {key} {exc}") from None
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: {key} = {value!r} is not a valid value") from None
    if isinstance(converted, bool) and convert in (int, float):
        raise ConfigError(f"{path}: {key} must be a number, not true or false")
    if convert is int and not isinstance(converted, int):
        raise ConfigError(f"{path}: {key} must be a whole number")
    if convert is float and not isinstance(converted, int | float):
        raise ConfigError(f"{path}: {key} must be a number")
    if convert is Path and not isinstance(converted, Path):
        raise ConfigError(f"{path}: {key} must be a path (a string)")
    if option.choices and converted not in option.choices:
        raise ConfigError(f"{path}: {key} must be one of {', '.join(option.choices)}")
    if (wrong := problem(option.name, converted)) is not None:
        raise ConfigError(f"{path}: {key} {wrong}")
    return converted
