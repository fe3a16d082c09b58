"""Template parameter values: from a parameters file (the AWS CLI's, CodePipeline's
or samconfig.toml's), `KEY=VALUE` entries, a deployed stack, and each parameter's
default, in that order of precedence from last to first."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from iam_lastused.data_files import DataFileError, document_of
from iam_lastused.files import ReadRefused, read_bytes, refusal
from iam_lastused.sources.unknown import Unknown

_MAX_FILE_BYTES = 1_048_576


class ParametersError(Exception):
    """A parameters file or entry cannot be used."""


def read_parameters_file(path: Path) -> dict[str, str]:
    """The values a parameters file gives. The file is data: its content is never
    quoted in an error."""
    try:
        text = read_bytes(path, _MAX_FILE_BYTES).decode("utf-8")
    except (OSError, ReadRefused, UnicodeDecodeError) as exc:
        raise ParametersError(f"{path}: cannot read the parameters file: {refusal(exc)}") from None
    if path.suffix.lower() == ".toml":
        return _from_samconfig(path, text)
    try:
        document = document_of(path, text, "the parameters file", is_json=True)
    except DataFileError as exc:
        raise ParametersError(str(exc)) from None
    found = _from_json(document)
    if found is None:
        raise ParametersError(
            f"{path}: expected [{{\"ParameterKey\": ..., \"ParameterValue\": ...}}] "
            "or {\"Parameters\": {...}}"
        )
    return found


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ",".join(str(item) for item in value)
    return None


def _from_json(document: Any) -> dict[str, str] | None:
    if isinstance(document, list):  # the AWS CLI's --parameters file
        found: dict[str, str] = {}
        for item in document:
            if not isinstance(item, dict) or not isinstance(item.get("ParameterKey"), str):
                return None
            value = _scalar(item.get("ParameterValue"))
            if value is not None:
                found[item["ParameterKey"]] = value
        return found
    if isinstance(document, dict) and isinstance(document.get("Parameters"), dict):  # CodePipeline's
        values = {str(key): _scalar(value) for key, value in document["Parameters"].items()}
        return {key: value for key, value in values.items() if value is not None}
    return None


def _from_samconfig(path: Path, text: str) -> dict[str, str]:
    """`parameter_overrides` of every command's parameters in samconfig.toml, the
    `deploy` command's winning: `"Key=Value Key2=Value2"` or a list of those."""
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise ParametersError(f"{path}: the parameters file is not valid TOML") from None
    found: dict[str, str] = {}
    for environment in config.values():
        if not isinstance(environment, dict):
            continue
        commands = sorted(environment.items(), key=lambda item: item[0] == "deploy")
        for _, command in commands:
            overrides = command.get("parameters", {}).get("parameter_overrides") if isinstance(
                command, dict) else None
            if overrides is None:
                continue
            entries = overrides if isinstance(overrides, list) else [overrides]
            for entry in entries:
                if not isinstance(entry, str):
                    raise ParametersError(f"{path}: parameter_overrides must be text")
                try:
                    words = shlex.split(entry)
                except ValueError:
                    raise ParametersError(f"{path}: parameter_overrides cannot be read") from None
                found.update(parse_entries(words, str(path)))
    return found


def parse_entries(entries: Sequence[str], where: str = "--parameter") -> dict[str, str]:
    """`KEY=VALUE` entries."""
    found = {}
    for entry in entries:
        key, equals, value = entry.partition("=")
        if not equals or not key.strip():
            raise ParametersError(f"{where}: expected KEY=VALUE, not {entry!r}" if where == "--parameter"
                                  else f"{where}: expected KEY=VALUE entries")
        found[key.strip()] = value
    return found


def template_parameters(declared: Any, given: Mapping[str, str]) -> dict[str, Any]:
    """Each declared parameter's value (given, else its default), or why it has none."""
    values: dict[str, Any] = {}
    if not isinstance(declared, dict):
        return values
    for name, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        kind = spec.get("Type", "String")
        kind = kind if isinstance(kind, str) else "String"
        value: Any = given[name] if name in given else spec.get("Default")
        if kind.startswith("AWS::SSM::Parameter::Value"):
            values[str(name)] = Unknown(f"parameter {name} is read from SSM Parameter Store at deploy time")
            continue
        value = _scalar(value) if value is not None else None
        if value is None:
            values[str(name)] = Unknown(
                f"parameter {name} has no value (--parameter {name}=VALUE or --parameters FILE)"
            )
        elif "List" in kind:
            values[str(name)] = [item.strip() for item in value.split(",")] if value else []
        else:
            values[str(name)] = value
    return values
