"""The package's layers, kept by reading its imports: all AWS I/O (and so every import
of boto3 or botocore) lives in `iam_lastused/aws/`, and the sources, which read files
and return what they found, do not import the renderers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import iam_lastused

PACKAGE = Path(iam_lastused.__file__).parent

def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, package: Path) -> Iterator[str]:
    """Every module `path` imports, anywhere in it (functions, `TYPE_CHECKING` blocks),
    relative imports made absolute."""
    module = _module_name(path, package)
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            yield origin
            yield from (f"{origin}.{alias.name}" for alias in node.names)


def _modules(package: Path) -> Iterator[tuple[str, set[str]]]:
    for path in sorted(package.rglob("*.py")):
        yield _module_name(path, package), set(_imports(path, package))


def _is_within(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def boto_outside_aws(package: Path) -> dict[str, list[str]]:
    """Each module outside `aws/` that imports boto3 or botocore, with what it imports."""
    aws = f"{package.name}.aws"
    return {
        module: sorted(n for n in imported if _is_within(n, "boto3") or _is_within(n, "botocore"))
        for module, imported in _modules(package)
        if not _is_within(module, aws)
        and any(_is_within(n, "boto3") or _is_within(n, "botocore") for n in imported)
    }


def sources_importing_render(package: Path) -> set[str]:
    """Each module under `sources/` that imports `render`."""
    sources, render = f"{package.name}.sources", f"{package.name}.render"
    return {
        module for module, imported in _modules(package)
        if _is_within(module, sources) and any(_is_within(n, render) for n in imported)
    }


def test_the_walk_sees_the_package() -> None:
    """The checks below read real modules (a walk finding nothing would pass them)."""
    modules = dict(_modules(PACKAGE))
    assert "iam_lastused.aws.session" in modules
    assert "botocore.config" in modules["iam_lastused.aws.session"]
    assert "iam_lastused.render.escape.terminal_safe" in modules["iam_lastused.cli.output"]


def test_no_module_outside_aws_imports_boto3_or_botocore() -> None:
    assert boto_outside_aws(PACKAGE) == {}


def test_no_source_imports_render() -> None:
    """Sources return what they read; escaping it is each format's job."""
    assert sources_importing_render(PACKAGE) == set()


def test_relative_imports_are_read_as_absolute(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sources").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sources" / "__init__.py").write_text("from ..render import shown\n")
    (package / "sources" / "reader.py").write_text("def read():\n    from botocore import session\n")
    assert sources_importing_render(package) == {"pkg.sources"}
    assert boto_outside_aws(package) == {"pkg.sources.reader": ["botocore", "botocore.session"]}


def source_internals_the_api_imports(package: Path) -> list[str]:
    """What `api.py` imports from the modules below `sources/`: nothing, the package's
    own names (sources/__init__.py) being its one face."""
    below = {child.stem for child in (package / "sources").iterdir() if child.stem != "__init__"}
    imported = dict(_modules(package))[f"{package.name}.api"]
    return sorted(name for name in imported
                  if _is_within(name, f"{package.name}.sources") and name.count(".") >= 2
                  and name.split(".")[2] in below)


def test_the_api_imports_no_sources_internals() -> None:
    assert "iam_lastused.sources.scan_paths" in dict(_modules(PACKAGE))["iam_lastused.api"]
    assert source_internals_the_api_imports(PACKAGE) == []
