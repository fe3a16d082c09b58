"""CloudFormation through the CLI: templates offline, and stacks and change sets in moto.

moto 5.2's CloudFormation has no AWS::IAM::Group and no SAM transform, so the stack
deployed here is the example template as CloudFormation would run it after SAM's
transform (the function's role written out as an AWS::IAM::Role), less the group.
The group is created by a direct IAM call, and is missing from the stack's
resources, so it is reported not-deployed, as it would be for any logical ID the
stack lacks.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import boto3
import pytest
from conftest import ACCOUNT
from fake_last_accessed import xml_response

ROOT = Path(__file__).parent.parent
TEMPLATE = "examples/cloudformation/template.yaml"
RECENT = datetime.now(timezone.utc) - timedelta(days=1)
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
]}


def document(*actions: str) -> dict:
    statement = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    return {"Version": "2012-10-17", "Statement": [statement]}


DEPLOYED = {
    "Resources": {
        "ReportingRole": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "invoices-reporting", "Path": "/service/", "AssumeRolePolicyDocument": TRUST,
            "Policies": [
                {"PolicyName": "export", "PolicyDocument": document("dynamodb:Query", "s3:PutObject")}
            ],
        }},
        "AnalystsReadPolicy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "ManagedPolicyName": "invoices-analysts-read",
            "PolicyDocument": document("athena:GetQueryResults"),
        }},
        "AnalystUser": {"Type": "AWS::IAM::User", "Properties": {"UserName": "dana.analyst"}},
        "InvoicesApiFunctionRole": {
            "Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}
        },
    }
}


def by_address(run) -> dict[str, dict]:
    return {p["address"]: p for p in run.json["principals"]}


@pytest.fixture
def invoices(iam, last_accessed) -> dict[str, str]:
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(
        StackName="invoices", TemplateBody=json.dumps(DEPLOYED), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    iam.create_group(GroupName="invoices-analysts")
    resources = cloudformation.list_stack_resources(StackName="invoices")["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    arns = {
        "ReportingRole": iam.get_role(RoleName="invoices-reporting")["Role"]["Arn"],
        "InvoicesApiFunctionRole": iam.get_role(RoleName=physical["InvoicesApiFunctionRole"])["Role"]["Arn"],
        "AnalystsReadPolicy": physical["AnalystsReadPolicy"],
        "AnalystUser": iam.get_user(UserName="dana.analyst")["User"]["Arn"],
    }
    last_accessed.activity[arns["ReportingRole"]] = {"dynamodb": RECENT, "s3": RECENT, "sns": None}
    last_accessed.activity[arns["InvoicesApiFunctionRole"]] = {"dynamodb": RECENT, "s3": None, "ses": None}
    last_accessed.activity[arns["AnalystsReadPolicy"]] = {"athena": RECENT, "glue": None, "s3": RECENT}
    last_accessed.activity[arns["AnalystUser"]] = {"iam": None, "athena": RECENT, "s3": RECENT}
    return arns


def test_offline_scan_lists_unused_services_with_the_template_line(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = cli(
        "scan", "examples/cloudformation", "--access-data", "examples/access-data.json", "--format", "json"
    )
    found = by_address(run)
    role = found["ReportingRole"]
    assert (role["source"], role["file"], role["line"]) == ("cloudformation", TEMPLATE, 37)
    assert role["arn"] == "arn:aws:iam::111122223333:role/service/invoices-reporting"
    assert role["unused_services"] == ["sns"]
    [sns] = [s for s in role["services"] if s["namespace"] == "sns"]
    assert sns["granted_by"] == [{"file": TEMPLATE, "line": 67}]
    assert found["AnalystUser"]["unused_services"] == ["cloudwatch", "glue"]
    assert found["AnalystUser"]["stale_services"] == ["iam"]
    assert found["InvoicesApiFunctionRole"]["status"] == "unresolved"
    assert run.code == 0


def test_scan_with_stack_resolves_every_principal_through_the_stack(cli, monkeypatch, invoices):
    monkeypatch.chdir(ROOT)
    run = cli("scan", TEMPLATE, "--stack", "invoices", "--format", "json")
    found = by_address(run)
    for logical_id, arn in invoices.items():
        assert found[f"invoices/{logical_id}"]["arn"] == arn
        assert found[f"invoices/{logical_id}"]["status"] == "analyzed"
    assert invoices["ReportingRole"] == f"arn:aws:iam::{ACCOUNT}:role/service/invoices-reporting"
    assert found["invoices/AnalystsGroup"]["status"] == "not-deployed"
    function_role = found["invoices/InvoicesApiFunctionRole"]
    assert function_role["unused_services"] == ["s3", "ses"]
    assert found["invoices/ReportingRole"]["unused_services"] == ["sns"]
    assert found["invoices/AnalystUser"]["unused_services"] == ["iam"]


def test_stack_mapping_from_file(cli, monkeypatch, tmp_path, invoices):
    monkeypatch.chdir(ROOT)
    mapping = tmp_path / "stacks.yaml"
    mapping.write_text(f"{TEMPLATE}: invoices\n")
    run = cli("scan", "examples/cloudformation", "--stack-from-file", str(mapping), "--format", "json")
    assert by_address(run)["invoices/ReportingRole"]["arn"] == invoices["ReportingRole"]


def test_cfn_stack_reports_against_the_deployed_template(cli, invoices):
    run = cli("cfn", "--stack", "invoices", "--format", "json")
    found = by_address(run)
    role = found["invoices/ReportingRole"]
    assert role["arn"] == invoices["ReportingRole"]
    assert role["file"] == "cloudformation:invoices"
    assert role["unused_services"] == []
    assert [s["state"] for s in role["services"] if s["namespace"] == "sns"] == ["not-granted"]
    assert role["change"] is None


@pytest.fixture
def change_set_template(aws_hooks):
    """moto's GetTemplate ignores ChangeSetName and returns the stack's template; this
    answers that one call, in botocore's documented shape, with the change set's."""
    templates: dict[str, str] = {}

    def answer(request, **_kwargs):
        if "cloudformation." not in request.url:
            return None
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        params = {k: v[0] for k, v in parse_qs(body).items()}
        if params.get("Action") != "GetTemplate" or params.get("ChangeSetName") not in templates:
            return None
        body = escape(templates[params["ChangeSetName"]])
        return xml_response(200, (
            '<GetTemplateResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            f"<GetTemplateResult><TemplateBody>{body}</TemplateBody></GetTemplateResult>"
            "<ResponseMetadata><RequestId>test</RequestId></ResponseMetadata></GetTemplateResponse>"
        ), url=request.url)

    aws_hooks.insert(0, answer)
    return templates


def test_change_set_shows_what_it_adds_and_what_was_never_used(cli, invoices, change_set_template):
    pending = json.loads(json.dumps(DEPLOYED))
    policy = pending["Resources"]["ReportingRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    policy["Statement"][0]["Action"] = ["dynamodb:Query", "s3:PutObject", "sqs:SendMessage"]
    boto3.client("cloudformation").create_change_set(
        StackName="invoices", ChangeSetName="add-queue", TemplateBody=json.dumps(pending),
        ChangeSetType="UPDATE",
    )
    change_set_template["add-queue"] = json.dumps(pending, indent=2)
    run = cli("cfn", "--stack", "invoices", "--change-set", "add-queue", "--format", "json")
    found = by_address(run)
    role = found["invoices/ReportingRole"]
    assert role["change"] == "update"
    assert role["added_services"] == ["sqs"] and role["removed_services"] == []
    assert "sqs" not in role["unused_services"]
    assert found["invoices/AnalystUser"]["change"] == "no-op"
    text = cli("cfn", "--stack", "invoices", "--change-set", "add-queue").out
    assert "this change grants sqs: no usage history yet" in text


def test_unknown_stack_is_one_line_error(cli, iam, last_accessed):
    run = cli("cfn", "--stack", "nope")
    assert run.code == 2 and "cannot read stack nope" in run.err and run.err.count("\n") == 1


PARAMETERISED = {
    "Parameters": {"Team": {"Type": "String"}},
    "Conditions": {"IsPayments": {"Fn::Equals": [{"Ref": "Team"}, "payments"]}},
    "Resources": {
        "Worker": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": {"Fn::Sub": "${Team}-worker"}, "AssumeRolePolicyDocument": TRUST,
            "Policies": [{"PolicyName": "work", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Fn::If": ["IsPayments",
                            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
                            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]},
            ]}}],
        }},
    },
}


def test_a_stack_s_deployed_parameter_values_choose_the_branch(
    cli, iam, last_accessed, tmp_path, monkeypatch
):
    """The template names no value for Team; the stack was deployed with one, which
    --stack reads (cloudformation:DescribeStacks) to decide the Fn::If."""
    boto3.client("cloudformation").create_stack(
        StackName="payments", TemplateBody=json.dumps(PARAMETERISED), Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "Team", "ParameterValue": "payments"}],
    )
    (tmp_path / ".git").mkdir()
    (tmp_path / "template.json").write_text(json.dumps(PARAMETERISED, indent=2))
    monkeypatch.chdir(tmp_path)
    run = cli("scan", "template.json", "--stack", "payments", "--format", "json")
    [worker] = run.json["principals"]
    assert worker["arn"].endswith(":role/payments-worker")
    assert worker["granted_services"] == ["sqs"]
