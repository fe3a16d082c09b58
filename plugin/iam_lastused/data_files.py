"""YAML and JSON files that the code or its config names (a stack mapping, a parameters
file), read within the budget templates have.

Such a file comes with the pull request. Its size says little of its cost: 300 bytes of
YAML aliases (`b: [*a, *a, ...]`, nine deep) stand for 387 million strings, and who
walks them (str(), a comparison, json.dumps) takes a minute and gigabytes. So a file is
read in a bounded worker (workers.map_bounded: time and memory; in this process when it
is small), and refused when its YAML, aliases expanded, has more than MAX_NODES nodes.
A refusal is one line naming the file, never quoting it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from iam_lastused.files import MAX_SOURCE_BYTES, ReadRefused, Root, read_bytes, refusal
from iam_lastused.workers import OverBudget, map_bounded

MAX_NODES = 100_000
"""The most nodes (scalars, lists, mappings) a YAML file may stand for, aliases expanded:
a stack mapping or parameters file has tens."""


class DataFileError(Exception):
    """The file cannot be used; the message names it and says why, in one line."""


class _Invalid(str):
    """Why the file's text is not valid (returned from the worker, not raised)."""


def load_data(path: Path, what: str, root: Root | None = None, limit: int = MAX_SOURCE_BYTES) -> Any:
    """The document of a YAML or JSON file (JSON for `.json`), inside `root` when given.
    `what` names the file's role for messages ("the stack mapping")."""
    try:
        text = read_bytes(path, limit, root).decode("utf-8")
    except (OSError, ReadRefused, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: cannot read {what}: {refusal(exc)}") from None
    return document_of(path, text, what, path.suffix.lower() == ".json")


def document_of(path: Path, text: str, what: str, is_json: bool) -> Any:
    """The document of `text`, read from `path`, JSON or else YAML."""
    [outcome] = map_bounded(parse_data, [(is_json, text)])
    if isinstance(outcome, OverBudget):
        raise DataFileError(f"{path}: {what} {outcome.reason}")
    if isinstance(outcome, _Invalid):
        raise DataFileError(f"{path}: {what} {outcome}")
    return outcome


def parse_data(is_json: bool, text: str) -> Any:
    """The document, or _Invalid saying why not (for map_bounded: pure, at module level)."""
    if is_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            return _Invalid(f"is not valid JSON (line {exc.lineno})")
        except RecursionError:
            return _Invalid("is nested too deeply")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None and _expanded_size(root, {}) > MAX_NODES:
            return _Invalid(f"stands for more than {MAX_NODES:,} values (YAML aliases): not read")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:  # its message quotes the file: say where, not what
        mark = getattr(exc, "problem_mark", None)
        return _Invalid("is not valid YAML" + (f" (line {mark.line + 1})" if mark is not None else ""))
    except RecursionError:
        return _Invalid("is nested too deeply")


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes `node` stands for with every alias expanded (more than MAX_NODES:
    MAX_NODES + 1), each node (an alias is the node it names) looked at once, so in time
    linear in the text."""
    known = sizes.get(id(node))
    if known is not None:
        return known if known >= 0 else MAX_NODES + 1  # met inside itself: a recursive alias is endless
    sizes[id(node)] = -1
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value)
    sizes[id(node)] = min(size, MAX_NODES + 1)
    return sizes[id(node)]
