"""`iam-lastused scan` on Terraform code, live (moto plus the fake) and offline."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import ACCOUNT, make_role

EXAMPLES = Path(__file__).parent.parent / "examples"
TERRAFORM = EXAMPLES / "terraform"
RECENT = datetime.now(timezone.utc) - timedelta(days=2)
LONG_AGO = datetime.now(timezone.utc) - timedelta(days=150)
MODULE = "examples/terraform/modules/service-role/main.tf"


def principals(run) -> dict[str, dict]:
    return {p["address"]: p for p in run.json["principals"]}


def lines(service: dict) -> list[str]:
    return [f"{g['file']}:{g['line']}" for g in service["granted_by"]]


@pytest.fixture
def deployed(iam, last_accessed) -> dict[str, str]:
    """The example stack as deployed in moto's account, with some activity."""
    worker = make_role(iam, "orders-worker", path="/service/")
    deployer = make_role(iam, "ci-deployer")
    policy = iam.create_policy(PolicyName="orders-data-access", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    ))["Policy"]["Arn"]
    last_accessed.activity[worker] = {
        "s3": RECENT, "sqs": RECENT, "logs": RECENT, "kms": RECENT, "dynamodb": None, "sns": None,
        "cloudwatch": LONG_AGO,
    }
    last_accessed.activity[deployer] = {"ecs": RECENT, "lambda": None, "iam": RECENT, "s3": RECENT,
                                        "cloudformation": LONG_AGO, "ecr": RECENT}
    last_accessed.activity[policy] = {"s3": RECENT, "dynamodb": None}
    return {"worker": worker, "deployer": deployer, "policy": policy}


def test_live_scan_finds_unused_services_with_the_granting_line(cli, monkeypatch, deployed):
    monkeypatch.chdir(TERRAFORM.parent.parent)
    run = cli("scan", "examples/terraform", "--format", "json", "--fail-on", "unused")
    assert run.code == 1
    found = principals(run)
    worker = found["module.orders.aws_iam_role.worker"]
    assert worker["source"] == "terraform" and worker["kind"] == "role"
    assert worker["arn"] == deployed["worker"] == f"arn:aws:iam::{ACCOUNT}:role/service/orders-worker"
    assert (worker["file"], worker["line"]) == (MODULE, 2)
    assert worker["unused_services"] == ["dynamodb", "sns"]
    assert worker["stale_services"] == []
    services = {s["namespace"]: s for s in worker["services"]}
    assert services["cloudwatch"]["state"] == "not-granted"
    assert lines(services["sns"]) == [f"{MODULE}:30"]
    assert lines(services["dynamodb"]) == [f"{MODULE}:77"]
    deployer = found["aws_iam_role.ci_deployer"]
    assert deployer["unused_services"] == ["lambda"] and deployer["stale_services"] == ["cloudformation"]
    deployer_services = {s["namespace"]: s for s in deployer["services"]}
    assert lines(deployer_services["lambda"]) == ["examples/terraform/main.tf:38"]
    policy = found["module.orders.aws_iam_policy.data_access"]
    assert policy["kind"] == "policy" and policy["unused_services"] == ["dynamodb"]


def test_principal_not_in_iam_yet_is_not_deployed(cli, iam, last_accessed, tmp_path):
    make_role(iam, "orders-worker", path="/service/")
    shutil.copytree(TERRAFORM, tmp_path / "tf")
    run = cli("scan", str(tmp_path / "tf"), "--format", "json")
    found = principals(run)
    assert found["aws_iam_role.ci_deployer"]["status"] == "not-deployed"
    assert found["module.orders.aws_iam_role.worker"]["status"] == "analyzed"
    assert run.code == 0


def test_without_credentials_code_findings_are_still_listed(cli, monkeypatch, iam):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    run = cli("scan", str(TERRAFORM), "--format", "json")
    assert run.err.count("no AWS credentials") == 1
    found = principals(run)
    assert len(found) == 4
    assert {p["status"] for p in found.values()} == {"unresolved"}
    assert found["module.orders.aws_iam_role.reporter"]["granted_services"] == ["athena", "s3"]
    assert run.code == 2


def test_offline_scan_of_the_example(cli, monkeypatch):
    monkeypatch.chdir(TERRAFORM.parent.parent)
    run = cli("scan", "examples/terraform", "--access-data", "examples/access-data.json", "--format", "json")
    assert run.code == 0
    found = principals(run)
    assert found["module.orders.aws_iam_role.worker"]["arn"] == (
        "arn:aws:iam::111122223333:role/service/orders-worker"
    )
    assert found["module.orders.aws_iam_role.worker"]["unused_services"] == ["dynamodb", "sns"]
    assert found["aws_iam_role.ci_deployer"]["stale_services"] == ["cloudformation"]


def test_offline_text_shows_file_and_line(cli, monkeypatch):
    monkeypatch.chdir(TERRAFORM.parent.parent)
    run = cli("scan", "examples/terraform", "--access-data", "examples/access-data.json")
    assert f"unused  dynamodb               Amazon DynamoDB  (granted at {MODULE}:77)" in run.out


