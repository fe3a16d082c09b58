"""IAM Identity Center permission sets in CloudFormation (issue 27): `AWS::SSO::PermissionSet`
and `AWS::SSO::Assignment`, read through the shared IAM resource table.

Read at the source (`sources.scan_paths`): resolving a permission set to its role in
each account is the resolve stage's, which does not take this kind yet."""

from __future__ import annotations

from pathlib import Path

from iam_lastused.model import Grant, Location, PolicyReference, Principal
from iam_lastused.sources import scan_paths

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Instance: {Type: String, Default: "arn:aws:sso:::instance/ssoins-1234567890abcdef"}
  Sandbox: {Type: String}
Resources:
  DataEngineers:
    Type: AWS::SSO::PermissionSet
    Properties:
      InstanceArn: !Ref Instance
      Name: DataEngineers
      ManagedPolicies:
        - arn:aws:iam::aws:policy/ReadOnlyAccess
        - !Sub arn:${AWS::Partition}:iam::aws:policy/AmazonAthenaFullAccess
      CustomerManagedPolicyReferences:
        - Name: team-data
          Path: /teams/
        - Name: shared-read
      PermissionsBoundary:
        CustomerManagedPolicyReference:
          Name: engineers-boundary
          Path: /boundaries/
      InlinePolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: dynamodb:GetItem
            Resource: "*"
          - Effect: Allow
            Action: [sqs:SendMessage]
            Resource: "*"
  Auditors:
    Type: AWS::SSO::PermissionSet
    Properties:
      InstanceArn: !Ref Instance
      Name: Auditors
      InlinePolicy: '{"Statement": {"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}}'
      PermissionsBoundary:
        ManagedPolicyArn: arn:aws:iam::aws:policy/SecurityAudit
  Unassigned:
    Type: AWS::SSO::PermissionSet
    Properties:
      InstanceArn: !Ref Instance
      Name: Unassigned
  DataEngineersInProduction:
    Type: AWS::SSO::Assignment
    Properties:
      InstanceArn: !Ref Instance
      PermissionSetArn: !GetAtt DataEngineers.PermissionSetArn
      PrincipalId: 11111111-2222-3333-4444-555555555555
      PrincipalType: GROUP
      TargetId: "111111111111"
      TargetType: AWS_ACCOUNT
  DataEngineersInStaging:
    Type: AWS::SSO::Assignment
    Properties:
      InstanceArn: !Ref Instance
      PermissionSetArn: !GetAtt DataEngineers.PermissionSetArn
      PrincipalId: 11111111-2222-3333-4444-555555555555
      PrincipalType: GROUP
      TargetId: "222222222222"
      TargetType: AWS_ACCOUNT
  AuditorsInSandbox:
    Type: AWS::SSO::Assignment
    Properties:
      InstanceArn: !Ref Instance
      PermissionSetArn: !GetAtt Auditors.PermissionSetArn
      PrincipalId: 11111111-2222-3333-4444-555555555555
      PrincipalType: GROUP
      TargetId: !Ref Sandbox
      TargetType: AWS_ACCOUNT
