from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest
from iam_lastused.model import Grant, InputError, Location, Principal, SourceResult
from iam_lastused.sources.cloudformation.stacks import resolve_from_stack
from iam_lastused.sources.cloudformation.template import GENERATED, is_template, scan_template

DATA = Path(__file__).parent / "data" / "cloudformation"
EXAMPLE = Path(__file__).parent.parent / "examples" / "cloudformation" / "template.yaml"
HEADER = 'AWSTemplateFormatVersion: "2010-09-09"\n'


def template(body: str) -> str:
    return HEADER + textwrap.dedent(body)


def write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def scan(tmp_path: Path, text: str, stack: str | None = None) -> SourceResult:
    return scan_template(write(tmp_path, text), stack)


def principals(result: SourceResult) -> dict[str, Principal]:
    return {principal.address: principal for principal in result.principals}


def actions(grant: Grant) -> list[tuple[str, tuple[str, ...]]]:
    return [(statement.effect, statement.actions or statement.not_actions) for statement in grant.statements]


def lines(grant: Grant) -> list[int | None]:
    return [statement.location.line for statement in grant.statements]


def grants(principal: Principal) -> tuple[Grant, ...]:
    assert principal.grants is not None
    return principal.grants


ROLE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: app
      Path: /service/
      Policies:
        - PolicyName: read
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [s3:GetObject, s3:ListBucket]
                Resource: "*"
              - Effect: Deny
                NotAction: iam:*
                Resource: "*"
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/ReadOnlyAccess
        - !Ref SharedPolicy
  SharedPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: sqs:SendMessage
            Resource: "*"
