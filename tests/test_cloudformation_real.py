"""CloudFormation as real templates write it, through the CLI's JSON: parameters and
their files, pseudo parameters, conditions, mappings and intrinsics, the
AWS::LanguageExtensions transform and SAM's own transform."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

ACCOUNT = "111122223333"
HEADER = 'AWSTemplateFormatVersion: "2010-09-09"\n'


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "access.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def scan(cli: Any, text: str, *options: str) -> tuple[Any, dict[str, Any]]:
    Path("template.yaml").write_text(HEADER + textwrap.dedent(text))
    run = cli("scan", "template.yaml", "--access-data", "access.json", "--account-id", ACCOUNT,
              "--format", "json", *options)
    report = json.loads(run.out)
    return run, report


def principals(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["address"]: p for p in report["principals"]}


NAMED = """\
Parameters:
  Env: {Type: String, Default: prod}
  Team: {Type: String}
Resources:
  Orders:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "shop-orders-${Env}"
  Billing:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Join ["-", [!Ref Team, billing]]
"""


def test_names_from_defaults_resolve_and_a_parameter_with_no_value_says_so(cli, repo):
    _, report = scan(cli, NAMED)
    found = principals(report)
    assert found["Orders"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/shop-orders-prod"
    assert found["Billing"]["status"] == "unresolved"
    assert found["Billing"]["error"] == (
        "RoleName is not known: parameter Team has no value (--parameter Team=VALUE or --parameters FILE); "
        "or give --stack to resolve it"
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("params.json", json.dumps([{"ParameterKey": "Env", "ParameterValue": "dev"},
                                    {"ParameterKey": "Team", "ParameterValue": "finance"}])),
        ("pipeline.json", json.dumps({"Parameters": {"Env": "dev", "Team": "finance"}})),
        ("samconfig.toml", textwrap.dedent("""\
            version = 0.1
            [default.build.parameters]
            parameter_overrides = "Env=build"
            [default.deploy.parameters]
            parameter_overrides = "Env=dev Team=\\"finance\\""
            """)),
    ],
)
def test_each_parameters_file_shape(cli, repo, name, content):
    Path(name).write_text(content)
    _, report = scan(cli, NAMED, "--parameters", name)
    found = principals(report)
    assert found["Orders"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/shop-orders-dev"
    assert found["Billing"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/finance-billing"


def test_parameter_on_the_command_line_wins_over_the_file(cli, repo):
    Path("params.json").write_text(json.dumps({"Parameters": {"Env": "dev", "Team": "a"}}))
    _, report = scan(cli, NAMED, "--parameters", "params.json", "--parameter", "Env=qa",
                       "--parameter", "Team=b")
    found = principals(report)
    assert found["Orders"]["arn"].endswith(":role/shop-orders-qa")
    assert found["Billing"]["arn"].endswith(":role/b-billing")


def test_bad_parameters_file_is_a_usage_error_that_quotes_nothing_of_it(cli, repo):
    Path("params.json").write_text('{"Parameters": "sekrit-token-value"}')
    run = cli("scan", ".", "--parameters", "params.json", "--access-data", "access.json")
    assert run.code == 2
    assert "params.json" in run.err and "sekrit" not in run.err
    Path("params.json").write_text("sekrit-token-value")
    run = cli("scan", ".", "--parameters", "params.json", "--access-data", "access.json")
    assert run.code == 2 and "not valid JSON" in run.err and "sekrit" not in run.err
    run = cli("scan", ".", "--parameter", "novalue", "--access-data", "access.json")
    assert run.code == 2 and "KEY=VALUE" in run.err


def test_config_file_may_name_a_parameters_file_only_inside_the_repository(cli, repo, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "params.json"
    outside.write_text("[]")
    Path(".iam-lastused.toml").write_text(f"parameters = {json.dumps(str(outside))}\n")
    run = cli("scan", ".", "--access-data", "access.json")
    assert run.code == 2 and "parameters" in run.err and "not read" in run.err


PSEUDO = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "${AWS::Region}-${AWS::AccountId}-app"
      ManagedPolicyArns:
        - !Sub "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: s3:GetObject
                Resource: !Sub "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::URLSuffix}/*"
"""


def test_pseudo_parameters(cli, repo):
    _, report = scan(cli, PSEUDO, "--region", "eu-west-1")
    role = principals(report)["Role"]
    assert role["arn"] == f"arn:aws:iam::{ACCOUNT}:role/eu-west-1-{ACCOUNT}-app"
    _, report = scan(cli, PSEUDO)
    role = principals(report)["Role"]
    assert role["error"] == (
        "RoleName is not known: AWS::Region is not given (--region); or give --stack to resolve it"
    )
    assert "ReadOnlyAccess" not in json.dumps(report["notes"])  # the partition is known: aws


