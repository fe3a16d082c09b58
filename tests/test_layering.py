"""The package's layers, kept by reading its imports: all AWS I/O (and so every import
of boto3 or botocore) lives in `iam_lastused/aws/`; the sources, which read files and
return what they found, do not import the renderers nor call AWS; `api.py` reaches the
sources through their one face; the command line and the integrations reach the
sources, `aws/` and analysis only through `api.py`."""

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


FRONT_ENDS = ("cli", "integrations")
"""The command line and the integrations: thin front ends over `api.py`."""

INTERNALS = ("sources", "aws", "analysis")
"""What only the library API (and the run behind it) reaches: the front ends reach them
through it."""

FRONT_ENDS_MAY_IMPORT: dict[tuple[str, str], str] = {}
"""What a front end still imports of the internals, each with why."""


def front_ends_reaching_past_the_api(package: Path) -> dict[str, list[str]]:
    """Each module of the front ends that imports one of the internals, with what it
    imports of them, besides what FRONT_ENDS_MAY_IMPORT allows."""
    front = tuple(f"{package.name}.{name}" for name in FRONT_ENDS)
    internal = tuple(f"{package.name}.{name}" for name in INTERNALS)
    allowed = {(f"{package.name}.{module.partition('.')[2]}", f"{package.name}.{name.partition('.')[2]}")
               for module, name in FRONT_ENDS_MAY_IMPORT}
    found = {
        module: sorted(name for name in imported if (module, name) not in allowed
                       and any(_is_within(name, inside) for inside in internal))
        for module, imported in _modules(package)
        if any(_is_within(module, end) for end in front)
    }
    return {module: names for module, names in found.items() if names}


def test_front_ends_call_only_the_api() -> None:
    """The command line and the integrations call `api.py`: what they need of the
    sources, the AWS layer or analysis, the API gives (`api.load_plan`, `api.has_findings`...)."""
    modules = dict(_modules(PACKAGE))
    assert "iam_lastused.api" in modules["iam_lastused.cli.commands.plan"]
    assert "iam_lastused.api" in modules["iam_lastused.integrations.run_task"]
    assert front_ends_reaching_past_the_api(PACKAGE) == {}


def test_the_allowed_imports_are_still_made() -> None:
    """An allowance no longer needed goes (else it would hide a new import)."""
    modules = dict(_modules(PACKAGE))
    for module, name in FRONT_ENDS_MAY_IMPORT:
        assert name in modules[module], (module, name)


def test_front_ends_are_checked_in_a_package_of_their_own(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    for directory in ("cli", "integrations", "sources", "render"):
        (package / directory).mkdir(parents=True)
        (package / directory / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "cli" / "plan.py").write_text("from .. import api\nfrom ..sources.plan import load\n")
    (package / "cli" / "show.py").write_text("from ..render import text\n")
    (package / "integrations" / "task.py").write_text("def f():\n    import pkg.aws.stacks\n")
    (package / "integrations" / "wrap.py").write_text("from pkg.analysis.analyze import has_findings\n")
    assert front_ends_reaching_past_the_api(package) == {
        "pkg.cli.plan": ["pkg.sources.plan", "pkg.sources.plan.load"],
        "pkg.integrations.task": ["pkg.aws.stacks"],
        "pkg.integrations.wrap": ["pkg.analysis.analyze", "pkg.analysis.analyze.has_findings"],
    }


SOURCES_MAY_IMPORT_FROM_AWS = {
    ("iam_lastused.sources", "iam_lastused.aws.stacks.DeployedStack"):
        "a type only (TYPE_CHECKING): what aws/stacks.py read of a stack, which `read_deployed` reads",
    ("iam_lastused.sources.cloudformation.stacks", "iam_lastused.aws.stacks.DeployedStack"): "as above",
    ("iam_lastused.sources.terraform.data_sources", "iam_lastused.aws.partitions.dns_suffixes"):
        "botocore's bundled partition data, read from the installed package: no call to AWS",
}
"""What the sources import of `aws/`, each with why: nothing that calls AWS."""


def sources_importing_aws(package: Path) -> dict[str, list[str]]:
    """Each module under `sources/` that imports from `aws/`, with what, besides what
    SOURCES_MAY_IMPORT_FROM_AWS allows (and the module it is imported from)."""
    sources, aws = f"{package.name}.sources", f"{package.name}.aws"
    allowed = {(f"{package.name}.{module.partition('.')[2]}", f"{package.name}.{name.partition('.')[2]}")
               for module, name in SOURCES_MAY_IMPORT_FROM_AWS}
    allowed_modules = {(module, name.rpartition(".")[0]) for module, name in allowed}
    found = {
        module: sorted(name for name in imported if _is_within(name, aws)
                       and (module, name) not in allowed | allowed_modules)
        for module, imported in _modules(package) if _is_within(module, sources)
    }
    return {module: names for module, names in found.items() if names}


def test_no_source_calls_aws() -> None:
    """Sources read files, and what the runner read of AWS for them (aws/stacks.py's
    `DeployedStack`); AWS is called by the run, never by a source."""
    assert sources_importing_aws(PACKAGE) == {}
    modules = dict(_modules(PACKAGE))
    for module, name in SOURCES_MAY_IMPORT_FROM_AWS:
        assert name in modules[module], (module, name)


def test_a_source_calling_aws_is_seen(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sources" / "cloudformation").mkdir(parents=True)
    for init in ("", "sources/", "sources/cloudformation/"):
        (package / init / "__init__.py").write_text("")
    (package / "sources" / "cloudformation" / "stacks.py").write_text(
        "from ...aws.stacks import DeployedStack, stack_resources\n")
    assert sources_importing_aws(package) == {
        "pkg.sources.cloudformation.stacks": ["pkg.aws.stacks.stack_resources"],
    }
