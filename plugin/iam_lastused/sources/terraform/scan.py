"""IAM principals and what they are granted, read from Terraform source.

Terraform is read per module directory, following module calls (local ones, and
the others where `terraform init` installed them), and evaluated as far
as it can be without planning: variables (defaults, var files, module arguments),
locals, templates, references between resources. Whatever depends on apply stays
unknown, and says why. Each file's parse is cached by its content, so a second scan
of an unchanged tree skips python-hcl2.

The jobs live in their own modules: `reader` (the walk, each file's parse, files the
code names), `variables` (a root module's variable values), `modules` (module calls),
`instances` (what a module instance evaluates to) and `principals` (the principals
and their grants).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from iam_lastused.environment import Environment
from iam_lastused.files import DEFAULT_EXCLUDE, Root, real_path, root_for
from iam_lastused.model import InputError, SourceResult
from iam_lastused.sources.terraform import modules, variables
from iam_lastused.sources.terraform.instances import Instance
from iam_lastused.sources.terraform.principals import PolicyIndex, principals
from iam_lastused.sources.terraform.reader import MAX_FILE_BYTES, TERRAFORM_SUFFIXES, Files, Module
from iam_lastused.sources.terraform.values import Text
from iam_lastused.sources.unknown import Unknown
from iam_lastused.store import scan_memo

__all__ = ["MAX_FILE_BYTES", "TERRAFORM_SUFFIXES", "Scan", "scan_terraform"]


def scan_terraform(
    paths: Sequence[Path],
    var_files: Sequence[Path] = (),
    root: Root | None = None,
    use_cache: bool = True,
    environment: Environment | None = None,
    variables: Sequence[tuple[str, str]] = (),
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
) -> SourceResult:
    """Principals defined by the Terraform in `paths` (files or directories); the var
    files set the variables of the root modules. Files the code names (`file()`,
    module sources, links) are read only inside `root` (by default the one of `paths`).
    Without `use_cache`, the parse cache is neither read nor written. `environment` is
    where the code is deployed: what the data sources aws_caller_identity, aws_region
    and aws_partition answer;
    `variables` (`--var NAME=VALUE`) are set after the var files, in their order;
    `exclude` globs leave root modules out of the walk (`reader.Files.discover`). A scan of
    what an earlier one read, unchanged, gives that scan's result (store.scan_memo)."""
    root = root if root is not None else root_for(paths)
    environment = environment or Environment()
    memo_key = scan_memo.key(
        os.getcwd(), [str(path) for path in paths], [str(path) for path in var_files], list(variables),
        sorted((name, value) for name, value in os.environ.items() if name.startswith("TF_VAR_")),
        os.environ.get("TF_DATA_DIR"),
        [str(directory) for directory in root.directories], environment, list(exclude),
    )
    with _fewer_collections():
        if use_cache and (kept := scan_memo.load(memo_key)) is not None:
            return kept
        started = time.time_ns()
        scan = Scan(root, use_cache, environment)
        result = _read(scan, paths, var_files, variables, exclude)
        if use_cache:
            scan_memo.keep(memo_key, scan.files.manifest, result, started)
    return result


def _read(
    scan: Scan,
    paths: Sequence[Path],
    var_files: Sequence[Path],
    given_variables: Sequence[tuple[str, str]],
    exclude: Sequence[str],
) -> SourceResult:
    given = variables.read_var_files(scan, var_files)
    for name, value in given_variables:
        given[name] = variables.given_value(scan, value, f"--var {name}")
    walked = scan.files.discover(paths, exclude)
    called = {callee for real in walked for callee in modules.local_calls(scan.files.modules[real])
              if callee != real}
    for real in walked:
        if real not in called:
            scan.instantiate_root(real, given)
    instantiated = {instance.module.real for instance in scan.instances}
    for real in walked:
        if real not in instantiated:  # only modules in a cycle of calls are left
            scan.instantiate_root(real, given)
            instantiated.update(instance.module.real for instance in scan.instances)
    return SourceResult(tuple(principals(scan)), tuple(scan.errors), tuple(scan.notes))


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A scan keeps every file's parse, many small containers that live to the end;
    at the default threshold the garbage collector walks them over and over, which
    triples the time of a scan from the cache."""
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class Scan:
    """One scan: what it has read and instantiated, what it knows of the account, and
    the errors and notes it reports."""

    def __init__(self, root: Root, use_cache: bool = True, environment: Environment | None = None) -> None:
        self.root = root
        self.environment = environment or Environment()
        self.errors: dict[InputError, None] = {}
        self.notes: dict[str, None] = {}
        self.files = Files(root, use_cache, self.error, self.note)
        self.instances: list[Instance] = []
        self.policies = PolicyIndex(self)
        self._manifests: dict[Path, modules.Manifest] = {}

    def error(self, error: InputError) -> None:
        self.errors[error] = None

    def note(self, note: str) -> None:
        self.notes[note] = None

    def instantiate_root(self, real: Path, given: dict[str, Any]) -> None:
        module = self.files.modules[real]
        values = {**variables.auto_variables(self, module), **given}
        inputs = {name: (lambda value=value: value) for name, value in values.items()}
        modules.instantiate_root(self, module, inputs)

    def manifest(self, root: Module) -> modules.Manifest:
        """The module manifest of the root module `root`, read once."""
        if root.real not in self._manifests:
            self._manifests[root.real] = modules.read_manifest(self, root)
        return self._manifests[root.real]

    def read(self, instance: Instance, value: str, file: str, line: int | None) -> Text | Unknown:
        """The text of a file named in file()/templatefile(): a relative path is from the
        root module's directory, where terraform runs (so `${path.module}/x` is the
        module's own file)."""
        root = self.files.modules[instance.root_module]
        path = Path(value) if Path(value).is_absolute() else root.real / value
        real = real_path(path) or path
        relative = os.path.relpath(real, instance.module.real)
        found = self.files.text(real, os.path.normpath(os.path.join(instance.module.display, relative)))
        if isinstance(found, Unknown):  # said at each place that names it
            shown = _as_reported(value, root)
            self.error(InputError(f"cannot read {shown}: {found.reason}", file, line))
            return Unknown(f"{shown} was not read: {found.reason}")
        return found


def _as_reported(value: str, root: Module) -> str:
    """A path the code names, as the report names files: from where the scan was asked
    to read the root module (`infra/x.json`, `infra/../../x`), never where that is on
    the machine."""
    if Path(value).is_absolute():
        return value.replace(str(root.real), root.display)
    parts = [part for part in os.path.join(root.display, value).split("/") if part != "."]
    return "/".join(parts) or "."