"""


def test_role_inline_and_managed_policies_with_lines(tmp_path: Path) -> None:
    path = write(tmp_path, ROLE)
    role = principals(scan_template(path))["AppRole"]
    assert (role.source, role.kind, role.name, role.path, role.unresolved) == (
        "cloudformation",
        "role",
        "app",
        "/service/",
        None,
    )
    assert role.location == Location(str(path), 3)
    inline, aws_managed, shared = grants(role)
    assert inline.location == Location(str(path), 9)
    assert actions(inline) == [("Allow", ("s3:GetObject", "s3:ListBucket")), ("Deny", ("iam:*",))]
    assert inline.statements[1].not_actions == ("iam:*",)
    assert lines(inline) == [12, 15]
    assert aws_managed == Grant(
        Location(str(path), 19), policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess", known=False
    )
    assert shared.location == Location(str(path), 20)
    assert actions(shared) == [("Allow", ("sqs:SendMessage",))]
    assert lines(shared) == [26]


def test_managed_policy_is_a_principal_with_a_generated_name(tmp_path: Path) -> None:
    path = write(tmp_path, ROLE)
    policy = principals(scan_template(path))["SharedPolicy"]
    assert (policy.kind, policy.name, policy.unresolved) == ("policy", None, GENERATED)
    assert policy.location == Location(str(path), 21)
    (own,) = grants(policy)
    assert own.location == Location(str(path), 24)
    assert actions(own) == [("Allow", ("sqs:SendMessage",))]


def test_stack_addresses_and_pseudo_parameters_in_names(tmp_path: Path) -> None:
    text = template("""\
        Resources:
          Role:
            Type: AWS::IAM::Role
            Properties:
              RoleName: !Sub "${AWS::StackName}-app"
          Other:
            Type: AWS::IAM::Role
            Properties:
              RoleName: !Sub "${AWS::Region}-app"
          Joined:
            Type: AWS::IAM::User
            Properties:
              UserName: !Join ["-", [!Ref "AWS::StackName", "ci"]]
          Escaped:
            Type: AWS::IAM::Group
            Properties:
              GroupName: !Sub "literal-${!NotAVariable}"
        """)
    with_stack = principals(scan(tmp_path, text, stack="orders"))
    assert with_stack["orders/Role"].name == "orders-app"
    assert with_stack["orders/Joined"].name == "orders-ci"
    assert with_stack["orders/Escaped"].name == "literal-${NotAVariable}"
    assert with_stack["orders/Other"].name is None
    assert with_stack["orders/Other"].unresolved == (
        "RoleName is not known: AWS::Region is not given (--region); or give --stack to resolve it"
    )
    without = principals(scan(tmp_path, text))
    assert set(without) == {"Role", "Other", "Joined", "Escaped"}
    assert without["Role"].name is None
    assert without["Role"].unresolved == (
        "RoleName is not known: AWS::StackName is not given (--stack); or give --stack to resolve it"
    )


def test_user_gets_the_policies_of_its_groups(tmp_path: Path) -> None:
    result = scan(
        tmp_path,
        template(
            """\
        Resources:
          Admins:
            Type: AWS::IAM::Group
            Properties:
              GroupName: admins
              Path: /people/
              Policies:
                - PolicyName: ec2
                  PolicyDocument:
                    Statement: {Effect: Allow, Action: "ec2:*", Resource: "*"}
              ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
          Readers:
            Type: AWS::IAM::Group
            Properties:
              GroupName: readers
              Policies:
                - PolicyName: logs
                  PolicyDocument:
                    Statement: [{Effect: Allow, Action: "logs:Get*", Resource: "*"}]
          Alice:
            Type: AWS::IAM::User
            Properties:
              UserName: alice
              Groups: [!Ref Admins, readers, outsiders]
              Policies:
                - PolicyName: keys
                  PolicyDocument:
                    Statement: [{Effect: Allow, Action: iam:CreateAccessKey, Resource: "*"}]
        """
        ),
    )
    found = principals(result)
    admins = found["Admins"]
    assert (admins.kind, admins.name, admins.path) == ("group", "admins", "/people/")
    assert [actions(grant) for grant in grants(admins)] == [[("Allow", ("ec2:*",))], []]
    assert grants(admins)[1].policy_arn == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    alice = found["Alice"]
    assert (alice.kind, alice.name, alice.path) == ("user", "alice", "/")
    assert [actions(grant) for grant in grants(alice)] == [
        [("Allow", ("iam:CreateAccessKey",))],
        [("Allow", ("ec2:*",))],
        [],
        [("Allow", ("logs:Get*",))],
    ]
    assert result.notes == ("Alice: group outsiders is not defined in the template",)


def test_managed_policy_attached_by_ref_and_literal_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        template(
            """\
        Resources:
          Policy:
            Type: AWS::IAM::ManagedPolicy
            Properties:
              ManagedPolicyName: shared
              Path: /team/
              Roles: [!Ref Role]
              Users: [bob]
              Groups:
                - !Ref Ops
                - !Ref Unknown
              PolicyDocument:
                Statement:
                  - Effect: Allow
                    Action: dynamodb:Query
                    Resource: "*"
          Role: {Type: AWS::IAM::Role, Properties: {}}
          Bob: {Type: AWS::IAM::User, Properties: {UserName: bob}}
          Ops: {Type: AWS::IAM::Group}
        """
        ),
    )
    result = scan_template(path)
    found = principals(result)
    policy = found["Policy"]
    assert (policy.kind, policy.name, policy.path, policy.unresolved) == ("policy", "shared", "/team/", None)
    assert [grant.location.line for grant in grants(policy)] == [13]
    for address, line in (("Role", 8), ("Bob", 9), ("Ops", 10)):
        (grant,) = grants(found[address])
        assert grant.location == Location(str(path), line)
        assert actions(grant) == [("Allow", ("dynamodb:Query",))]
        assert lines(grant) == [15]
    assert found["Role"].unresolved == GENERATED
    assert result.notes == ("Policy: the group is not known: Unknown is not defined in the template",)


def test_policy_and_per_principal_policy_resources(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        template(
            """\
        Resources:
          Role: {Type: AWS::IAM::Role, Properties: {RoleName: worker}}
          User: {Type: AWS::IAM::User, Properties: {UserName: carol}}
          Group: {Type: AWS::IAM::Group, Properties: {GroupName: ops}}
          Everyone:
            Type: AWS::IAM::Policy
            Properties:
              PolicyName: everyone
              Roles: [worker]
              Users: [!Ref User]
              Groups: [!Ref Group]
              PolicyDocument:
                Statement:
                  - {Effect: Allow, Action: sts:GetCallerIdentity, Resource: "*"}
          RoleOnly:
            Type: AWS::IAM::RolePolicy
            Properties:
              RoleName: !Ref Role
              PolicyName: role-only
              PolicyDocument: {Statement: [{Effect: Allow, Action: sqs:*, Resource: "*"}]}
          UserOnly:
            Type: AWS::IAM::UserPolicy
            Properties:
              UserName: carol
              PolicyName: user-only
              PolicyDocument: {Statement: [{Effect: Allow, Action: sns:Publish, Resource: "*"}]}
          GroupOnly:
            Type: AWS::IAM::GroupPolicy
            Properties:
              GroupName: !Ref Group
              PolicyName: group-only
              PolicyDocument: {Statement: [{Effect: Allow, Action: kms:Decrypt, Resource: "*"}]}
          Membership:
            Type: AWS::IAM::UserToGroupAddition
            Properties:
              GroupName: ops
              Users: [!Ref User]
        """
        ),
    )
    found = principals(scan_template(path))
    role, user, group = found["Role"], found["User"], found["Group"]
    assert [grant.location.line for grant in grants(role)] == [10, 16]
    assert [actions(grant) for grant in grants(role)] == [
        [("Allow", ("sts:GetCallerIdentity",))],
        [("Allow", ("sqs:*",))],
    ]
    assert lines(grants(role)[0]) == [15]
    assert [actions(grant) for grant in grants(group)] == [
        [("Allow", ("sts:GetCallerIdentity",))],
        [("Allow", ("kms:Decrypt",))],
    ]
    assert [grant.location.line for grant in grants(user)] == [11, 22, 12, 28]
    assert [actions(grant)[0][1][0] for grant in grants(user)] == [
        "sts:GetCallerIdentity",
        "sns:Publish",
        "sts:GetCallerIdentity",
        "kms:Decrypt",
    ]


SAM = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      RolePath: /lambda/
      Policies:
        - S3ReadPolicy:
            BucketName: !Ref Bucket
        - DynamoDBCrudPolicy: {TableName: orders}
        - AmazonS3ReadOnlyAccess
        - AWSLambdaVPCAccessExecutionRole
        - arn:aws:iam::111122223333:policy/custom
        - !Ref PolicyArnParameter
        - Statement:
            - Effect: Allow
              Action: [ses:SendEmail]
              Resource: "*"
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition: {StartAt: A, States: {A: {Type: Succeed}}}
      Policies:
        Statement:
          - Effect: Allow
            Action: lambda:InvokeFunction
            Resource: "*"
  Shared:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Role: !GetAtt ExistingRole.Arn
      Policies: [AmazonS3ReadOnlyAccess]
  ExtraPermissions:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [!Ref ApiRole]
      PolicyDocument:
        Statement: [{Effect: Allow, Action: xray:PutTraceSegments, Resource: "*"}]
"""


