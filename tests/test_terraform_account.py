"""The account and partition of the run: known before the code is evaluated, so
data.aws_caller_identity, data.aws_partition and data.aws_region, and every value
built from them, read them in a live scan as in an offline one (issue 22, item 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ACCOUNT, make_role
from terraform_oracle import moto_endpoint, planned_resources, requires_terraform, terraform_plan

__all__ = ["moto_endpoint"]  # a fixture: pytest finds it by name in this module

ROOT = """
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

resource "aws_iam_policy" "own" {
  name   = "own-${data.aws_region.current.name}"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sqs:SendMessage", Resource = "*" }]
  })
}

resource "aws_iam_role" "app" {
  name               = "app-${data.aws_caller_identity.current.account_id}"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}

resource "aws_iam_role_policy_attachment" "own" {
  role       = aws_iam_role.app.name
  policy_arn = join(":", [
    "arn", data.aws_partition.current.partition, "iam", "", data.aws_caller_identity.current.account_id,
    "policy/own-us-east-1",
  ])
}
"""


def principals(report: dict[str, Any]) -> dict[str, tuple[str | None, list[str] | None, bool]]:
    return {
        p["address"]: (p["arn"], p["granted_services"], p["grants_complete"]) for p in report["principals"]
    }


def test_a_live_scan_reads_the_callers_account_in_the_code(
    cli: Any, iam: Any, last_accessed: Any, tmp_path: Path
) -> None:
    (tmp_path / "main.tf").write_text(ROOT)
    role = make_role(iam, f"app-{ACCOUNT}")
    last_accessed.activity[role] = {"sqs": None}
    run = cli("scan", str(tmp_path), "--format", "json")  # no --account-id: STS says
    assert principals(run.json) == {
        "aws_iam_role.app": (f"arn:aws:iam::{ACCOUNT}:role/app-{ACCOUNT}", ["sqs"], True),
        "aws_iam_policy.own": (f"arn:aws:iam::{ACCOUNT}:policy/own-us-east-1", ["sqs"], True),
    }
    assert run.json["notes"] == []


@requires_terraform
def test_the_account_values_are_the_ones_terraform_plans(tmp_path: Path, moto_endpoint: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(ROOT)
    (tmp_path / "scratch").mkdir()
    planned = planned_resources(terraform_plan(root, moto_endpoint, tmp_path / "scratch"))
    assert planned["aws_iam_role.app"]["name"] == f"app-{ACCOUNT}"  # moto's account, as the scan's
    assert planned["aws_iam_role_policy_attachment.own"]["policy_arn"] == (
        f"arn:aws:iam::{ACCOUNT}:policy/own-us-east-1"
    )


def test_without_credentials_the_account_stays_unknown_and_is_said_once(
    cli: Any, iam: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (tmp_path / "main.tf").write_text(ROOT)
    run = cli("scan", str(tmp_path), "--format", "json")
    assert run.err.count("no AWS credentials") == 1
    app = {p["address"]: p for p in run.json["principals"]}["aws_iam_role.app"]
    assert app["error"] == "name is computed: the account is known only with --account-id"


def test_an_offline_scan_reads_the_account_given(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(ROOT)
    access = str(Path(__file__).parents[1] / "examples" / "access-data.json")
    run = cli("scan", str(tmp_path), "--format", "json", "--account-id", "210987654321",
              "--region", "us-east-1", "--access-data", access)
    app = {p["address"]: p for p in run.json["principals"]}["aws_iam_role.app"]
    assert app["arn"] == "arn:aws:iam::210987654321:role/app-210987654321"
    assert app["granted_services"] == ["sqs"]
