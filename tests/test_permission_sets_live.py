"""IAM Identity Center permission sets judged by the role they provision in each assigned
account (issue 27): the accounts from the code or from sso-admin, each role found by name
under the reserved path in its account, the roles' reports joined into one verdict.
moto is AWS (IAM and STS in several accounts, SSO Admin); the last-accessed reports are
the fake's."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, iam_in, make_role
from fake_access_analyzer import AccessAnalyzerFake
from fake_last_accessed import LastAccessedFake, json_error, xml_response
from iam_lastused import api
from iam_lastused.aws.permissions import ALLOWED_OPERATIONS, IDENTITY_CENTER_OPERATIONS, policy_actions
from iam_lastused.model import AccountRole, PrincipalResult
from iam_lastused.store.snapshots import About, encode, snapshot_name
from moto.iam.models import iam_backends
from test_permission_sets_terraform import applied

PROD, DEV, SANDBOX, NEW = "111111111111", "222222222222", "333333333333", "444444444444"
TEMPLATE = "arn:aws:iam::{account_id}:role/iam-lastused"
RESERVED = "/aws-reserved/sso.amazonaws.com/"
NOW = datetime.now(timezone.utc)
DAY = timedelta(days=1)

POLICY = """
resource "aws_ssoadmin_permission_set" "developers" {
  name         = "Developers"
  instance_arn = "arn:aws:sso:::instance/ssoins-1111111111111111"
}

resource "aws_ssoadmin_permission_set_inline_policy" "developers" {
  instance_arn       = "arn:aws:sso:::instance/ssoins-1111111111111111"
  permission_set_arn = aws_ssoadmin_permission_set.developers.arn
  inline_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject", "ec2:DescribeInstances", "sqs:SendMessage", "dynamodb:GetItem"]
      Resource = "*"
    }]
  })
}
"""


def renamed(name: str) -> str:
    """POLICY's permission set under another name (`name` for its address, `Name` in Identity Center)."""
    return POLICY.replace('"developers"', f'"{name}"').replace('"Developers"', f'"{name.capitalize()}"') \
        .replace(".developers.", f".{name}.")


def assignment(name: str, permission_set: str, accounts: tuple[str, ...]) -> str:
    return f"""
resource "aws_ssoadmin_account_assignment" "{name}" {{
  for_each           = toset({json.dumps(list(accounts))})
  instance_arn       = "arn:aws:sso:::instance/ssoins-1111111111111111"
  permission_set_arn = aws_ssoadmin_permission_set.{permission_set}.arn
  principal_id       = "90676f2e5a-1234abcd-0000-0000-0000-000000000000"
  principal_type     = "GROUP"
  target_id          = each.value
  target_type        = "AWS_ACCOUNT"
}}
"""


def reserved_role(account: str, name: str, suffix: str = "0123456789abcdef", region: str = "") -> str:
    """The role Identity Center provisions in `account` for the permission set `name`."""
    path = f"{RESERVED}{region}/" if region else RESERVED
    return make_role(iam_in(account), f"AWSReservedSSO_{name}_{suffix}", path)


def code(tmp_path: Path, *blocks: str) -> str:
    (tmp_path / "main.tf").write_text("".join(blocks))
    return str(tmp_path)


def principal(result: Any, address: str) -> PrincipalResult:
    return next(p for p in result.principals if p.principal.address == address)


def by_namespace(result: PrincipalResult) -> dict[str, tuple[str, datetime | None, tuple[str, ...]]]:
    return {s.namespace: (s.state, s.last_accessed, s.accounts) for s in result.services}


@pytest.fixture
def three_accounts(iam: Any, last_accessed: LastAccessedFake) -> dict[str, str]:
    """Developers' roles in three accounts, each used differently; a fourth account has
    none yet. Sandbox's role is under a region segment, and its report lists no sqs (its
    customer managed policy there grants none). A longer-named permission set's role
    in prod used sqs: it is not Developers'."""
    roles = {
        PROD: reserved_role(PROD, "Developers"),
        DEV: reserved_role(DEV, "Developers", "fedcba9876543210"),
        SANDBOX: reserved_role(SANDBOX, "Developers", "00112233aabbccdd", region="eu-west-1"),
    }
    long_ago = NOW - 200 * DAY
    last_accessed.activity[roles[PROD]] = {"s3": NOW - DAY, "ec2": None, "sqs": None, "dynamodb": long_ago}
    last_accessed.activity[roles[DEV]] = {"s3": None, "ec2": long_ago, "sqs": None, "dynamodb": None}
    last_accessed.activity[roles[SANDBOX]] = {"s3": None, "ec2": NOW - 300 * DAY, "dynamodb": NOW - 10 * DAY}
    other = reserved_role(PROD, "DevelopersAdmin")
    last_accessed.activity[other] = {"sqs": NOW - DAY}
    return roles


