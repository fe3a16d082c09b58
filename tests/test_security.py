"""Security posture: read-only against AWS, the README's policy is exactly what the
tool calls, and no credential is ever printed or cached."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from conftest import make_role
from iam_lastused.aws import session as aws
from iam_lastused.aws.permissions import ALLOWED_OPERATIONS, OperationNotAllowed, policy_actions
from iam_lastused.store import cache

ROOT = Path(__file__).parent.parent


def readme_policy_actions() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## AWS permissions", 1)[1]
    policy = json.loads(re.search(r"```json\n(.*?)```", section, re.S)[1])
    return sorted(action for statement in policy["Statement"] for action in statement["Action"])


def test_readme_policy_is_exactly_the_allow_list():
    assert readme_policy_actions() == policy_actions()


@pytest.fixture
def operations(aws_hooks) -> list[str]:
    """Every operation sent to AWS (moto or the fake) during the test."""
    seen: list[str] = []

    def record(event_name: str, **_kwargs):
        seen.append(event_name.split(".", 1)[1])  # before-send.iam.GetRole -> iam.GetRole

    aws_hooks.insert(0, record)
    return seen


def test_every_command_calls_only_allowed_read_only_operations(cli, iam, last_accessed, operations, tmp_path):
    worker = make_role(iam, "orders-worker", path="/service/")
    last_accessed.activity[worker] = {"s3": None}
    boto3.client("cloudformation").create_stack(StackName="invoices", TemplateBody=json.dumps({"Resources": {
        "R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "AssumeRolePolicyDocument": {}}}
    }}))
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {}}}}))
    runs = [
        cli("check", worker),
        cli("fetch", worker, "--output", str(tmp_path / "a.json"), "--no-cache"),
        cli("scan", str(ROOT / "examples" / "terraform"), "--no-cache"),
        cli("scan", str(template), "--stack", "invoices"),
        cli("cfn", "--stack", "invoices"),
        cli("check", worker, "--no-cache", "--assume-role-arn", "arn:aws:iam::{account_id}:role/audit"),
    ]
    assert [r.code for r in runs] == [0, 0, 0, 0, 0, 0]
    allowed = {f"{service}.{op}" for service, ops in ALLOWED_OPERATIONS.items() for op in ops}
    called = {op.replace("-", "") for op in operations}
    assert called, "no call was recorded"
    assert called <= {op.replace("-", "") for op in allowed} | {"cloudformation.CreateStack"}, called
    expected = {"iam.GenerateServiceLastAccessedDetails", "sts.AssumeRole", "cloudformation.GetTemplate"}
    assert expected <= called


def test_a_mutating_call_is_refused_before_it_is_sent(iam, operations):
    client = aws.client(aws.make_session(None, "us-east-1"), "iam")
    with pytest.raises(OperationNotAllowed, match="iam:CreateRole"):
        client.create_role(RoleName="x", AssumeRolePolicyDocument="{}")
    assert operations == []
    assert iam.list_roles()["Roles"] == []


def test_no_credential_is_printed_or_cached(cli, iam, last_accessed, monkeypatch):
    secret, token = "SECRETKEY-do-not-print-0123456789", "SESSIONTOKEN-do-not-print-9876543210"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    worker = make_role(iam, "orders-worker")
    last_accessed.activity[worker] = {"s3": None}
    last_accessed.denied.add("GetServiceLastAccessedDetails")
    outputs = [
        cli("check", worker, "--format", fmt)
        for fmt in ("text", "json", "markdown", "sarif", "github")
    ]
    last_accessed.denied.clear()
    template = "arn:aws:iam::{account_id}:role/a"
    outputs.append(cli("check", worker, "--no-cache", "--assume-role-arn", template))
    for run in outputs:
        assert secret not in run.out + run.err and token not in run.out + run.err
    for entry in cache.cache_dir().rglob("*"):
        if entry.is_file():
            text = entry.read_text()
            assert secret not in text and token not in text and "AccessKeyId" not in text


def test_readme_identity_center_policy_is_exactly_its_allow_list():
    section = (ROOT / "README.md").read_text().split("## IAM Identity Center permission sets", 1)[1]
    section = section.split("\n## ", 1)[0]
    policy = json.loads(re.search(r"```json\n(.*?)```", section, re.S)[1])
    actions = sorted(action for statement in policy["Statement"] for action in statement["Action"])
    assert actions == policy_actions("identity-center")