def test_sam_translates_and_each_policy_is_at_its_policies_entry(tmp_path: Path) -> None:
    """SAM's own transform makes the roles; each policy points at the entry that asked for it."""
    path = write(tmp_path, SAM)
    result = scan_template(path, stack="svc")
    found = principals(result)
    assert set(found) == {"svc/ApiRole", "svc/MachineRole"}  # Shared has its own role
    role = found["svc/ApiRole"]
    assert (role.kind, role.name, role.path, role.unresolved) == ("role", None, "/lambda/", GENERATED)
    assert role.location == Location(str(path), 5)
    by_line = {grant.location.line: grant for grant in grants(role)}
    assert {"s3:GetObject", "s3:ListBucket"} <= set(by_line[12].statements[0].actions)
    assert by_line[12].statements[0].resources is None  # the bucket's name is known once deployed
    crud = set(by_line[14].statements[0].actions)
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"} <= crud
    assert by_line[15].policy_arn == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    assert by_line[16].policy_arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    assert by_line[17].policy_arn == "arn:aws:iam::111122223333:policy/custom"
    assert (by_line[18].policy_arn, by_line[18].known) == (None, False)
    assert actions(by_line[19]) == [("Allow", ("ses:SendEmail",))] and lines(by_line[19]) == [20]
    assert by_line[5].policy_arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert actions(by_line[43]) == [("Allow", ("xray:PutTraceSegments",))]
    assert result.errors == ()
    assert result.notes == (
        "svc/ApiRole: the policy ARN is not known: PolicyArnParameter is not defined in the template",
    )


