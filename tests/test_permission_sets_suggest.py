"""Suggested fixes for IAM Identity Center permission sets: the inline policy's statements
edited as any inline policy's, an AWS managed policy no assigned account uses detached, a
customer managed policy referred to by name named in a note and never edited, and nothing
removed while a role is young or an account's role could not be read; the patch applies
with `git apply` and the rescan with the same usage data finds nothing unused.

Most tests read the Terraform fixtures with the HCL source and give the permission set its
roles as resolving finds them (`cross_account`), so the analysis makes its one verdict
across accounts; the CloudFormation ones build the permission set as the source reports
it. `test_the_identity_center_example_*` runs the whole path through the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from iam_lastused import catalog
from iam_lastused.analysis.analyze import analyze
from iam_lastused.aws.managed_policies import documents_from_access_data, with_documents
from iam_lastused.cli.main import main
from iam_lastused.model import (
    AccountRole,
    PolicyReference,
    Principal,
    RunResult,
    Statement,
)
from iam_lastused.render.suggestions import render_patch, render_suggestions, suggestions_json
from iam_lastused.sources import scan_paths
from iam_lastused.store.access_data import report_from_response
from iam_lastused.suggest.edits import suggest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "permission_sets_suggest"
NOW = datetime.now(timezone.utc)
USED = NOW - timedelta(days=3)
OLD = NOW - timedelta(days=400)
SQS_READ = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"
LOGS_READ = "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess"
DOCUMENTS = {
    SQS_READ: {"PolicyVersion": {"Document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:GetQueueAttributes", "sqs:ListQueues"], "Resource": "*"}]}}},
    LOGS_READ: {"PolicyVersion": {"Document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:Describe*", "logs:Get*"], "Resource": "*"}]}}},
}
NEVER = None
USAGE: dict[str, dict[str, datetime | None]] = {
    # s3 used in one account, logs in the other; sns, dynamodb and sqs in none
    "111111111111": {"s3": USED, "sns": NEVER, "dynamodb": NEVER, "sqs": NEVER, "logs": NEVER},
    "222222222222": {"s3": NEVER, "sns": NEVER, "dynamodb": NEVER, "sqs": NEVER, "logs": USED},
}
TERRAFORM_FORMS = ("jsonencode", "policy-document", "heredoc")


def reserved_role(account: str, suffix: str = "0123456789abcdef") -> str:
    return f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_{suffix}"


def roles(created: Mapping[str, datetime] | None = None) -> tuple[AccountRole, ...]:
    return tuple(AccountRole(account, reserved_role(account), (created or {}).get(account, OLD))
                 for account in USAGE)


def report(activity: Mapping[str, datetime | None]) -> dict:
    services = []
    for namespace, last in activity.items():
        entry: dict = {"ServiceName": catalog.service_name(namespace), "ServiceNamespace": namespace,
                       "TotalAuthenticatedEntities": 0 if last is None else 1}
        if last is not None:
            entry["LastAuthenticated"] = last.isoformat()
        services.append(entry)
    return {"JobStatus": "COMPLETED", "JobType": "SERVICE_LEVEL", "JobCompletionDate": NOW.isoformat(),
            "IsTruncated": False, "ServicesLastAccessed": services}


Usage = Mapping[str, Mapping[str, datetime | None]]


def cross_account(
    principals: list[Principal], account_roles: tuple[AccountRole, ...], usage: Usage = USAGE
) -> RunResult:
    """The analysis of permission sets whose roles are `account_roles`, each role's report
    from `usage`, the AWS managed policies' documents from `DOCUMENTS`."""
    found = with_documents([replace(p, roles=account_roles) for p in principals],
                           documents_from_access_data(DOCUMENTS))
    outcomes = {role.arn: report_from_response(role.arn, report(usage[role.account]))
                for role in account_roles if role.arn}
    return RunResult(90, NOW, analyze(found, outcomes, NOW, 90))


def git(tree: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=tree, input=stdin, text=True, capture_output=True, check=True)


def tree_of(tmp_path: Path, form: str) -> Path:
    tree = tmp_path / "repo"
    shutil.copytree(DATA / form, tree)
    git(tree, "init", "-q")
    git(tree, "add", "-A")
    return tree