def test_one_verdict_across_the_assigned_accounts(cli, three_accounts, tmp_path):
    root = code(tmp_path, POLICY, assignment("developers", "developers", (PROD, DEV, SANDBOX, NEW)))
    run = cli("scan", root, "--format", "json", "--assume-role-arn", TEMPLATE, "--no-cache")
    assert run.code == 0, run.err
    [found] = [p for p in run.json["principals"] if p["kind"] == "permission-set"]
    assert (found["address"], found["status"]) == ("aws_ssoadmin_permission_set.developers", "analyzed")
    assert (found["unused_services"], found["stale_services"]) == (["sqs"], ["ec2"])

    result = api.scan([root], assume_role_arn=TEMPLATE, no_cache=True)
    developers = principal(result, "aws_ssoadmin_permission_set.developers")
    services = by_namespace(developers)
    assert services["s3"][0] == services["dynamodb"][0] == "used"  # used in one account: used
    assert services["dynamodb"][1] > NOW - 11 * DAY  # the most recent use, sandbox's
    assert services["ec2"][0] == "stale" and services["ec2"][1] < NOW - 199 * DAY
    assert services["ec2"][2] == (PROD, DEV, SANDBOX)  # no account used it lately
    assert services["sqs"][2] == (PROD, DEV)  # sandbox's report does not list it
    assert services["s3"][2] == ()
    roles = {role.account: role for role in developers.principal.roles}
    assert {account: role.arn for account, role in roles.items() if role.arn} == three_accounts
    assert all(roles[account].created for account in three_accounts)
    assert roles[NEW] == AccountRole(NEW, not_deployed=True, why=(
        f"no role AWSReservedSSO_Developers_* in account {NEW} yet: the permission set is not "
        "provisioned there"))
    assert result.warnings == ()


def test_a_permission_set_no_account_has_a_role_of_is_not_deployed(cli, iam, last_accessed, tmp_path):
    auditors = """
resource "aws_ssoadmin_permission_set" "auditors" {
  name         = "Auditors"
  instance_arn = "arn:aws:sso:::instance/ssoins-1111111111111111"
}
"""
    root = code(tmp_path, auditors, assignment("auditors", "auditors", (PROD, NEW)))
    run = cli("scan", root, "--format", "json", "--assume-role-arn", TEMPLATE)
    [found] = run.json["principals"]
    assert (found["kind"], found["status"], found["error"]) == ("permission-set", "not-deployed", None)
    assert run.code == 0


def test_young_roles_hold_back_the_suggested_edit(cli, iam, last_accessed, tmp_path):
    """A role just made (a re-assignment gives a new suffix and no history): the permission
    set is as young as its youngest role, so what it did not use is no suggested edit."""
    role = reserved_role(PROD, "Developers")
    last_accessed.activity[role] = {"s3": NOW - DAY, "ec2": NOW - 200 * DAY, "sqs": None, "dynamodb": NOW}
    root = code(tmp_path, POLICY, assignment("developers", "developers", (PROD,)))
    run = cli("scan", root, "--format", "json", "--suggest", "--assume-role-arn", TEMPLATE)
    assert run.json["principals"][0]["unused_services"] == ["sqs"]
    [statement] = run.json["suggestions"]["statements"]
    assert (statement["removable_services"], statement["edited"]) == (["ec2", "sqs"], False)
    assert any(note.startswith("aws_ssoadmin_permission_set.developers was created 0 days ago")
               for note in statement["notes"]), statement["notes"]
    old = cli("scan", root, "--format", "json", "--suggest", "--min-age-days", "0",
              "--assume-role-arn", TEMPLATE)
    [statement] = old.json["suggestions"]["statements"]
    assert (statement["removable_services"], statement["edited"]) == (["ec2", "sqs"], True)


