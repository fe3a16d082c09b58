"""The IaC sources, behind one protocol. Each reads one format into the shared model;
`scan_paths` gives each source the paths of its format, from what the user names. A
Terraform plan (`Plan`) is read the same way, from the plan the user names; a deployed
stack or change set (`read_deployed`) from what aws/stacks.py read of it.

This package is also the sources' one face to the library API (api.py imports nothing
from the modules below it): the readers of plans, stack mappings and parameter files,
the steps that name principals through their deployed stacks, and what they raise, are
named here."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from iam_lastused.environment import Environment
from iam_lastused.files import (
    DEFAULT_EXCLUDE,
    HIDDEN_DIRECTORIES,
    ReadRefused,
    Root,
    outside_root,
    read_bytes,
    root_for,
    walk,
)
from iam_lastused.model import InputError, Principal, SourceResult
from iam_lastused.resolve import partition_of_region, principal_from_arn
from iam_lastused.sources.cdk import Cdk, StackChain, is_assembly, stack_chains, with_stack_names
from iam_lastused.sources.cloudformation.parameters import (
    ParametersError,
    parse_entries,
    read_parameters_file,
)
from iam_lastused.sources.cloudformation.stacks import (
    StackError,
    read_change_set,
    read_stack_mapping,
    resolve_from_stack,
)
from iam_lastused.sources.cloudformation.template import (
    Context,
    is_template,
    read_template,
    scan_template,
)
from iam_lastused.sources.iam_resources import TERRAFORM
from iam_lastused.sources.plan.load import PlanError, load_plan, plan_from_json
from iam_lastused.sources.plan.read import read_plan
from iam_lastused.sources.terraform.reader import is_terraform
from iam_lastused.sources.terraform.scan import MAX_FILE_BYTES, TERRAFORM_SUFFIXES, scan_terraform
from iam_lastused.workers import OverBudget, map_bounded

if TYPE_CHECKING:
    from iam_lastused.aws.stacks import DeployedStack

__all__ = [
    "Environment",
    "Inputs",
    "NoCode",
    "ParametersError",
    "Plan",
    "PlanError",
    "StackChain",
    "StackError",
    "Terraform",
    "load_plan",
    "parse_entries",
    "plan_from_json",
    "read_arns",
    "read_deployed",
    "read_parameters_file",
    "read_stack_mapping",
    "resolve_from_stack",
    "scan_paths",
    "stack_chains",
    "with_stack_names",
]

IAM_MARKERS = tuple(resource_type.encode() for resource_type in TERRAFORM)
"""What a Terraform file that touches IAM holds (`Terraform.touching_iam`): the name of a
type in the one IAM resource table, so a new type is seen by the hook too."""

BUILD_OUTPUT = (".aws-sam/", "cdk.out/")
"""Not entered while walking a tree for templates, besides what is excluded: build
output (often stale and ignored by git); a cloud assembly is read when it is named
(`scan cdk.out`)."""


@dataclass(frozen=True)
class Inputs:
    """What a scan gives every source: the read boundary, and the user's own inputs."""

    root: Root
    var_files: Sequence[Path] = ()
    stacks: Mapping[Path, str] = field(default_factory=dict)
    """The stack each template is deployed as, by real path."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """CloudFormation parameter values given (`--parameters`, `--parameter`)."""
    environment: Environment = field(default_factory=Environment)
    """Where the code is deployed, as far as the run knows (`AWS::AccountId`,
    `data.aws_region`, the partition ARNs are written in)."""
    stack_parameters: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Each stack's deployed parameter values, under those given."""
    use_cache: bool = True
    """Whether the parse cache is read and written (not with --no-cache)."""
    variables: Sequence[tuple[str, str]] = ()
    """Terraform variables given (`--var NAME=VALUE`), set after the var files."""
    exclude: Sequence[str] = DEFAULT_EXCLUDE
    """The globs the walks leave out: the defaults, then the user's (`--exclude`)."""
    configuration: Path | None = None
    """The directory a Terraform plan was made in: its root module, and the modules it
    calls, give the plan's principals their file:line (`Plan`)."""


