"""The values a root module's variables are given from outside the code: TF_VAR_*,
terraform.tfvars and *.auto.tfvars beside it, the user's var files and `--var`."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iam_lastused.files import ReadRefused, refusal
from iam_lastused.files import read_bytes as read_file_bytes
from iam_lastused.model import InputError
from iam_lastused.sources.terraform.hcl import hcl_attributes
from iam_lastused.sources.terraform.instances import VarFileScope
from iam_lastused.sources.terraform.reader import MAX_FILE_BYTES, Module, describe
from iam_lastused.sources.terraform.values import evaluate

if TYPE_CHECKING:
    from iam_lastused.sources.terraform.scan import Scan


def read_var_files(scan: Scan, var_files: Sequence[Path]) -> dict[str, Any]:
    """The values of the var files the user gave (on the command line, or in the
    config, which keeps them inside the repository)."""
    values: dict[str, Any] = {}
    for path in var_files:
        scan.files.manifest.saw(path)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            scan.error(InputError(f"cannot read var file: {refusal(exc)}", str(path)))
            continue
        values.update(_var_file(scan, path, source))
    return values


def auto_variables(scan: Scan, module: Module) -> dict[str, Any]:
    """What Terraform sets a root module's variables to before any -var-file:
    TF_VAR_* from the environment, then terraform.tfvars(.json), then the
    *.auto.tfvars(.json) files in lexical order, read inside the root."""
    values: dict[str, Any] = {}
    for name, value in os.environ.items():
        if name.startswith("TF_VAR_") and len(name) > 7:
            values[name[7:]] = given_value(scan, value)
    scan.files.manifest.saw(module.real)
    names = sorted(os.listdir(module.real)) if module.real.is_dir() else []
    auto = [name for name in names if name.endswith((".auto.tfvars", ".auto.tfvars.json"))]
    for name in ["terraform.tfvars", "terraform.tfvars.json", *auto]:
        if name not in names:
            continue
        display = Path(module.display) / name
        scan.files.manifest.saw(module.real / name)
        try:
            source = read_file_bytes(module.real / name, MAX_FILE_BYTES, scan.root).decode("utf-8")
        except (OSError, ReadRefused, UnicodeDecodeError) as exc:
            scan.error(InputError(f"cannot read var file: {refusal(exc)}", str(display)))
            continue
        values.update(_var_file(scan, display, source))
    return values


def given_value(scan: Scan, value: str, origin: str = "environment") -> Any:
    """A TF_VAR_ or --var value: a string, or a list or map written in HCL."""
    if not value.lstrip().startswith(("[", "{")):
        return value
    try:
        expr = hcl_attributes(f"value = {value}\n")["value"]
    except Exception:  # not HCL: Terraform would take it as a string, or refuse it
        return value
    return evaluate(expr, VarFileScope(scan, origin))


def _var_file(scan: Scan, path: Path, source: str) -> dict[str, Any]:
    """The values a .tfvars or .tfvars.json file sets (none where it cannot be read)."""
    try:
        if path.name.endswith(".json"):
            values = json.loads(source)
            return values if isinstance(values, dict) else {}
        scope = VarFileScope(scan, str(path))
        return {name: evaluate(expr, scope) for name, expr in hcl_attributes(source).items()}
    except Exception as exc:  # unparsable: python-hcl2 and lark raise many types
        message, line = describe(exc, source)
        scan.error(InputError(f"cannot read var file: {message}", str(path), line))
        return {}