def test_accounts_from_identity_center_when_the_code_assigns_none(cli, iam, last_accessed, tmp_path):
    sso = boto3.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    for name in ("Operators", "Developers"):
        created = sso.create_permission_set(Name=name, InstanceArn=instance)["PermissionSet"]
        sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=created["PermissionSetArn"],
                                     TargetType="ALL_PROVISIONED_ACCOUNTS")
    role = reserved_role(ACCOUNT, "Developers")
    last_accessed.activity[role] = {"s3": NOW - DAY, "ec2": None, "sqs": NOW - DAY, "dynamodb": NOW - DAY}
    root = code(tmp_path, POLICY, renamed("missing"))
    run = cli("scan", root, "--format", "json")
    found = {p["address"]: p for p in run.json["principals"]}
    developers = found["aws_ssoadmin_permission_set.developers"]
    assert (developers["status"], developers["unused_services"]) == ("analyzed", ["ec2"])
    assert found["aws_ssoadmin_permission_set.missing"]["status"] == "not-deployed"


def test_identity_center_refusing_is_said_once(cli, iam, last_accessed, tmp_path, aws_hooks):
    def refuse(request: Any, **_kwargs: Any) -> Any:
        target = request.headers.get("X-Amz-Target") or b""
        if b"ListInstances" in (target if isinstance(target, bytes) else target.encode()):
            return json_error(400, "AccessDeniedException", "not authorized")
        return None

    aws_hooks.insert(0, refuse)
    run = cli("scan", code(tmp_path, POLICY, renamed("operators")), "--format", "json")
    assert [p["status"] for p in run.json["principals"]] == ["unresolved", "unresolved"]
    assert "(sso:ListInstances): AccessDeniedException" in run.json["principals"][0]["error"]
    assert run.err.count("sso:ListInstances") == 1, run.err
    assert run.code == 2  # nothing could be analysed


def test_access_denied_listing_roles_in_one_account_is_said_once(cli, three_accounts, last_accessed,
                                                                  tmp_path):
    last_accessed.denied_in[DEV] = {"ListRoles"}
    root = code(tmp_path, POLICY, renamed("operators"), assignment("developers", "developers", (PROD, DEV)),
                assignment("operators", "operators", (DEV,)))
    run = cli("scan", root, "--format", "json", "--assume-role-arn", TEMPLATE)
    found = {p["address"]: p for p in run.json["principals"]}
    # prod's role alone judges Developers; nothing can be said of Operators
    assert found["aws_ssoadmin_permission_set.developers"]["status"] == "analyzed"
    assert found["aws_ssoadmin_permission_set.developers"]["unused_services"] == ["ec2", "sqs"]
    operators_found = found["aws_ssoadmin_permission_set.operators"]
    assert operators_found["status"] == "no-data"
    assert f"account {DEV}: cannot list the roles under {RESERVED} (iam:ListRoles): AccessDenied" \
        in operators_found["error"]
    assert run.err.count("iam:ListRoles") == 1, run.err


def test_offline_roles_from_the_access_data_file(cli, tmp_path):
    """No AWS at all: the file's keys are ARNs, among them the roles' (any path segment)."""
    def report(services: dict[str, str | None]) -> dict[str, Any]:
        return {"JobStatus": "COMPLETED", "ServicesLastAccessed": [
            {"ServiceNamespace": ns, "ServiceName": ns, **({"LastAuthenticated": when} if when else {})}
            for ns, when in services.items()]}

    recent, old = (NOW - DAY).isoformat(), (NOW - 200 * DAY).isoformat()
    prod = f"arn:aws:iam::{PROD}:role{RESERVED}AWSReservedSSO_Developers_0123456789abcdef"
    dev = f"arn:aws:iam::{DEV}:role{RESERVED}eu-west-1/AWSReservedSSO_Developers_fedcba9876543210"
    decoy = f"arn:aws:iam::{DEV}:role{RESERVED}AWSReservedSSO_DevelopersAdmin_fedcba9876543210"
    data = {
        prod: report({"s3": recent, "ec2": None, "sqs": None, "dynamodb": old}),
        dev: report({"s3": None, "ec2": old, "sqs": None, "dynamodb": recent}),
        decoy: report({"sqs": recent}),
    }
    access = tmp_path / "access.json"
    access.write_text(json.dumps(data))
    src = tmp_path / "src"
    src.mkdir()
    assigned = code(src, POLICY, assignment("developers", "developers", (PROD, DEV, SANDBOX)))
    run = cli("scan", assigned, "--format", "json", "--access-data", str(access))
    [found] = run.json["principals"]
    assert (found["status"], found["unused_services"], found["stale_services"]) == \
        ("analyzed", ["sqs"], ["ec2"])
    result = api.scan([assigned], access_data=access)
    roles = result.principals[0].principal.roles
    assert [(role.account, role.arn) for role in roles] == [(PROD, prod), (DEV, dev), (SANDBOX, None)]
    assert roles[2].why == f"the access data holds no role AWSReservedSSO_Developers_* of account {SANDBOX}"
    assert not roles[2].not_deployed  # the file holds only the reports saved: no proof it is not there

    (src / "main.tf").write_text(POLICY)  # no assignment: the accounts whose role the file holds
    unassigned = api.scan([str(src)], access_data=access)
    assert [role.account for role in unassigned.principals[0].principal.roles] == [PROD, DEV]
    assert by_namespace(unassigned.principals[0])["sqs"] == ("unused", None, (PROD, DEV))