CONDITIONS = """\
Parameters:
  Env: {Type: String, Default: prod, AllowedValues: [prod, dev]}
  Region: {Type: String, Default: eu}
Mappings:
  Buckets:
    eu: {Name: eu-bucket, Services: "s3,sqs"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Equals [!Ref Region, eu]]
  Either: !Or [!Condition IsDev, !Equals [a, b]]
Resources:
  DevOnly:
    Type: AWS::IAM::Role
    Condition: IsDev
    Properties: {RoleName: dev-only}
  App:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !FindInMap [Buckets, !Ref Region, Name]
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - !If
                - Both
                - {Effect: Allow, Action: "dynamodb:Query", Resource: "*"}
                - {Effect: Allow, Action: "kinesis:GetRecords", Resource: "*"}
              - !If [Either, {Effect: Allow, Action: "sns:Publish", Resource: "*"}, !Ref AWS::NoValue]
              - Effect: Allow
                Action: !Sub
                  - "${Service}:SendMessage"
                  - Service: !Select [1, !Split [",", !FindInMap [Buckets, eu, Services]]]
                Resource: "*"
        - !If
          - IsDev
          - {PolicyName: d, PolicyDocument: {Statement: [{Effect: Allow, Action: "ec2:*", Resource: "*"}]}}
          - !Ref AWS::NoValue
"""


def test_conditions_mappings_and_intrinsics(cli, repo):
    _, report = scan(cli, CONDITIONS)
    found = principals(report)
    assert set(found) == {"App"}  # DevOnly's condition is false: it does not exist
    assert found["App"]["arn"].endswith(":role/eu-bucket")
    assert found["App"]["granted_services"] == ["dynamodb", "sqs"]
    _, report = scan(cli, CONDITIONS, "--parameter", "Env=dev")
    found = principals(report)
    assert set(found) == {"App", "DevOnly"}
    assert found["App"]["granted_services"] == ["ec2", "kinesis", "sns", "sqs"]


def test_a_condition_not_known_keeps_the_resource_and_says_so(cli, repo):
    text = CONDITIONS.replace("Default: prod, AllowedValues: [prod, dev]", "AllowedValues: [prod, dev]")
    _, report = scan(cli, text)
    found = principals(report)
    assert set(found) == {"App", "DevOnly"}
    assert any("DevOnly: condition IsDev is not known" in note for note in report["notes"])
    assert "dynamodb" not in found["App"]["granted_services"]  # behind a condition not known


FOREACH = """\
Transform: AWS::LanguageExtensions
Parameters:
  Teams: {Type: CommaDelimitedList, Default: "red,blue"}
Resources:
  Fn::ForEach::TeamRoles:
    - Team
    - !Ref Teams
    - "${Team}Role":
        Type: AWS::IAM::Role
        Properties:
          RoleName: !Sub "team-${Team}"
          Policies:
            - PolicyName: p
              PolicyDocument:
                Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]
"""


def test_for_each_is_expanded_at_its_line(cli, repo):
    _, report = scan(cli, FOREACH)
    found = principals(report)
    assert set(found) == {"redRole", "blueRole"}
    assert {p["line"] for p in found.values()} == {6}
    assert found["redRole"]["arn"].endswith(":role/team-red")
    assert found["blueRole"]["granted_services"] == ["s3"]
    _, report = scan(cli, FOREACH, "--parameter", "Teams=green")
    assert set(principals(report)) == {"greenRole"}


SAM = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Tracing: Active
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition: {StartAt: A, States: {A: {Type: Succeed}}}
      Events:
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 day)
"""


def test_sam_roles_are_those_sam_makes(cli, repo):
    _, report = scan(cli, SAM)
    found = principals(report)
    assert {"WorkerRole", "MachineRole", "MachineNightlyRole"} <= set(found)
    assert found["WorkerRole"]["line"] == 6
    assert found["MachineNightlyRole"]["line"] == 23  # the event it came from
    assert {"states"} <= set(found["MachineNightlyRole"]["granted_services"])
    assert report["errors"] == []


def test_unknown_cloudformation_grants_say_why(cli, tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "t.yaml").write_text("""\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Bucket:
    Type: String
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: app
      AssumeRolePolicyDocument: {}
      ManagedPolicyArns:
        - !Ref Bucket
""")
    monkeypatch.chdir(tmp_path)
    run = cli("scan", "t.yaml", "--account-id", "111122223333", "--format", "json")
    [principal] = run.json["principals"]
    assert principal["grants_complete"] is False
    assert principal["unknown_grants"] == [{
        "file": "t.yaml", "line": 12,
        "reason": "the policy ARN is not known: parameter Bucket has no value "
                  "(--parameter Bucket=VALUE or --parameters FILE)",
    }]


def test_the_example_with_its_parameters_file_and_a_stage_that_is_not_prod(cli, monkeypatch):
    """The issue's done-when on the example: names from parameters and pseudo parameters
    resolve, a resource whose condition is false is skipped, and Fn::If follows the
    branch the values choose."""
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)
    common = ("scan", "examples/cloudformation", "--account-id", "111122223333",
              "--access-data", "examples/access-data.json", "--format", "json")
    with_file = cli(*common, "--parameters", "examples/cloudformation/parameters.json")
    prod = {p["address"]: p for p in with_file.json["principals"]}
    assert prod["ReportingRole"]["arn"] == "arn:aws:iam::111122223333:role/service/invoices-reporting"
    assert "DebugRole" not in prod
    assert "s3" in prod["ReportingRole"]["granted_services"]
    dev = {p["address"]: p for p in cli(*common, "--parameter", "Stage=dev").json["principals"]}
    assert dev["DebugRole"]["arn"] == "arn:aws:iam::111122223333:role/invoices-debug-dev"
    assert "s3" not in dev["ReportingRole"]["granted_services"]