"""


def scanned(tmp_path: Path) -> tuple[dict[str, Principal], tuple[str, ...]]:
    template = tmp_path / "identity-center.yaml"
    template.write_text(TEMPLATE)
    result = scan_paths([template])
    assert result.errors == ()
    return {principal.address: principal for principal in result.principals}, result.notes


def at(tmp_path: Path, line: int) -> Location:
    return Location(str(tmp_path / "identity-center.yaml"), line)


def test_a_permission_set_is_a_principal_granted_at_each_statement_and_entry(tmp_path):
    found, _ = scanned(tmp_path)
    engineers = found["DataEngineers"]
    assert (engineers.kind, engineers.name, engineers.source) == ("permission-set", "DataEngineers",
                                                                  "cloudformation")
    assert engineers.location == at(tmp_path, 6)
    assert engineers.grants is not None
    inline, *attached = engineers.grants
    assert inline.location == at(tmp_path, 22) and inline.known
    assert [(s.location, s.actions) for s in inline.statements] == [
        (at(tmp_path, 25), ("dynamodb:GetItem",)), (at(tmp_path, 28), ("sqs:SendMessage",)),
    ]
    assert [(g.location, g.policy_arn) for g in attached[:2]] == [
        (at(tmp_path, 12), "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        (at(tmp_path, 13), "arn:aws:iam::aws:policy/AmazonAthenaFullAccess"),
    ]


def test_customer_managed_policies_are_named_by_name_and_path_not_known(tmp_path):
    found, _ = scanned(tmp_path)
    references = [g for g in found["DataEngineers"].grants or () if g.policy_reference is not None]
    assert [(g.location, g.policy_reference, g.known) for g in references] == [
        (at(tmp_path, 15), PolicyReference("team-data", "/teams/"), False),
        (at(tmp_path, 17), PolicyReference("shared-read", "/"), False),
    ]


def test_the_permissions_boundary_is_noted_not_granted(tmp_path):
    found, _ = scanned(tmp_path)
    engineers, auditors = found["DataEngineers"], found["Auditors"]
    assert engineers.boundary == Grant(at(tmp_path, 18), known=False,
                                       policy_reference=PolicyReference("engineers-boundary", "/boundaries/"))
    assert engineers.boundary not in (engineers.grants or ())
    assert auditors.boundary is not None
    assert auditors.boundary.policy_arn == "arn:aws:iam::aws:policy/SecurityAudit"
    assert [g.policy_arn for g in auditors.grants or ()] == [None]


def test_an_inline_policy_written_as_json_text_grants_its_statements(tmp_path):
    found, _ = scanned(tmp_path)
    [inline] = found["Auditors"].grants or ()
    assert inline.known and [s.actions for s in inline.statements] == [("cloudtrail:LookupEvents",)]
    assert inline.location == at(tmp_path, 36)


def test_assignments_give_the_accounts_and_one_not_known_is_said(tmp_path):
    found, notes = scanned(tmp_path)
    assert found["DataEngineers"].accounts == ("111111111111", "222222222222")
    assert found["Auditors"].accounts is None
    assert found["Unassigned"].accounts is None
    assert [note for note in notes if "assigned" in note] == [
        "Auditors: assigned to an account that is not known: parameter Sandbox has no value "
        "(--parameter Sandbox=VALUE or --parameters FILE)"
    ]


def test_an_assignment_names_its_permission_set_by_its_arn(tmp_path):
    """`!Ref` of a permission set is `InstanceArn|PermissionSetArn`, not the ARN an
    assignment takes."""
    template = tmp_path / "identity-center.yaml"
    template.write_text(TEMPLATE.replace("!GetAtt DataEngineers.PermissionSetArn", "!Ref DataEngineers"))
    result = scan_paths([template])
    [engineers] = [p for p in result.principals if p.address == "DataEngineers"]
    assert engineers.accounts is None
    assert "DataEngineersInProduction: the permission-set is not known: the physical ID of " \
           "DataEngineers is known only once deployed" in result.notes


def test_a_customer_managed_reference_iam_would_refuse_is_not_shown(tmp_path):
    """Its name and path are the code's to compute: shown only if IAM would take them."""
    (tmp_path / "template.yaml").write_text("""\
Resources:
  Ops:
    Type: AWS::SSO::PermissionSet
    Properties:
      InstanceArn: arn:aws:sso:::instance/ssoins-1234567890abcdef
      Name: Ops
      CustomerManagedPolicyReferences:
        - Name: "$(touch pwned) <script>"
      PermissionsBoundary:
        CustomerManagedPolicyReference:
          Name: "x"
          Path: "no-slashes"
""")
    [ops] = scan_paths([tmp_path]).principals
    [grant] = ops.grants or ()
    assert (grant.location.line, grant.policy_reference, grant.known) == (8, None, False)
    assert grant.unknown and grant.unknown.startswith("the customer managed policy's invalid name")
    assert ops.boundary is not None and ops.boundary.policy_reference is None


def test_a_roles_permissions_boundary_is_noted_not_granted(tmp_path):
    (tmp_path / "template.yaml").write_text("""\
Resources:
  App:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      PermissionsBoundary: arn:aws:iam::aws:policy/PowerUserAccess
""")
    [app] = scan_paths([tmp_path]).principals
    assert app.boundary is not None and app.boundary.policy_arn == "arn:aws:iam::aws:policy/PowerUserAccess"
    assert app.boundary.location.line == 6 and app.grants == ()
