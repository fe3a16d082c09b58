"""Loading a Terraform plan: the JSON of `terraform show -json`, from its text, from a
file or from the same Terraform that made a binary plan. The plan source's (`sources.Plan`),
and through the library API the plan wrapper's and the run task's."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

READ_FORMATS = ("0.1", "0.2")
"""Besides every 1.x: the formats of Terraform 0.12 to 0.14 (0.1) and 0.15 to 1.0 (0.2).
What the older ones lack is read as absent: sensitive-value markers (added in 0.2), a
reference's attribute path beside its resource (a reference may name the resource alone),
`relevant_attributes` and `action_reason` (added in 1.x); no field this reads changed
meaning."""


class PlanError(Exception):
    """The input is not a Terraform plan this tool can read."""


def load_plan(path: str | Path, terraform: Sequence[str] | None = None) -> dict[str, Any]:
    """A plan's JSON form, from `terraform show -json` output or from a binary plan
    file (a zip archive), which the Terraform of $TERRAFORM_BINARY converts. Given the
    `terraform` that made it (the binary and its global options, such as -chdir: the
    wrapper's), the file is a binary plan, converted by that command."""
    if terraform is not None:
        try:
            return show_json(terraform, str(path))
        except OSError as exc:
            raise PlanError(f"{' '.join([*terraform, 'show'])}: cannot run: {exc.strerror or exc}") from None
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            binary = os.environ.get("TERRAFORM_BINARY") or "terraform"
            try:
                return show_json([binary], str(path))
            except OSError as exc:
                message = f"{path} is a binary plan file, and {binary} cannot run to read it: {exc}"
                raise PlanError(message) from None
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        plan = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PlanError(f"{path}: not a JSON plan or a binary plan file: {exc}") from None
    return check_plan(plan)


def plan_from_json(text: bytes) -> dict[str, Any]:
    """A plan from its JSON text (a plan piped in, or downloaded)."""
    try:
        return check_plan(json.loads(text))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PlanError(f"not a JSON plan: {exc}") from None


def show_json(terraform: Sequence[str], plan_file: str) -> dict[str, Any]:
    """`terraform show -json PLAN_FILE`, run as `terraform` (the binary and its global
    options, such as -chdir), checked to be a plan. Raises OSError when it cannot run."""
    show = [*terraform, "show", "-json", plan_file]
    shown = subprocess.run(show, capture_output=True, check=False)
    if shown.returncode != 0:
        reason = shown.stderr.decode("utf-8", "replace").strip().splitlines()
        last = reason[-1] if reason else f"exit code {shown.returncode}"
        raise PlanError(f"{' '.join(show)} failed: {last}")
    try:
        return check_plan(json.loads(shown.stdout))
    except (ValueError, RecursionError) as exc:
        raise PlanError(f"{' '.join(show)} printed no JSON plan: {exc}") from None


def check_plan(plan: Any) -> dict[str, Any]:
    """The plan itself, once it is known to be one in a format version this reads."""
    if not isinstance(plan, dict) or "format_version" not in plan:
        raise PlanError("not a Terraform plan: no format_version")
    if "planned_values" not in plan and "resource_changes" not in plan:
        raise PlanError("not a Terraform plan (a state?): no planned_values or resource_changes")
    version = plan["format_version"]
    if not isinstance(version, str) or not (version in READ_FORMATS or version.split(".")[0] == "1"):
        shown = version if isinstance(version, str) else f"of type {type(version).__name__}"
        raise PlanError(f"unsupported plan format_version {shown:.40}: iam-lastused reads formats 0.1 "
                        "to 1.x, from Terraform 0.12 on")
    if not isinstance(plan.get("resource_changes", []), list):
        raise PlanError("not a Terraform plan: resource_changes is not a list")
    return plan