def test_roles_from_a_sweeps_store(cli, iam, tmp_path):
    """A snapshot lists every role of its account: the role is found there with its
    creation date, and an account whose snapshot lacks it has none yet."""
    prod = f"arn:aws:iam::{PROD}:role{RESERVED}AWSReservedSSO_Developers_0123456789abcdef"
    other = f"arn:aws:iam::{DEV}:role/batch"
    report = {"JobStatus": "COMPLETED", "ServicesLastAccessed": [
        {"ServiceNamespace": "s3", "ServiceName": "Amazon S3", "LastAuthenticated": (NOW - DAY).isoformat()},
        {"ServiceNamespace": "sqs", "ServiceName": "Amazon SQS"}]}
    store = tmp_path / "store"
    for account, arn in ((PROD, prod), (DEV, other)):
        (store / account).mkdir(parents=True)
        made = NOW - timedelta(hours=1)
        about = About(account, made, "sweeper", "service", {arn: NOW - 400 * DAY})
        (store / account / snapshot_name(made)).write_bytes(encode(about, {arn: report}))
    src = tmp_path / "src"
    src.mkdir()
    root = code(src, POLICY, assignment("developers", "developers", (PROD, DEV)))
    run = cli("scan", root, "--format", "json", "--access-data", str(store))
    [found] = run.json["principals"]
    assert (found["status"], found["unused_services"]) == ("analyzed", ["sqs"])
    result = api.scan([root], access_data=store)
    developers = result.principals[0].principal
    assert [(role.account, role.arn, role.not_deployed) for role in developers.roles] == [
        (PROD, prod, False), (DEV, None, True)]
    assert developers.created == NOW - 400 * DAY  # its one role's: old enough for a suggested edit


def test_a_permission_set_name_identity_center_would_refuse_is_not_shown(cli, tmp_path):
    access = tmp_path / "access.json"
    access.write_text("{}")
    src = tmp_path / "src"
    src.mkdir()
    bad = POLICY.replace('"Developers"', '"Developers and their friends, all 40 of them"')
    run = cli("scan", code(src, bad), "--format", "json", "--access-data", str(access))
    [found] = run.json["principals"]
    assert found["status"] == "invalid-name"
    assert found["error"].startswith(
        "invalid name: the permission-set name is not one Identity Center accepts (44 characters; "
        "Identity Center takes 1-32")
    assert "friends" not in run.out + run.err


def test_each_role_judged_by_access_analyzer(cli, iam, last_accessed, aws_hooks, tmp_path):
    """Access Analyzer's findings judge each role as any role (an organisation's analyzer
    sees every account); the verdicts are joined as the reports' are."""
    analyzer = AccessAnalyzerFake(last_accessed, organization=True)
    aws_hooks.append(analyzer)
    roles = {account: reserved_role(account, "Developers") for account in (PROD, DEV)}
    for account in roles:  # older than the analyzer's window, or no finding would prove nothing
        for role in iam_backends[account]["global"].roles.values():
            role.create_date = NOW - 400 * DAY
    long_ago = NOW - 200 * DAY
    last_accessed.activity[roles[PROD]] = {"s3": NOW - DAY, "ec2": None, "sqs": None, "dynamodb": long_ago}
    last_accessed.activity[roles[DEV]] = {"s3": NOW - DAY, "ec2": long_ago, "sqs": None, "dynamodb": None}
    root = code(tmp_path, POLICY, assignment("developers", "developers", (PROD, DEV)))
    run = cli("scan", root, "--format", "json", "--assume-role-arn", TEMPLATE,
              "--usage-source", "access-analyzer", "--analyzer-arn", analyzer.arn)
    [found] = run.json["principals"]
    assert (found["status"], found["unused_services"], found["stale_services"]) == \
        ("analyzed", ["sqs"], ["dynamodb", "ec2"])
    assert last_accessed.calls == []  # no job generated