def test_sam_state_machine_with_a_single_policy_document(tmp_path: Path) -> None:
    machine = principals(scan(tmp_path, SAM))["MachineRole"]
    assert machine.location.line == 23
    (document,) = grants(machine)
    assert actions(document) == [("Allow", ("lambda:InvokeFunction",))]
    assert (document.location.line, lines(document)) == (28, [29])


def test_sam_refuses_what_sam_refuses_at_the_resource(tmp_path: Path) -> None:
    bad = "        - NoSuchPolicyTemplate: {}\n        - Statement:\n"
    path = write(tmp_path, SAM.replace("        - Statement:\n", bad))
    result = scan_template(path)
    assert result.principals == ()
    (error,) = result.errors
    assert error.line == 5 and "Resource with id [Api] is invalid" in error.message


def test_intrinsics_in_policies_make_grants_unknown(tmp_path: Path) -> None:
    role = principals(
        scan(
            tmp_path,
            template(
                """\
            Conditions:
              Prod: !Equals [!Ref Stage, prod]
            Resources:
              Role:
                Type: AWS::IAM::Role
                Properties:
                  RoleName: r
                  Policies:
                    - PolicyName: mixed
                      PolicyDocument:
                        Statement:
                          - Effect: Allow
                            Action: [s3:GetObject, !Sub "s3:${Verb}"]
                            Resource: !Sub "arn:${AWS::Partition}:s3:::b/*"
                          - !If
                            - Prod
                            - {Effect: Allow, Action: "kms:*", Resource: "*"}
                            - !Ref AWS::NoValue
                          - Effect: !Ref EffectParameter
                            Action: sns:Publish
                    - PolicyName: whole
                      PolicyDocument: !If [Prod, {Statement: []}, !Ref AWS::NoValue]
                    - !If [Prod, {PolicyName: x, PolicyDocument: {}}, !Ref AWS::NoValue]
                    - PolicyName: sid-only
                      PolicyDocument:
                        Statement:
                          - Effect: Allow
                            Action: s3:ListBucket
                            Resource: "*"
                  ManagedPolicyArns:
                    - !Sub "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"
            """
            ),
        )
    )["Role"]
    mixed, whole, conditional, plain, managed = grants(role)
    assert not mixed.known
    assert actions(mixed) == [("Allow", ("s3:GetObject",))]
    assert mixed.statements[0].resources == ("arn:aws:s3:::b/*",)  # AWS::Partition is aws
    assert lines(mixed) == [13]
    assert (whole.known, whole.statements) == (False, ())
    assert (conditional.known, conditional.location.line) == (False, 24)
    assert plain.known and actions(plain) == [("Allow", ("s3:ListBucket",))]
    assert plain.statements[0].resources == ("*",)
    assert (managed.known, managed.policy_arn, managed.location.line) == (
        False, "arn:aws:iam::aws:policy/ReadOnlyAccess", 32
    )


