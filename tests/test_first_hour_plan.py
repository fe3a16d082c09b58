"""Plans of Terraform 0.12 to 1.0 (format_version 0.1 and 0.2) through the CLI (issue 25).

The older plans are made from the example plan (Terraform 1.9, format 1.2) as the
older Terraforms write them, following the format's documented history: no
sensitive-value markers before 0.2, `references` naming the resource alone in 0.1,
no `relevant_attributes`, `action_reason`, `timestamp`, `applyable` or `complete`
before 1.x."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
PLAN = ROOT / "examples/plan/plan.json"
ACCESS = ROOT / "examples/access-data.json"
_LATER = ("relevant_attributes", "timestamp", "applyable", "complete", "errored", "checks")
_SENSITIVE = ("sensitive_values", "before_sensitive", "after_sensitive")


def _without(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {key: _without(item, keys) for key, item in value.items() if key not in keys}
    if isinstance(value, list):
        return [_without(item, keys) for item in value]
    return value


def _resource(reference: str) -> str:
    parts = reference.split(".")
    return ".".join(parts[:3] if parts[0] in ("data", "module") else parts[:2])


def _resource_references(value: Any) -> Any:
    """0.1's references: `aws_iam_role.worker`, not also `aws_iam_role.worker.arn`."""
    if isinstance(value, dict):
        return {
            key: list(dict.fromkeys(_resource(item) for item in item_value))
            if key == "references" else _resource_references(item_value)
            for key, item_value in value.items()
        }
    if isinstance(value, list):
        return [_resource_references(item) for item in value]
    return value


def older_plan(version: str, terraform: str) -> dict[str, Any]:
    plan = _without(json.loads(PLAN.read_text()), (*_LATER, "action_reason"))
    plan = _without(plan, _SENSITIVE) if version == "0.1" else plan
    plan = _resource_references(plan) if version == "0.1" else plan
    plan["format_version"], plan["terraform_version"] = version, terraform
    if "prior_state" in plan:
        plan["prior_state"]["format_version"], plan["prior_state"]["terraform_version"] = version, terraform
    return plan


def report(cli, plan: Path) -> dict[str, Any]:
    run = cli("plan", str(plan), "--access-data", str(ACCESS), "--format", "json",
              "--chdir", str(ROOT / "examples/terraform"))
    assert run.code == 0, run.err
    return run.json


@pytest.mark.parametrize(("version", "terraform"), [("0.1", "0.12.31"), ("0.2", "1.0.11")])
def test_plans_of_terraform_0_12_to_1_0_are_read_as_the_same_plan_from_1_x(cli, tmp_path, version, terraform):
    older = tmp_path / "plan.json"
    older.write_text(json.dumps(older_plan(version, terraform)))
    assert report(cli, older)["principals"] == report(cli, PLAN)["principals"]


def test_a_plan_format_not_read_names_the_formats_and_terraform_read(cli, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({**older_plan("0.2", "1.0.11"), "format_version": "0.0"}))
    run = cli("plan", str(plan), "--access-data", str(ACCESS))
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "iam-lastused: error: unsupported plan format_version 0.0: iam-lastused reads formats 0.1 to 1.x, "
        "from Terraform 0.12 on\n"
    )
