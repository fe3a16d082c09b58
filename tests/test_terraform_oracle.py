"""The oracle harness itself: Terraform plans a fixture against moto, and the scan of
the same fixture names the same principal."""

from __future__ import annotations

from pathlib import Path

from terraform_oracle import moto_endpoint, planned_resources, requires_terraform, terraform_plan

__all__ = ["moto_endpoint"]  # a fixture: pytest finds it by name in this module

ROOT = """
data "aws_caller_identity" "current" {}

resource "aws_iam_role" "worker" {
  count              = var.enabled ? 1 : 0
  name               = "worker-${data.aws_caller_identity.current.account_id}"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}

variable "enabled" {
  type    = bool
  default = true
}
"""


@requires_terraform
def test_terraform_plans_against_moto_and_the_scan_agrees(
    tmp_path: Path, moto_endpoint: str, cli
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(ROOT)
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    planned = planned_resources(terraform_plan(root, moto_endpoint, scratch))
    assert planned["aws_iam_role.worker[0]"]["name"] == "worker-123456789012"  # moto's account

    report = cli("scan", str(root), "--format", "json", "--account-id", "123456789012", "--no-cache",
                 "--access-data", str(Path(__file__).parents[1] / "examples" / "access-data.json"))
    assert [p["address"] for p in report.json["principals"]] == ["aws_iam_role.worker[0]"]
    assert report.json["principals"][0]["arn"].endswith(":role/worker-123456789012")