def test_json_template_long_forms_and_lines() -> None:
    path = DATA / "role.json"
    assert is_template(path)
    result = scan_template(path, stack="prod")
    (role,) = result.principals
    assert (role.address, role.name, role.location) == (
        "prod/WorkerRole",
        "prod-worker",
        Location(str(path), 7),
    )
    (grant,) = grants(role)
    assert grant.location.line == 13
    assert not grant.known
    assert actions(grant)[0] == ("Allow", ("sqs:ReceiveMessage", "sqs:DeleteMessage"))
    assert lines(grant) == [18, 19]


def test_policy_document_given_as_json_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        template(
            """\
        Resources:
          Role:
            Type: AWS::IAM::Role
            Properties:
              Policies:
                - PolicyName: text
                  PolicyDocument: '{"Statement": [{"Effect": "Allow", "Action": "ecr:ListImages"}]}'
                - PolicyName: broken
                  PolicyDocument: '{"Statement": ['
        """
        ),
    )
    result = scan_template(path)
    text, broken = grants(principals(result)["Role"])
    assert actions(text) == [("Allow", ("ecr:ListImages",))]
    assert lines(text) == [8]
    assert not broken.known
    assert [(error.file, error.line) for error in result.errors] == [(str(path), 10)]


def test_resolve_from_stack_fills_physical_ids() -> None:
    principals_ = [
        Principal("svc/ApiRole", "cloudformation", "role", unresolved=GENERATED),
        Principal("svc/Admins", "cloudformation", "group", name="admins"),
        Principal("svc/Shared", "cloudformation", "policy", unresolved=GENERATED),
        Principal("svc/Gone", "cloudformation", "user", unresolved=GENERATED),
        Principal("arn:aws:iam::111122223333:role/x", "arn", "role", arn="arn:aws:iam::111122223333:role/x"),
    ]
    stack_resources = {
        "ApiRole": "svc-ApiRole-1A2B3C",
        "Admins": "admins",
        "Shared": "arn:aws:iam::111122223333:policy/team/svc-Shared-9Z8Y",
        "Bucket": "svc-bucket",
    }
    asked: list[tuple[str, str]] = []

    def path_of(kind: str, name: str) -> str | None:
        asked.append((kind, name))
        return "/lambda/" if kind == "role" else None

    api_role, admins, shared, gone, by_arn = resolve_from_stack(principals_, stack_resources, path_of)
    assert (api_role.name, api_role.path, api_role.unresolved) == ("svc-ApiRole-1A2B3C", "/lambda/", None)
    assert (admins.name, admins.path) == ("admins", "/")
    assert (shared.arn, shared.name, shared.path, shared.unresolved) == (
        "arn:aws:iam::111122223333:policy/team/svc-Shared-9Z8Y",
        "svc-Shared-9Z8Y",
        "/team/",
        None,
    )
    assert (gone.deployed, gone.unresolved) == (False, None)
    assert by_arn == principals_[4]
    assert asked == [("role", "svc-ApiRole-1A2B3C"), ("group", "admins")]


def test_broken_template_next_to_a_good_one(tmp_path: Path) -> None:
    good = write(tmp_path, ROLE, "good.yaml")
    broken = DATA / "broken.yaml"
    assert is_template(broken) and is_template(good)
    results = [scan_template(path) for path in (broken, good)]
    assert results[0] == SourceResult(
        errors=(InputError("cannot parse: did not find expected ',' or ']'", str(broken), 7),)
    )
    assert set(principals(results[1])) == {"AppRole", "SharedPolicy"}


