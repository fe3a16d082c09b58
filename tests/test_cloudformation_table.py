"""CloudFormation on the shared IAM resource table (issue 24): a new CloudFormation IAM
resource type is one entry of `iam_resources.CLOUDFORMATION`, read by the one collector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from iam_lastused.sources import scan_paths
from iam_lastused.sources.iam_resources import CLOUDFORMATION, ResourceType

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Worker:
    Type: AWS::IAM::Role
    Properties:
      RoleName: worker
      AssumeRolePolicyDocument: {}
      Policies:
        - PolicyName: queue
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: "sqs:SendMessage", Resource: "*"}
  WorkerGrant:
    Type: AWS::IAM::RoleGrant
    Properties:
      Role: !Ref Worker
      Document:
        Statement:
          - {Effect: Allow, Action: "sns:Publish", Resource: "*"}
"""
"""`AWS::IAM::RoleGrant` is no type CloudFormation has: the tests give it an entry."""

ARN = "arn:aws:iam::111122223333:role/worker"
SERVICES = [
    {"ServiceName": "Amazon SQS", "ServiceNamespace": "sqs", "TotalAuthenticatedEntities": 1,
     "LastAuthenticated": "2026-11-24T06:12:44+00:00", "LastAuthenticatedRegion": "eu-west-1"},
    {"ServiceName": "Amazon SNS", "ServiceNamespace": "sns", "TotalAuthenticatedEntities": 0},
]


@pytest.fixture
def scan(cli, tmp_path: Path):
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    access_data = tmp_path / "access-data.json"
    access_data.write_text(json.dumps({ARN: {
        "JobStatus": "COMPLETED", "JobType": "SERVICE_LEVEL", "IsTruncated": False,
        "JobCreationDate": "2026-11-24T08:00:03+00:00", "JobCompletionDate": "2026-11-24T08:00:09+00:00",
        "ServicesLastAccessed": SERVICES,
    }}))

    def run() -> dict:
        run = cli("scan", str(template), "--access-data", str(access_data), "--account-id", "111122223333",
                  "--format", "json")
        assert run.code == 0, run.err
        [worker] = run.json["principals"]
        assert worker["arn"] == ARN
        return worker

    return run


def test_a_new_type_that_grants_a_document_is_one_entry(scan, monkeypatch, tmp_path):
    assert scan()["unused_services"] == []  # a type without an entry grants nothing
    monkeypatch.setitem(CLOUDFORMATION, "AWS::IAM::RoleGrant",
                        ResourceType(document="Document", targets=(("Role", "role"),)))
    worker = scan()
    assert worker["unused_services"] == ["sns"]
    [sns] = [s for s in worker["services"] if s["namespace"] == "sns"]
    assert sns["granted_by"] == [{"file": str(tmp_path / "template.yaml"), "line": 19}]


def test_a_new_type_that_attaches_a_policy_to_the_roles_it_lists_is_one_entry(tmp_path, monkeypatch):
    """A policy given to the principals a list names is located at the list (as a
    policy's Roles): the grant, not its statements."""
    monkeypatch.setitem(CLOUDFORMATION, "AWS::IAM::RoleGrant",
                        ResourceType(document="Document", attaches=(("Roles", "role"),)))
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE.replace("      Role: !Ref Worker", "      Roles:\n        - !Ref Worker"))
    [worker] = scan_paths([template]).principals
    grants = worker.grants or ()
    lines = [(grant.location.line, [each.location.line for each in grant.statements]) for grant in grants]
    assert lines == [(9, [12]), (16, [20])]

