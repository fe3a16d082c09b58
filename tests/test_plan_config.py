"""`plan` reads only the configuration the plan was made from: its root module (by
default beside the plan) and the modules that calls, installed ones included; never
the rest of a monorepo below the working directory (issue 22, item 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from terraform_oracle import moto_endpoint, requires_terraform, terraform_plan
from test_terraform_modules import INSTALLED, MANIFEST, ROOT, write

__all__ = ["moto_endpoint"]  # a fixture: pytest finds it by name in this module

ACCESS_DATA = str(Path(__file__).parents[1] / "examples" / "access-data.json")
OFFLINE = ("--format", "json", "--no-cache", "--account-id", "123456789012", "--access-data", ACCESS_DATA)


def located(report: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {p["address"]: (p["file"], p["line"]) for p in report["principals"]}


@pytest.fixture
def monorepo(tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose top holds many roots: one planned by terraform (its plan
    beside it), and others: one not even valid HCL, one with the same addresses."""
    top = tmp_path / "repo"
    stack = write(top / "stacks" / "app", {"main.tf": ROOT, **INSTALLED}, MANIFEST)
    (tmp_path / "scratch").mkdir()
    (stack / "plan.json").write_text(json.dumps(terraform_plan(stack, moto_endpoint, tmp_path / "scratch")))
    for index in range(3):
        write(top / "stacks" / f"other{index}", {"main.tf": 'resource "aws_iam_user" "u" {\n}\n'})
    write(top / "stacks" / "broken", {"main.tf": 'resource "aws_iam_user" "u" {\n  name =\n'})
    # walked first, a root with the same addresses: read, it would take their file:line
    write(top / "stacks" / "aaa", {
        "main.tf": 'module "app" {\n  source = "./role"\n}\n',
        "role/main.tf": 'resource "aws_iam_role" "this" {\n  name = "decoy"\n}\n',
    })
    (top / ".git").mkdir()
    monkeypatch.chdir(top)
    return top


INSTALLED_AT = "stacks/app/.terraform/modules"
WHERE = {
    "module.app.aws_iam_role.this": (f"{INSTALLED_AT}/app/modules/role/main.tf", 6),
    "module.app.module.policy.aws_iam_policy.read": (f"{INSTALLED_AT}/app/modules/policy/main.tf", 10),
    'module.ci.aws_iam_user.ci["audit"]': (f"{INSTALLED_AT}/ci/main.tf", 6),
    'module.ci.aws_iam_user.ci["deploy"]': (f"{INSTALLED_AT}/ci/main.tf", 6),
}


@requires_terraform
def test_a_plan_run_from_the_top_of_a_monorepo_reads_only_its_own_root(monorepo: Path, cli) -> None:
    report = cli("plan", "stacks/app/plan.json", *OFFLINE).json
    assert located(report) == WHERE  # installed modules' file:line, through the stack's manifest
    assert report["errors"] == []  # stacks/broken was never parsed


@requires_terraform
def test_chdir_names_the_root_and_nothing_below_it_is_read(monorepo: Path, cli) -> None:
    (monorepo / "plan.json").write_text((monorepo / "stacks" / "app" / "plan.json").read_text())
    report = cli("plan", "plan.json", "--chdir", "stacks/app", *OFFLINE).json
    assert located(report) == WHERE
    from_top = cli("plan", "plan.json", "--chdir", ".", *OFFLINE).json
    assert from_top["errors"] == []  # the top holds no root module; nothing below it is read
    assert {file for file, _ in located(from_top).values()} == {"plan.json"}