def test_duplicate_keys_and_unsupported_transforms_are_input_errors(tmp_path: Path) -> None:
    duplicate = scan(tmp_path, "Resources:\n  A:\n    Type: AWS::IAM::Role\n  A:\n    Type: AWS::IAM::User\n")
    assert [(error.message, error.line) for error in duplicate.errors] == [
        ("cannot parse: Duplicate found 'A' (line 2)", 2)
    ]
    transformed = scan(
        tmp_path,
        HEADER + "Transform: [AWS::Serverless-2016-10-31, AWS::Include]\n" + ROLE[len(HEADER) :],
    )
    assert transformed.principals == ()
    assert [(error.message, error.line) for error in transformed.errors] == [(
        "unsupported transform AWS::Include: only AWS::Serverless-2016-10-31 and AWS::LanguageExtensions "
        "are understood", 2
    )]


def test_non_templates_are_skipped(tmp_path: Path) -> None:
    compose = DATA / "not-a-template.yaml"
    assert not is_template(compose)
    assert scan_template(compose) == SourceResult()
    listed = write(tmp_path, "- Type: AWS::IAM::Role\n- Resources: 1\n", "list.yaml")
    assert scan_template(listed) == SourceResult()
    assert not is_template(write(tmp_path, ROLE, "template.txt"))
    assert not is_template(tmp_path / "missing.yaml")


def test_odd_shapes_do_not_raise(tmp_path: Path) -> None:
    result = scan(
        tmp_path,
        template(
            """\
        Resources:
          NoProperties: {Type: AWS::IAM::Role, Properties: [1, 2]}
          Scalar: 3
          Untyped: {Properties: {}}
          Role:
            Type: AWS::IAM::Role
            Properties:
              RoleName: 42
              Policies: !Ref Policies
              ManagedPolicyArns: arn:aws:iam::aws:policy/ReadOnlyAccess
          Fn:
            Type: AWS::Serverless::Function
            Properties: {Policies: 7}
        """
        ),
    )
    found = principals(result)
    assert set(found) == {"NoProperties", "Role"}  # no SAM transform: Fn is no function of SAM's
    assert (found["Role"].name, grants(found["Role"])[0].known) == (None, False)
    assert grants(found["Role"])[1].policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert [error.message for error in result.errors] == [
        "Fn: unrecognized resource type AWS::Serverless::Function: "
        "it needs Transform: AWS::Serverless-2016-10-31"
    ]


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    (error,) = scan_template(missing).errors
    assert (error.file, error.line) == (str(missing), None)
    assert error.message.startswith("cannot read")


def test_principals_hold_plain_strings(tmp_path: Path) -> None:
    result = scan(tmp_path, SAM)
    assert pickle.loads(pickle.dumps(result)) == result


@pytest.mark.parametrize("stack", [None, "invoices"])
def test_example_template(stack: str | None) -> None:
    result = scan_template(EXAMPLE, stack)
    assert (result.errors, result.notes) == ((), ())
    prefix = f"{stack}/" if stack else ""
    found = {principal.address.removeprefix(prefix): principal for principal in result.principals}
    assert {(p.kind, p.name, p.path) for p in found.values()} == {
        ("role", "invoices-reporting", "/service/"),
        ("policy", "invoices-analysts-read", "/"),
        ("group", "invoices-analysts", "/"),
        ("user", "dana.analyst", "/"),
        ("role", None, "/"),
    }
    user_actions = {
        action for grant in grants(found["AnalystUser"]) for s in grant.statements for action in s.actions
    }
    assert {"iam:ListAccessKeys", "athena:GetQueryResults", "cloudwatch:GetDashboard"} <= user_actions
    assert found["InvoicesApiFunctionRole"].unresolved == GENERATED


def test_sam_template_with_a_type_that_is_not_a_string_does_not_raise(tmp_path: Path) -> None:
    text = SAM + "  Odd:\n    Type: {Not: AString}\n    Properties: {CodeUri: src/}\n"
    result = scan(tmp_path, text)
    assert isinstance(result, SourceResult)  # SAM's own verdict, as an error or principals
