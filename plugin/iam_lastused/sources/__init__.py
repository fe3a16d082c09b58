"""The IaC sources. Each reads one format into the shared model; `scan_paths`
sends every path a user names to the source for its format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from iam_lastused.files import Root, root_for, walk
from iam_lastused.model import InputError, SourceResult
from iam_lastused.sources.cloudformation.template import is_template, scan_template
from iam_lastused.sources.terraform.scan import TERRAFORM_SUFFIXES, scan_terraform

SKIPPED_DIRECTORIES = frozenset({".terraform", ".git", "node_modules", ".aws-sam", "cdk.out"})


def _templates_under(directory: Path, root: Root) -> list[Path]:
    """The templates below `directory`; links to directories are not followed (the
    Terraform walk notes them), links to files only into `root`."""
    return [
        base / name
        for base, _, names in walk(directory, skip=SKIPPED_DIRECTORIES.__contains__)
        for name in names
        if not name.endswith(TERRAFORM_SUFFIXES) and is_template(base / name, root)
    ]


def scan_paths(
    paths: Sequence[Path],
    var_files: Sequence[Path] = (),
    stacks: Mapping[Path, str] | None = None,
    root: Root | None = None,
) -> SourceResult:
    """Terraform in the given directories and `.tf` files, CloudFormation templates among
    the given files and under the given directories. `stacks` names the stack each
    template is deployed as. Files the code names are read only inside `root` (by
    default, the root of `paths`)."""
    root = root if root is not None else root_for(paths)
    missing = [InputError("no such file or directory", str(path)) for path in paths if not path.exists()]
    paths = [path for path in paths if path.exists()]
    terraform: list[Path] = []
    templates: list[Path] = []
    for path in paths:
        if path.is_dir():
            terraform.append(path)
            templates.extend(_templates_under(path, root))
        elif path.name.endswith(TERRAFORM_SUFFIXES):
            terraform.append(path)
        else:
            templates.append(path)
    results = [scan_terraform(terraform, var_files, root)] if terraform else []
    stacks = {p.resolve(): name for p, name in (stacks or {}).items()}
    results.extend(scan_template(t, stacks.get(t.resolve()), root=root) for t in dict.fromkeys(templates))
    return SourceResult(
        principals=tuple(p for r in results for p in r.principals),
        errors=(*missing, *(e for r in results for e in r.errors)),
        notes=tuple(n for r in results for n in r.notes),
    )