def scan(tree: Path, account_roles: tuple[AccountRole, ...], usage: Usage = USAGE) -> RunResult:
    found = scan_paths([tree])
    assert not found.errors
    return cross_account(list(found.principals), account_roles, usage)


def allow_actions(run: RunResult) -> set[tuple[str, ...]]:
    return {s.actions for r in run.principals for g in r.principal.grants or () for s in g.statements}


@pytest.mark.parametrize("form", TERRAFORM_FORMS)
def test_terraform_patch_applies_and_the_rescan_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    tree = tree_of(tmp_path, form)
    monkeypatch.chdir(tree)
    before = scan(tree, roles())
    [result] = before.principals
    assert result.principal.kind == "permission-set"
    assert result.namespaces_in("unused") == ["dynamodb", "sns", "sqs"]

    suggestions = suggest(before, "service")
    detached = [p for p in suggestions.policies if p.removed]
    assert [p.policy_arn for p in detached] == [SQS_READ]  # logs is used in 222222222222
    patch = render_patch(suggestions, tree)
    git(tree, "apply", "--check", "-", stdin=patch)
    git(tree, "apply", "-", stdin=patch)

    text = (tree / "main.tf").read_text(encoding="utf-8")
    assert "AmazonSQSReadOnlyAccess" not in text and "CloudWatchLogsReadOnlyAccess" in text
    after = scan(tree, roles())
    assert all(not r.findings() for r in after.principals)
    assert allow_actions(after) == {("s3:GetObject",), ("logs:Describe*", "logs:Get*")}


def test_a_young_role_withholds_every_removal_and_the_note_says_its_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    monkeypatch.chdir(tree)
    young = roles({"222222222222": NOW - timedelta(days=4)})  # re-assigned: a new role, no history
    suggestions = suggest(scan(tree, young), "service", min_age_days=30)
    assert not suggestions.files and not any(p.removed for p in suggestions.policies)
    notes = {note for s in suggestions.statements for note in s.notes}
    young_note = "was created 4 days ago in account 222222222222 (its role there, less than 30)"
    assert any(young_note in note for note in notes)
    assert "no removal suggested" in render_suggestions(suggestions)
    # older than --min-age-days: the same role no longer holds anything back
    assert suggest(scan(tree, young), "service", min_age_days=3).files


def test_an_account_whose_role_could_not_be_read_withholds_removals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    monkeypatch.chdir(tree)
    unread = (*roles(), AccountRole("333333333333", why="AccessDenied: the caller lacks iam:ListRoles"))
    suggestions = suggest(scan(tree, unread), "service")
    assert not suggestions.files
    notes = " ".join(note for s in suggestions.statements for note in s.notes)
    assert "'s role in 333333333333 could not be read (AccessDenied" in notes


def test_an_account_without_the_role_yet_holds_nothing_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    monkeypatch.chdir(tree)
    partly = (*roles(), AccountRole("333333333333", not_deployed=True))
    assert suggest(scan(tree, partly), "service").files


