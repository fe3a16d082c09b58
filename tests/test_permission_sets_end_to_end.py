"""Issue 27's end to end, through the command line against moto: a permission set written
in Terraform or in CloudFormation, assigned to three accounts whose reserved roles were used
differently (one account has no role yet), is one principal with one verdict across the
accounts, each finding at its statement's line; its `--suggest=patch` applies with
`git apply`, and the rescan finds nothing unused."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import iam_in, make_role
from fake_last_accessed import LastAccessedFake

PROD, DEV, NEW = "111111111111", "222222222222", "444444444444"
TEMPLATE = "arn:aws:iam::{account_id}:role/iam-lastused"
NOW = datetime.now(timezone.utc)
INSTANCE = "arn:aws:sso:::instance/ssoins-1111111111111111"

TERRAFORM = f"""
resource "aws_ssoadmin_permission_set" "developers" {{
  name         = "Developers"
  instance_arn = "{INSTANCE}"
}}

resource "aws_ssoadmin_permission_set_inline_policy" "developers" {{
  instance_arn       = "{INSTANCE}"
  permission_set_arn = aws_ssoadmin_permission_set.developers.arn
  inline_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{
        Effect   = "Allow"
        Action   = ["s3:GetObject", "sqs:SendMessage"]
        Resource = "*"
      }},
      {{
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem"]
        Resource = "*"
      }},
    ]
  }})
}}

resource "aws_ssoadmin_account_assignment" "developers" {{
  for_each           = toset(["{PROD}", "{DEV}", "{NEW}"])
  instance_arn       = "{INSTANCE}"
  permission_set_arn = aws_ssoadmin_permission_set.developers.arn
  principal_id       = "90676f2e5a-1234abcd-0000-0000-0000-000000000000"
  principal_type     = "GROUP"
  target_id          = each.value
  target_type        = "AWS_ACCOUNT"
}}
"""

CLOUDFORMATION = f"""AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Developers:
    Type: AWS::SSO::PermissionSet
    Properties:
      Name: Developers
      InstanceArn: {INSTANCE}
      InlinePolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action:
              - s3:GetObject
              - sqs:SendMessage
            Resource: "*"
          - Effect: Allow
            Action:
              - dynamodb:GetItem
            Resource: "*"
""" + "".join(f"""  Assignment{account}:
    Type: AWS::SSO::Assignment
    Properties:
      InstanceArn: {INSTANCE}
      PermissionSetArn: !GetAtt Developers.PermissionSetArn
      PrincipalId: 90676f2e5a-1234abcd-0000-0000-0000-000000000000
      PrincipalType: GROUP
      TargetId: "{account}"
      TargetType: AWS_ACCOUNT
""" for account in (PROD, DEV, NEW))

CODE = {"terraform": ("main.tf", TERRAFORM, "aws_ssoadmin_permission_set.developers"),
        "cloudformation": ("template.yaml", CLOUDFORMATION, "Developers")}


@pytest.fixture
def roles(iam, last_accessed: LastAccessedFake) -> dict[str, str]:
    """Developers' role in prod used s3, in dev dynamodb; neither used sqs; the third
    account has no role yet."""
    reserved = "/aws-reserved/sso.amazonaws.com/"
    prod = make_role(iam_in(PROD), "AWSReservedSSO_Developers_0123456789abcdef", reserved)
    dev = make_role(iam_in(DEV), "AWSReservedSSO_Developers_fedcba9876543210", reserved)
    last_accessed.activity[prod] = {"s3": NOW - timedelta(days=2), "sqs": None, "dynamodb": None}
    last_accessed.activity[dev] = {"s3": None, "sqs": None, "dynamodb": NOW - timedelta(days=5)}
    return {PROD: prod, DEV: dev}


@pytest.mark.parametrize("form", sorted(CODE))
def test_one_principal_one_verdict_and_a_patch_that_leaves_nothing_unused(
    cli, roles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    name, text, address = CODE[form]
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    Path(name).write_text(text, encoding="utf-8")
    scan = ("scan", ".", "--assume-role-arn", TEMPLATE, "--no-cache", "--min-age-days", "0")

    run = cli(*scan, "--format", "json")
    assert run.code == 0, run.err
    [found] = run.json["principals"]
    assert (found["address"], found["kind"], found["status"]) == (address, "permission-set", "analyzed")
    assert found["unused_services"] == ["sqs"] and found["stale_services"] == []
    services = {service["namespace"]: service for service in found["services"]}
    assert services["sqs"]["accounts"] == [PROD, DEV]
    sqs_line = next(n for n, line in enumerate(text.splitlines(), 1) if "sqs:SendMessage" in line)
    [granted_at] = services["sqs"]["granted_by"]
    assert granted_at["file"] == name and granted_at["line"] < sqs_line  # its statement, above the action
    assert {service: services[service]["state"] for service in ("s3", "dynamodb")} == {
        "s3": "used", "dynamodb": "used"}
    by_account = {role["account"]: role for role in found["roles"]}
    assert {account: by_account[account]["arn"] for account in roles} == roles
    assert by_account[NEW]["arn"] is None and by_account[NEW]["not_deployed"] is True

    patch = cli(*scan, "--suggest=patch")
    assert patch.code == 0, patch.err
    subprocess.run(["git", "apply"], input=patch.out.encode(), check=True)
    edited = Path(name).read_text(encoding="utf-8")
    assert "sqs:" not in edited and "s3:GetObject" in edited and "dynamodb:GetItem" in edited

    rescan = cli(*scan, "--format", "json", "--fail-on", "unused")
    assert rescan.code == 0, rescan.err
    [after] = rescan.json["principals"]
    assert after["status"] == "analyzed" and after["unused_services"] == []
    assert after["granted_services"] == ["dynamodb", "s3"]
