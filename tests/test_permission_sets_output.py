"""A permission set in every output format: shown once, as a permission set, with its role
in each assigned account (the role's ARN and age, "not deployed in <account>", or why it
could not be read) and, per finding, the accounts it holds in; every string from the code
or from AWS escaped as the format needs."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from iam_lastused.model import (
    AccountRole,
    Grant,
    Location,
    PolicyReference,
    Principal,
    PrincipalResult,
    RunResult,
    ServiceResult,
)
from iam_lastused.render import renderer
from iam_lastused.render.plan_text import principal_notes
from test_hostile_input import _printable_lines, check_renderers
from test_renderers import rendered, workflow_commands

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
ADDRESS = "aws_ssoadmin_permission_set.developer"
PROD, STAGING, SANDBOX, AUDIT = "111111111111", "222222222222", "333333333333", "444444444444"
DENIED = "AccessDenied: the caller lacks the permission iam:ListRoles"
BOUNDARY = PolicyReference("Limits", "/b/")


def reserved_role(account: str, suffix: str) -> str:
    return f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_{suffix}"


PROD_ROLE = reserved_role(PROD, "0123456789abcdef")
STAGING_ROLE = reserved_role(STAGING, "fedcba9876543210")


def permission_set(
    address: str = ADDRESS, *, why: str = DENIED, account: str = AUDIT, arn_suffix: str = "0123456789abcdef"
) -> PrincipalResult:
    principal = Principal(
        address, "terraform", "permission-set", Location("sso.tf", 1), name="Developer",
        accounts=(PROD, STAGING, SANDBOX, account),
        roles=(
            AccountRole(PROD, reserved_role(PROD, arn_suffix), NOW - timedelta(days=400)),
            AccountRole(STAGING, STAGING_ROLE, NOW - timedelta(days=5)),
            AccountRole(SANDBOX, not_deployed=True),
            AccountRole(account, why=why),
        ),
        boundary=Grant(Location("sso.tf", 40), known=False, policy_reference=BOUNDARY),
    )
    inline, managed = (Location("sso.tf", 12),), (Location("sso.tf", 26),)
    services = (
        ServiceResult("s3", "Amazon S3", "used", NOW - timedelta(days=1), granted_by=inline,
                      accounts=(PROD,)),
        ServiceResult("sns", "Amazon SNS", "unused", granted_by=inline, accounts=(PROD, STAGING)),
        ServiceResult("sqs", "Amazon SQS", "stale", NOW - timedelta(days=200), granted_by=managed,
                      accounts=(PROD, STAGING)),
    )
    return PrincipalResult(principal, "analyzed", services=services, granted=("s3", "sns", "sqs"))


def run_of(*results: PrincipalResult) -> RunResult:
    return RunResult(90, NOW, results or (permission_set(),))


def render(format: str, run: RunResult | None = None) -> str:
    plan = f"  # {ADDRESS} will be updated in-place\n  ~ resource {{}}\n"
    return renderer(format, plan_text=plan)(run or run_of())


HELD = f"in accounts {PROD}, {STAGING}"


def test_text_shows_the_permission_set_once_with_its_roles_and_where_each_finding_holds() -> None:
    text = render("text")
    assert text.count(ADDRESS) == 1 and text.startswith(f"permission-set {ADDRESS}  sso.tf:1\n")
    assert f"  role in {PROD}: {PROD_ROLE} (created 400 days ago)\n" in text
    assert f"  role in {STAGING}: {STAGING_ROLE} (created 5 days ago)\n" in text
    assert f"  not deployed in {SANDBOX}\n" in text
    assert f"  role in {AUDIT} not read: {DENIED}\n" in text
    assert "  permissions boundary: the customer managed policy /b/Limits (sso.tf:40)\n" in text
    assert re.search(rf"unused +sns +Amazon SNS  \({HELD}; granted at sso.tf:12\)", text)
    stale = rf"stale +sqs +Amazon SQS  \({HELD}; last used 200 days ago; granted at sso.tf:26\)"
    assert re.search(stale, text)


def test_markdown_lists_the_roles_and_the_accounts_of_each_finding() -> None:
    shown = "".join(rendered(render("markdown")).text)
    assert f"role in {PROD}: {PROD_ROLE} (created 400 days ago)" in shown
    assert f"not deployed in {SANDBOX}" in shown
    assert f"role in {AUDIT} not read: {DENIED}" in shown
    assert f"never used: sns (Amazon SNS), {HELD}, granted at sso.tf:12" in shown
    assert f"stale: sqs (Amazon SQS), last used 200 days ago (2026-05-08), {HELD}, granted at sso.tf:26" \
        in shown


def test_markdown_shows_a_permission_set_with_an_account_lacking_its_role_even_without_findings() -> None:
    result = permission_set()
    quiet = PrincipalResult(result.principal, "analyzed", services=result.services[:1], granted=("s3",))
    assert f"not deployed in {SANDBOX}" in "".join(rendered(render("markdown", run_of(quiet))).text)


def test_json_fields() -> None:
    [principal] = json.loads(render("json"))["principals"]
    assert principal["kind"] == "permission-set"
    assert principal["accounts"] == [PROD, STAGING, SANDBOX, AUDIT]
    assert principal["roles"] == [
        {"account": PROD, "arn": PROD_ROLE, "created": "2025-10-20T08:00:00+00:00",
         "not_deployed": False, "reason": None},
        {"account": STAGING, "arn": STAGING_ROLE, "created": "2026-11-19T08:00:00+00:00",
         "not_deployed": False, "reason": None},
        {"account": SANDBOX, "arn": None, "created": None, "not_deployed": True, "reason": None},
        {"account": AUDIT, "arn": None, "created": None, "not_deployed": False, "reason": DENIED},
    ]
    assert principal["boundary"] == {
        "file": "sso.tf", "line": 40, "policy_arn": None, "policy_name": "Limits", "policy_path": "/b/",
    }
    services = {s["namespace"]: s["accounts"] for s in principal["services"]}
    assert services == {"s3": [PROD], "sns": [PROD, STAGING], "sqs": [PROD, STAGING]}
    assert json.loads(render("json"))["schema_version"] == 1


def test_json_of_other_principals_has_the_new_fields_empty() -> None:
    role = PrincipalResult(Principal("aws_iam_role.app", "terraform", "role"), "analyzed",
                           services=(ServiceResult("s3", "Amazon S3", "unused"),))
    [principal] = json.loads(render("json", run_of(role)))["principals"]
    assert (principal["accounts"], principal["roles"], principal["boundary"]) == (None, [], None)
    assert principal["services"][0]["accounts"] == []


def sarif(run: RunResult | None = None) -> dict[str, Any]:
    document = json.loads(render("sarif", run))
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    return document


def test_sarif_validates_and_carries_the_accounts_and_roles() -> None:
    [sarif_run] = sarif()["runs"]
    unused, stale = sarif_run["results"]
    assert unused["message"]["text"] == (
        f"permission-set {ADDRESS} is granted sns (Amazon SNS) but has not used it in IAM's tracking period, "
        f"{HELD}."
    )
    assert stale["message"]["text"].endswith(f"stale after 90 days, {HELD}.")
    assert unused["properties"]["kind"] == "permission-set"
    assert unused["properties"]["accounts"] == [PROD, STAGING]
    assert [role["account"] for role in unused["properties"]["roles"]] == [PROD, STAGING, SANDBOX, AUDIT]
    [entry] = sarif_run["properties"]["permissionSets"]
    assert entry["principal"] == ADDRESS and entry["roles"][2]["not_deployed"] is True


def test_github_annotations_name_the_accounts_and_one_notice_the_roles() -> None:
    lines = render("github").splitlines()
    assert lines[0].startswith("::warning file=sso.tf,line=12,") and lines[0].endswith(f"{HELD}.")
    assert lines[1].startswith("::notice file=sso.tf,line=26,") and lines[1].endswith(f"{HELD}.")
    assert lines[2].startswith("::notice file=sso.tf,line=1,title=Permission set roles::")
    assert f"role in {PROD}: {PROD_ROLE}" in lines[2] and f"not deployed in {SANDBOX}" in lines[2]
    assert len(lines) == 3


def test_lint_lines_name_the_accounts_and_the_roles_without_counting_them() -> None:
    lines = render("lint").splitlines()
    assert lines[0].startswith("sso.tf:12: [unused-service]") and lines[0].endswith(f"{HELD}.")
    assert lines[2].startswith(f"sso.tf:1: [permission-set-roles] permission-set {ADDRESS}: role in {PROD}")
    assert f"not deployed in {SANDBOX}; role in {AUDIT} not read: {DENIED}" in lines[2]
    assert lines[-1] == "iam-lastused: 2 findings in 1 principal of 1"


def test_junit_failures_name_the_accounts_and_the_output_the_roles() -> None:
    suite = ElementTree.fromstring(render("junit")).find("testsuite")
    assert suite is not None
    [case] = suite.findall("testcase")
    assert case.get("classname") == "permission-set" and case.get("name") == ADDRESS
    failures = case.findall("failure")
    assert [f.get("type") for f in failures] == ["unused-service", "stale-service"]
    assert all(str(f.get("message")).endswith(f"{HELD}.") for f in failures)
    out = case.findtext("system-out") or ""
    assert f"role in {STAGING}: {STAGING_ROLE} (created 5 days ago)" in out
    assert f"not deployed in {SANDBOX}" in out


def test_gitlab_issues_name_the_accounts_and_the_roles() -> None:
    issues = json.loads(render("gitlab"))
    assert [issue["location"]["lines"]["begin"] for issue in issues] == [12, 26]
    assert all(f"{HELD}. Roles: role in {PROD}: {PROD_ROLE}" in issue["description"] for issue in issues)


def test_plan_notes_list_the_roles_and_the_accounts_of_each_idle_service() -> None:
    notes = [line.strip() for line in render("plan").splitlines() if "iam-lastused:" in line]
    assert notes == [
        f"#   iam-lastused: role in {PROD}: {PROD_ROLE} (created 400 days ago)",
        f"#   iam-lastused: role in {STAGING}: {STAGING_ROLE} (created 5 days ago)",
        f"#   iam-lastused: not deployed in {SANDBOX}",
        f"#   iam-lastused: role in {AUDIT} not read: {DENIED}",
        f"#   iam-lastused: 2 of 3 granted services not used in 90 days: sns ({HELD}), sqs ({HELD})",
    ]


HOSTILE = [
    "x\n::error::pwned\r##[warning]y",
    "<img src=x onerror=alert(1)>**bold** @octocat [l](http://evil) | #12 `t`",
    "\x1b[31m\u202eevil\x00",
    "\udcff ]]> <!-- &amp;",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_format_escapes_hostile_names_accounts_and_reasons(hostile: str) -> None:
    run = run_of(permission_set(hostile, why=hostile, account=hostile, arn_suffix=hostile))
    check_renderers(run)  # text, GitHub, JSON, SARIF (validated), Markdown
    for format in ("lint", "plan", "text"):
        _printable_lines(render(format, run))
    github = render("github", run)
    assert [name for name, _ in workflow_commands(github)] == ["warning", "notice", "notice"]
    for line in render("lint", run).splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line
    junit = render("junit", run)
    ElementTree.fromstring(junit.encode())
    assert "##[" not in junit and not re.search(r"^\s*::", junit, re.MULTILINE)
    gitlab = render("gitlab", run)
    assert [issue["check_name"] for issue in json.loads(gitlab)] == ["unused-service", "stale-service"]
    assert "##[" not in gitlab
    for note in principal_notes(run.principals[0], 90, NOW):
        _printable_lines(note)


def test_the_identity_center_example_through_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As a new user runs it: the permission set once, its role in each of its three
    accounts found in the access-data file, and the accounts of each finding."""
    from iam_lastused.cli.main import main

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    scan = ["scan", "examples/identity-center", "--access-data", "examples/access-data.json", "--no-cache"]
    assert main(scan) == 0
    text = capsys.readouterr().out
    assert text.count("permission-set aws_ssoadmin_permission_set.orders_developer") == 1
    for account in ("111122223333", "444455556666", "777788889999"):
        assert f"  role in {account}: arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/" \
               "AWSReservedSSO_OrdersDeveloper_" in text
    assert "in accounts 111122223333, 444455556666, 777788889999; granted at examples/identity-center" in text
    assert main([*scan, "--format", "sarif"]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    results = document["runs"][0]["results"]
    held = [r["properties"]["accounts"] for r in results if r["ruleId"] in ("IAMLU001", "IAMLU002")]
    assert held and all(accounts == ["111122223333", "444455556666", "777788889999"] for accounts in held)