class NoCode(Exception):
    """A directory the user names holds nothing any source reads."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no Terraform or CloudFormation files under {path}")


class Source(Protocol):
    def found_in(self, directory: Path, inputs: Inputs) -> list[Path]:
        """What of this format a directory the user names holds, for `read`."""
        ...

    def takes(self, path: Path) -> bool:
        """Whether a file the user names is of this format."""
        ...

    def read(self, paths: Sequence[Path], inputs: Inputs) -> SourceResult: ...


class Terraform:
    """Module directories (each read whole, local module calls followed) and `.tf` files."""

    def found_in(self, directory: Path, inputs: Inputs) -> list[Path]:
        """The directory, when its walk meets a Terraform file: the Terraform scan walks
        its own module directories (`_Scan.discover`, by the same rules)."""
        walked = walk(directory, (*inputs.exclude, HIDDEN_DIRECTORIES))
        holds = any(self.takes(base / name) for base, _, names in walked for name in names)
        return [directory] if holds else []

    def takes(self, path: Path) -> bool:
        return path.name.endswith(TERRAFORM_SUFFIXES)

    def touching_iam(self, paths: Sequence[Path], root: Root) -> list[Path]:
        """The Terraform files among `paths` that mention IAM, by a look at their bytes:
        those worth reading when each change is checked (`hook`)."""
        return [path for path in paths if self.takes(path) and _mentions_iam(path, root)]

    def read(self, paths: Sequence[Path], inputs: Inputs) -> SourceResult:
        return scan_terraform(
            paths, inputs.var_files, inputs.root, inputs.use_cache, inputs.environment, inputs.variables,
            inputs.exclude,
        )


class CloudFormation:
    """CloudFormation and SAM templates, each file on its own."""

    def found_in(self, directory: Path, inputs: Inputs) -> list[Path]:
        """The templates below `directory`; links to directories are not followed (the
        Terraform walk notes them), links to files only into the root. A cloud assembly's
        templates are the CDK source's."""
        if is_assembly(directory, inputs.root):
            return []
        return [
            base / name
            for base, _, names in walk(directory, (*inputs.exclude, *BUILD_OUTPUT))
            for name in names
            if not name.endswith(TERRAFORM_SUFFIXES) and is_template(base / name, inputs.root)
        ]

    def takes(self, path: Path) -> bool:
        return not path.name.endswith(TERRAFORM_SUFFIXES)

    def read(self, paths: Sequence[Path], inputs: Inputs) -> SourceResult:
        """Each template read here, then parsed in bounded workers (workers.map_bounded)."""
        texts = {path: read_template(path, inputs.root) for path in paths}
        unread = [SourceResult(errors=(text,)) for text in texts.values() if isinstance(text, InputError)]
        context = Context(dict(inputs.parameters), inputs.environment)
        items = [(path, stack, text, None, self.context(context, inputs, stack))
                 for path, text in texts.items() if isinstance(text, str)
                 for stack in [inputs.stacks.get(path.resolve())]]
        parsed = map_bounded(scan_template, items)
        return _joined([
            *unread,
            *(SourceResult(errors=(InputError(outcome.reason, str(item[0])),))
              if isinstance(outcome, OverBudget) else outcome
              for item, outcome in zip(items, parsed, strict=True)),
        ])


    @staticmethod
    def context(context: Context, inputs: Inputs, stack: str | None) -> Context:
        """A template's context: its stack's deployed parameter values under those given."""
        deployed = inputs.stack_parameters.get(stack or "")
        return replace(context, parameters={**deployed, **context.parameters}) if deployed else context


class Plan:
    """Terraform plans: the JSON `terraform show -json` prints, or a binary plan file,
    which Terraform converts (plan/load.py). A plan is named, never looked for, so it is
    not among the SOURCES a scan walks with: the `plan` command reads the file it is
    given, and the configuration it was made from (`Inputs.configuration`) for file:line."""

    def found_in(self, directory: Path, inputs: Inputs) -> list[Path]:
        return []  # a directory holds configuration: the Terraform source's

    def takes(self, path: Path) -> bool:
        return True  # a file named as a plan is read as one, or refused (PlanError)

    def read(self, paths: Sequence[Path], inputs: Inputs) -> SourceResult:
        """Each plan file, named after its path. Raises PlanError for one that is not a
        plan this reads: a plan is its run's input, so the run stops."""
        return _joined([self.read_loaded(load_plan(path), str(path), inputs) for path in paths])

    def read_loaded(self, plan: Mapping[str, Any], label: str, inputs: Inputs) -> SourceResult:
        """A plan already loaded (piped in, downloaded, or given to the library), named
        `label` where its configuration does not locate a principal. A configuration
        outside the root is not read (an error says so)."""
        configuration, root = inputs.configuration, inputs.root
        refused = outside_root([configuration], root) if configuration is not None else []
        readable = configuration if configuration is not None and root.contains(configuration) else None
        found = read_plan(dict(plan), label, readable, root)
        return replace(found, errors=(*refused, *found.errors))

    @staticmethod
    def made_in(plan: Path | None) -> Path:
        """Where a plan was most likely made: beside its file (`terraform plan -out`, then
        `show -json` there) when Terraform files are there, else (and for a plan with no
        file) the current directory."""
        if plan is None or str(plan) == "-":
            return Path(".")
        beside = Path(os.path.abspath(plan.parent))
        try:
            holds = any(is_terraform(path.name) for path in beside.iterdir())
        except OSError:  # no such directory: the plan file is not there either (`read` says so)
            holds = False
        if not holds:
            return Path(".")
        here = Path(os.path.abspath("."))
        return Path(os.path.relpath(beside, here)) if here == beside or here in beside.parents else beside