def test_account_unknown_offline_is_unresolved_with_reason(cli, tmp_path):
    data = tmp_path / "a.json"
    data.write_text(json.dumps({
        "arn:aws:iam::111111111111:role/a": {"JobStatus": "COMPLETED", "ServicesLastAccessed": []},
        "arn:aws:iam::222222222222:role/b": {"JobStatus": "COMPLETED", "ServicesLastAccessed": []},
    }))
    run = cli("scan", str(TERRAFORM), "--access-data", str(data), "--format", "json")
    assert {p["status"] for p in run.json["principals"]} == {"unresolved"}
    assert "--account-id" in run.json["principals"][0]["error"]
    with_account = cli("scan", str(TERRAFORM), "--access-data", str(data), "--account-id", "111111111111",
                       "--format", "json")
    assert {p["status"] for p in with_account.json["principals"]} == {"no-data"}


def test_broken_file_is_one_error_and_the_rest_is_analysed(cli, tmp_path):
    tree = tmp_path / "tf"
    shutil.copytree(TERRAFORM, tree)
    (tree / "broken.tf").write_text('resource "aws_iam_role" "x" {\n  name = \n}\n')
    run = cli("scan", str(tree), "--access-data", str(EXAMPLES / "access-data.json"), "--format", "json")
    [error] = run.json["errors"]
    assert error["file"] == str(tree / "broken.tf") and error["line"] in (2, 3)
    assert principals(run)["module.orders.aws_iam_role.worker"]["unused_services"] == ["dynamodb", "sns"]
    assert run.code == 0


@pytest.fixture
def aws_managed_policies(monkeypatch):
    """moto's copy of the AWS managed policies, which it loads only when asked, as its IAM
    backend starts: name this fixture before any that uses IAM."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def test_live_scan_reads_aws_managed_policies_from_iam(aws_managed_policies, cli, monkeypatch, deployed,
                                                       last_accessed):
    """The ECR policy's statements come from IAM (moto has AWS managed policies): a service
    the report lists that neither it nor the code grants is no longer a finding."""
    last_accessed.activity[deployed["deployer"]]["logs"] = None
    monkeypatch.chdir(TERRAFORM.parent.parent)
    run = cli("scan", "examples/terraform", "--format", "json")
    deployer = principals(run)["aws_iam_role.ci_deployer"]
    services = {s["namespace"]: s for s in deployer["services"]}
    assert services["logs"]["state"] == "not-granted"
    assert lines(services["ecr"]) == ["examples/terraform/main.tf:63"]
    assert deployer["unused_services"] == ["lambda"]


def test_denied_policy_read_is_said_once_and_services_stay_findings(aws_managed_policies, cli, monkeypatch,
                                                                    iam, deployed, last_accessed):
    """With moto enforcing IAM policies, a caller denied iam:GetPolicyVersion: one line
    names the permission, and the AWS managed policy's attachment is still what may grant
    the report's other services."""
    import moto.settings

    last_accessed.activity[deployed["deployer"]]["logs"] = None
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="all-but-policy-versions", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                      {"Effect": "Deny", "Action": "iam:GetPolicyVersion", "Resource": "*"}],
    }))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.chdir(TERRAFORM.parent.parent)
    run = cli("scan", "examples/terraform", "--format", "json")
    assert run.err.count("iam:GetPolicyVersion") == 1
    deployer = principals(run)["aws_iam_role.ci_deployer"]
    services = {s["namespace"]: s for s in deployer["services"]}
    assert services["logs"]["state"] == "unused"
    assert lines(services["logs"]) == ["examples/terraform/main.tf:63"]
    assert run.code == 0


def test_fetch_saves_aws_managed_policies_for_offline_scans(aws_managed_policies, cli, monkeypatch, tmp_path,
                                                            deployed, last_accessed):
    last_accessed.activity[deployed["deployer"]]["logs"] = None
    ecr = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser"
    saved = tmp_path / "access.json"
    fetch = cli("fetch", deployed["deployer"], ecr, "--output", str(saved))
    assert fetch.code == 0
    [statement] = json.loads(saved.read_text())[ecr]["PolicyVersion"]["Document"]["Statement"]
    assert "ecr:PutImage" in statement["Action"]
    monkeypatch.chdir(TERRAFORM.parent.parent)
    run = cli("scan", "examples/terraform", "--access-data", str(saved), "--format", "json")
    services = {s["namespace"]: s for s in principals(run)["aws_iam_role.ci_deployer"]["services"]}
    assert services["logs"]["state"] == "not-granted" and services["lambda"]["state"] == "unused"


def test_a_policy_arn_from_the_code_is_escaped_in_warnings(cli, iam, last_accessed, tmp_path):
    role = make_role(iam, "hostile")
    last_accessed.activity[role] = {"s3": None}
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "hostile"\n  assume_role_policy = "{}"\n}\n\n'
        'resource "aws_iam_role_policy_attachment" "a" {\n  role = aws_iam_role.r.name\n'
        '  policy_arn = "arn:aws:iam::123456789012:policy/x\\u001b]0;pwned\\u0007"\n}\n'
    )
    run = cli("scan", str(tmp_path), "--format", "json")
    assert "not a managed policy ARN" in run.err  # and not sent to AWS
    assert "\x1b" not in run.err and "\x07" not in run.err and "policy/x\\x1b]0;pwned\\x07" in run.err
