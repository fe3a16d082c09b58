"""The IaC sources. Each reads one format into the shared model; `scan_paths`
sends every path a user names to the source for its format."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..model import SourceResult
from .cloudformation import is_template, scan_template
from .terraform import TERRAFORM_SUFFIXES, scan_terraform

SKIPPED_DIRECTORIES = frozenset({".terraform", ".git", "node_modules", ".aws-sam", "cdk.out"})


def _templates_under(directory: Path) -> list[Path]:
    found = []
    for root, directories, files in os.walk(directory):
        directories[:] = sorted(d for d in directories if d not in SKIPPED_DIRECTORIES)
        for name in sorted(files):
            path = Path(root) / name
            if not name.endswith(TERRAFORM_SUFFIXES) and is_template(path):
                found.append(path)
    return found


def scan_paths(
    paths: Sequence[Path], var_files: Sequence[Path] = (), stacks: Mapping[Path, str] | None = None
) -> SourceResult:
    """Terraform in the given directories and `.tf` files, CloudFormation templates among
    the given files and under the given directories. `stacks` names the stack each
    template is deployed as."""
    terraform: list[Path] = []
    templates: list[Path] = []
    for path in paths:
        if path.is_dir():
            terraform.append(path)
            templates.extend(_templates_under(path))
        elif path.name.endswith(TERRAFORM_SUFFIXES):
            terraform.append(path)
        else:
            templates.append(path)
    results = [scan_terraform(terraform, var_files)] if terraform else []
    stacks = {p.resolve(): name for p, name in (stacks or {}).items()}
    results.extend(scan_template(t, stacks.get(t.resolve())) for t in dict.fromkeys(templates))
    return SourceResult(
        principals=tuple(p for r in results for p in r.principals),
        errors=tuple(e for r in results for e in r.errors),
        notes=tuple(n for r in results for n in r.notes),
    )