def test_an_account_without_a_way_in_is_said_not_read_as_the_callers(cli, iam, last_accessed, tmp_path):
    """The caller's own credentials list only its own account's roles: another account's
    needs the role template or a profile, or it would look not provisioned."""
    reserved_role(ACCOUNT, "Developers")
    root = code(tmp_path, POLICY, assignment("developers", "developers", (PROD,)))
    [found] = cli("scan", root, "--format", "json").json["principals"]
    assert found["status"] == "no-data"
    assert found["error"] == (f"account {PROD}: no way into it: the caller is in {ACCOUNT}; give "
                              "--assume-role-arn or a profile for it in [accounts]")


def test_lookups_keep_to_their_allow_list_and_ride_out_throttling(cli, iam, last_accessed, aws_hooks,
                                                                  tmp_path, monkeypatch):
    """Identity Center's and ListRoles' calls are those of the identity-center allow-list
    (the README's policy for them); a throttled ListRoles is retried by botocore."""
    import botocore.endpoint

    sso = boto3.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    created = sso.create_permission_set(Name="Developers", InstanceArn=instance)["PermissionSet"]
    sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=created["PermissionSetArn"],
                                 TargetType="ALL_PROVISIONED_ACCOUNTS")
    role = reserved_role(ACCOUNT, "Developers")
    last_accessed.activity[role] = {"s3": NOW - DAY, "ec2": None, "sqs": NOW - DAY, "dynamodb": NOW - DAY}
    sent: list[str] = []
    throttled: list[str] = []

    def record(request: Any, event_name: str, **_kwargs: Any) -> Any:
        sent.append(event_name.split(".", 1)[1].replace("-", ""))  # before-send.sso-admin.X -> ssoadmin.X
        if sent[-1] == "iam.ListRoles" and not throttled:
            throttled.append("once")
            return xml_response(400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded"
                                     "</Message></Error></ErrorResponse>")
        return None

    aws_hooks.insert(0, record)
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda _seconds: None)
    run = cli("scan", code(tmp_path, POLICY), "--format", "json")
    [found] = run.json["principals"]
    assert (found["status"], found["unused_services"]) == ("analyzed", ["ec2"])
    assert sent.count("iam.ListRoles") == 2  # throttled, then retried
    lists = (ALLOWED_OPERATIONS, IDENTITY_CENTER_OPERATIONS)
    allowed = {f"{service}.{op}".replace("sso.", "ssoadmin.")
               for ops in lists for service, names in ops.items() for op in names}
    assert set(sent) <= allowed, set(sent) - allowed
    assert {"ssoadmin.ListInstances", "ssoadmin.ListPermissionSets", "ssoadmin.DescribePermissionSet",
            "ssoadmin.ListAccountsForProvisionedPermissionSet", "iam.ListRoles"} <= set(sent)
    assert policy_actions("identity-center") == [
        "iam:ListRoles", "sso:DescribePermissionSet", "sso:ListAccountsForProvisionedPermissionSet",
        "sso:ListInstances", "sso:ListPermissionSets"]


def test_a_plans_permission_sets_judged_by_their_roles(cli, iam, last_accessed, tmp_path):
    """Terraform's plan of the permission-set root once applied (test_permission_sets_terraform's
    fixture): AdministratorAccess is assigned to two accounts, where its roles are;
    ReadOnlyAccess to one, where it has none yet."""
    data = Path(__file__).parent / "data" / "permission_sets_terraform"
    plan, _ = applied(json.loads((data / "plan.json").read_text()))
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    admin = {account: reserved_role(account, "AdministratorAccess") for account in (PROD, DEV)}
    last_accessed.activity[admin[PROD]] = {"s3": NOW - DAY, "ec2": None}
    last_accessed.activity[admin[DEV]] = {"s3": None, "ec2": None, "sqs": None}
    run = cli("plan", str(tmp_path / "plan.json"), "--chdir", str(data / "root"), "--format", "json",
              "--assume-role-arn", TEMPLATE)
    found = {p["address"]: p for p in run.json["principals"]}
    administrators = found['aws_ssoadmin_permission_set.team["admin"]']
    assert (administrators["status"], administrators["unused_services"]) == ("analyzed", ["ec2", "sqs"])
    assert found['aws_ssoadmin_permission_set.team["readonly"]']["status"] == "not-deployed"