def test_a_customer_managed_policy_by_name_is_named_in_a_note_and_not_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As resolving reads it in each account: its statements, located at the attachment."""
    tree = tree_of(tmp_path, "customer-managed")
    monkeypatch.chdir(tree)
    [principal] = scan_paths([tree]).principals
    [reference] = principal.grants or ()
    read = replace(reference, known=True, unknown=None, statements=(
        Statement(reference.location, "Allow", ("s3:GetObject", "sns:Publish"), resources=("*",)),
    ))
    suggestions = suggest(cross_account([replace(principal, grants=(read,))], roles()), "service")
    [policy] = suggestions.policies
    assert policy.policy_reference == PolicyReference("DeveloperExtras", "/team/")
    assert (policy.verdict, policy.removed, policy.removable_services) == ("partly-unused", False, ("sns",))
    assert "/team/DeveloperExtras is referred to by name" in policy.notes[0]
    assert "remove sns from it there, keeping s3" in policy.notes[0]
    assert not suggestions.files
    assert "/team/DeveloperExtras (customer managed, by name)" in render_suggestions(suggestions)
    entries: list[dict] = suggestions_json(suggestions)["policies"]  # type: ignore[assignment]
    assert [(e["policy_reference"], e["edited"]) for e in entries] == [
        ({"name": "DeveloperExtras", "path": "/team/"}, False)
    ]


# CloudFormation: AWS::SSO::PermissionSet's InlinePolicy and ManagedPolicies, read by the
# template source.

CFN = {"cloudformation-yaml": "template.yaml", "cloudformation-json": "template.json"}


def properties(tree: Path, form: str) -> dict:
    template = yaml.safe_load((tree / CFN[form]).read_text(encoding="utf-8"))
    return template["Resources"]["DeveloperPermissionSet"]["Properties"]


@pytest.mark.parametrize("form", sorted(CFN))
def test_cloudformation_patch_applies_and_the_rescan_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    tree = tree_of(tmp_path, form)
    monkeypatch.chdir(tree)
    suggestions = suggest(scan(tree, roles()), "service")
    assert [p.policy_arn for p in suggestions.policies if p.removed] == [SQS_READ]
    git(tree, "apply", "-", stdin=render_patch(suggestions, tree))
    after = properties(tree, form)
    assert after["ManagedPolicies"] == [LOGS_READ]
    assert [s["Action"] for s in after["InlinePolicy"]["Statement"]] == [["s3:GetObject"]]
    assert after["SessionDuration"] == "PT4H"
    rescan = scan(tree, roles())
    assert all(not r.findings() for r in rescan.principals)
    assert allow_actions(rescan) == {("s3:GetObject",), ("logs:Describe*", "logs:Get*")}


@pytest.mark.parametrize("form", sorted(CFN))
def test_cloudformation_inline_policy_nothing_uses_goes_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    tree = tree_of(tmp_path, form)
    monkeypatch.chdir(tree)
    usage = {account: {**activity, "s3": NEVER, "sqs": USED} for account, activity in USAGE.items()}
    suggestions = suggest(scan(tree, roles(), usage), "service")
    [inline] = [p for p in suggestions.policies if p.policy_arn is None]
    assert inline.removed and inline.removable_services == ("dynamodb", "s3", "sns")
    git(tree, "apply", "-", stdin=render_patch(suggestions, tree))
    after = properties(tree, form)
    assert "InlinePolicy" not in after and "Statement" not in (tree / CFN[form]).read_text(encoding="utf-8")
    assert after["ManagedPolicies"] == [SQS_READ, LOGS_READ]
    assert after["Name"] == "Developer" and after["SessionDuration"] == "PT4H"
    assert all(not r.findings() for r in scan(tree, roles(), usage).principals)


# End to end, as a new user runs the example: the Terraform source's permission set and
# its assignments, its role in each account found in the access-data file, one verdict.


def test_the_identity_center_example_patch_applies_and_the_rescan_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    scan_command = ["scan", "examples/identity-center", "--access-data", "examples/access-data.json"]
    assert main([*scan_command, "--format", "json", "--fail-on", "stale"]) == 1
    [permission_set] = json.loads(capsys.readouterr().out)["principals"]
    assert permission_set["kind"] == "permission-set" and permission_set["status"] == "analyzed"
    accounts = [role["account"] for role in permission_set["roles"] if role["arn"]]
    assert accounts == ["111122223333", "444455556666", "777788889999"]
    assert permission_set["unused_services"] == ["cloudshell", "lambda", "sns"]
    assert permission_set["stale_services"] == ["dynamodb"]
    assert main([*scan_command, "--suggest=patch"]) == 0
    patch = capsys.readouterr().out
    assert patch.startswith("--- a/examples/identity-center/main.tf")
    subprocess.run(["git", "apply", "--check"], input=patch.encode(), check=True)
    subprocess.run(["git", "apply"], input=patch.encode(), check=True)
    patched = Path("examples/identity-center/main.tf").read_text(encoding="utf-8")
    assert "AWSCloudShellFullAccess" not in patched
    assert main([*scan_command, "--format", "json", "--fail-on", "stale"]) == 0
    [after] = json.loads(capsys.readouterr().out)["principals"]
    assert after["status"] == "analyzed" and after["unused_services"] == after["stale_services"] == []