def read_deployed(deployed: DeployedStack, inputs: Inputs) -> SourceResult:
    """A deployed stack's principals, or what its pending change set would make of them,
    from what aws/stacks.py read of it: each side read with its own parameter values,
    under those given (`Inputs.parameters`)."""
    context = Context(dict(inputs.parameters), inputs.environment)
    return read_change_set(deployed, context)


def read_arns(arns: Sequence[str]) -> SourceResult:
    """Deployed principals, named by their ARNs (`check`, `fetch`): an error for each
    ARN that names none."""
    principals: list[Principal] = []
    errors: list[InputError] = []
    for arn in arns:
        found = principal_from_arn(arn)
        if isinstance(found, InputError):
            errors.append(found)
        else:
            principals.append(found)
    return SourceResult(principals=tuple(principals), errors=tuple(errors))


SOURCES: tuple[Source, ...] = (Terraform(), CloudFormation(), Cdk())


def scan_paths(
    paths: Sequence[Path],
    var_files: Sequence[Path] = (),
    stacks: Mapping[Path, str] | None = None,
    root: Root | None = None,
    parameters: Mapping[str, str] | None = None,
    environment: Environment | None = None,
    stack_parameters: Mapping[str, Mapping[str, str]] | None = None,
    use_cache: bool = True,
    variables: Sequence[tuple[str, str]] = (),
    exclude: Sequence[str] = (),
) -> SourceResult:
    """Every source's principals in the given directories and files. `stacks` names the
    stack each template is deployed as. Files the code names are read only inside `root`
    (by default, the root of `paths`). `environment` is where the code is deployed, as
    far as the run knows (by default, nothing but the configured region's partition).
    The walks of directories leave out what the `exclude` globs name, besides
    `DEFAULT_EXCLUDE`; a file named in `paths` never is.
    Raises NoCode, before reading anything, for a directory no source finds anything in."""
    inputs = Inputs(
        root if root is not None else root_for(paths),
        var_files,
        {path.resolve(): name for path, name in (stacks or {}).items()},
        dict(parameters or {}),
        environment or Environment(partition=partition_of_region(None)),
        dict(stack_parameters or {}),
        use_cache,
        tuple(variables),
        (*DEFAULT_EXCLUDE, *exclude),
    )
    missing = [InputError("no such file or directory", str(path)) for path in paths if not path.exists()]
    refused = outside_root(paths, inputs.root)
    paths = [path for path in paths if path.exists() and not root_refuses(path, refused)]
    found = {path: [_found(source, path, inputs) for source in SOURCES] for path in paths}
    for path, mine in found.items():
        if path.is_dir() and not any(mine):
            raise NoCode(path)
    results = [SourceResult(errors=(*missing, *refused))]
    for index, source in enumerate(SOURCES):
        if chosen := [found_path for mine in found.values() for found_path in mine[index]]:
            results.append(source.read(list(dict.fromkeys(chosen)), inputs))
    return _joined(results)


def _mentions_iam(path: Path, root: Root) -> bool:
    try:
        data = read_bytes(path, MAX_FILE_BYTES, root)
    except (OSError, ReadRefused):
        return False
    return any(marker in data for marker in IAM_MARKERS)


def _found(source: Source, path: Path, inputs: Inputs) -> list[Path]:
    """What of a source's format a path the user names is, or holds."""
    if path.is_dir():
        return source.found_in(path, inputs)
    return [path] if source.takes(path) else []


def _joined(results: Sequence[SourceResult]) -> SourceResult:
    return SourceResult(
        principals=tuple(p for r in results for p in r.principals),
        errors=tuple(e for r in results for e in r.errors),
        notes=tuple(n for r in results for n in r.notes),
    )


def root_refuses(path: Path, refused: Sequence[InputError]) -> bool:
    return any(error.file == str(path) for error in refused)
