"""One name per idea (issue 24 item 5), kept by reading the package's classes: a value
a source cannot know before apply is `sources.unknown.Unknown`, and where the code is
deployed (account, region, partition) is `environment.Environment`. A second class for
either idea (a new source's own `Unknown`, a context that holds its own account and
region) fails here; hold an `Environment` instead."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import iam_lastused

PACKAGE = Path(iam_lastused.__file__).parent

ENVIRONMENT_FIELDS = frozenset({"account_id", "region", "partition"})

NOT_AN_ENVIRONMENT = {
    "iam_lastused.runner.Options": "the options as given, from which the run builds its Environment",
}
"""Classes that hold two of the ENVIRONMENT_FIELDS for another reason, and why."""


def _classes(package: Path) -> Iterator[tuple[str, ast.ClassDef]]:
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.ClassDef):
                yield f"{module}.{node.name}", node


def _fields(cls: ast.ClassDef) -> set[str]:
    """A class's fields: its annotated names (a dataclass's, a NamedTuple's) and what
    its `__init__` sets on `self`."""
    fields = {
        line.target.id for line in cls.body
        if isinstance(line, ast.AnnAssign) and isinstance(line.target, ast.Name)
    }
    for method in cls.body:
        if isinstance(method, ast.FunctionDef) and method.name == "__init__":
            fields |= {
                target.attr for node in ast.walk(method) if isinstance(node, ast.Assign | ast.AnnAssign)
                for target in _targets(node)
                if isinstance(target.value, ast.Name) and target.value.id == "self"
            }
    return fields


def _targets(node: ast.Assign | ast.AnnAssign) -> Iterator[ast.Attribute]:
    """The attributes an assignment sets, unpacked (`self.a, self.b = ...`)."""
    pending: list[ast.expr] = list(node.targets) if isinstance(node, ast.Assign) else [node.target]
    while pending:
        target = pending.pop()
        if isinstance(target, ast.Tuple | ast.List):
            pending.extend(target.elts)
        elif isinstance(target, ast.Attribute):
            yield target


def unknown_classes(package: Path) -> list[str]:
    """Every class named `Unknown` in the package."""
    return [name for name, cls in _classes(package) if cls.name == "Unknown"]


def environment_classes(package: Path) -> list[str]:
    """Every class that holds two or more of account ID, region and partition itself,
    but for those NOT_AN_ENVIRONMENT names."""
    return [
        name for name, cls in _classes(package)
        if len(_fields(cls) & ENVIRONMENT_FIELDS) >= 2 and name not in NOT_AN_ENVIRONMENT
    ]


def test_one_unknown() -> None:
    assert unknown_classes(PACKAGE) == ["iam_lastused.sources.unknown.Unknown"]


def test_one_environment() -> None:
    assert environment_classes(PACKAGE) == ["iam_lastused.environment.Environment"]


def test_the_exceptions_are_real() -> None:
    """Each class let off holds the fields it is let off for (one renamed or gone is
    taken off the list)."""
    fields = {name: _fields(cls) for name, cls in _classes(PACKAGE)}
    held = {name for name in NOT_AN_ENVIRONMENT if len(fields.get(name, set()) & ENVIRONMENT_FIELDS) >= 2}
    assert held == set(NOT_AN_ENVIRONMENT)


def test_a_second_name_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sources").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sources" / "__init__.py").write_text(
        "from dataclasses import dataclass\n"
        "class Unknown:\n    pass\n"
        "@dataclass(frozen=True)\nclass Known:\n    account_id: str | None\n    region: str | None\n"
    )
    (package / "sources" / "stacks.py").write_text(
        "class Unknown:\n    pass\n"
        "class Pseudo:\n    def __init__(self, partition: str, region: str) -> None:\n"
        "        self.partition, self.region = partition, region\n"
        "class Scan:\n    def __init__(self, environment: object) -> None:\n"
        "        self.environment = environment\n"
    )
    assert unknown_classes(package) == ["pkg.sources.Unknown", "pkg.sources.stacks.Unknown"]
    assert environment_classes(package) == ["pkg.sources.Known", "pkg.sources.stacks.Pseudo"]
