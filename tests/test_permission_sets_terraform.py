"""IAM Identity Center permission sets as principals, from Terraform HCL and plans
(issue 27): each once, with its grants at their file:line, the customer managed
policies it refers to by name, its permissions boundary (noted, not a grant) and the
accounts the code assigns it to.

The run as a whole (resolving each permission set to its role in every account) is
resolve's; these tests read what the sources give."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from iam_lastused.files import root_for
from iam_lastused.model import Grant, Location, PolicyReference, Principal, SourceResult
from iam_lastused.sources.plan.read import read_plan
from iam_lastused.sources.terraform.scan import scan_terraform
from terraform_oracle import moto_endpoint, planned_resources, requires_terraform, terraform_plan

__all__ = ["moto_endpoint"]  # a fixture: pytest finds it by name in this module

DATA = Path(__file__).parent / "data" / "permission_sets_terraform"
ROOT = DATA / "root"
MAIN = ROOT / "main.tf"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_LASTUSED_CACHE_DIR", str(tmp_path / "cache"))


def line_of(text: str, after: str = "") -> int:
    """The line of the first `text` in the fixture's main.tf (after the line holding `after`)."""
    lines = MAIN.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def by_address(result: SourceResult) -> dict[str, Principal]:
    return {principal.address: principal for principal in result.principals}


def summary(grant: Grant) -> tuple[object, ...]:
    """A grant's line, policy ARN or reference, whether known, and its statements' lines and actions."""
    statements = tuple((statement.location.line, statement.actions) for statement in grant.statements)
    return grant.location.line, grant.policy_arn, grant.policy_reference, grant.known, statements


def test_hcl_permission_sets_with_grants_boundary_and_assigned_accounts() -> None:
    result = scan_terraform([ROOT])
    found = by_address(result)
    sets = {address: p for address, p in found.items() if p.kind == "permission-set"}
    assert list(sets) == [
        'aws_ssoadmin_permission_set.team["admin"]',
        'aws_ssoadmin_permission_set.team["readonly"]',
        "aws_ssoadmin_permission_set.deploy",
    ]
    admin, readonly, deploy = sets.values()
    team_line = line_of('resource "aws_ssoadmin_permission_set" "team"')
    attachment = line_of('resource "aws_ssoadmin_managed_policy_attachment" "team"')
    assert (admin.name, admin.location) == ("AdministratorAccess", Location(str(MAIN), team_line))
    assert [summary(g) for g in admin.grants or ()] == [
        (attachment, "arn:aws:iam::aws:policy/AdministratorAccess", None, False, ()),
    ]
    assert [summary(g) for g in readonly.grants or ()] == [
        (attachment, "arn:aws:iam::aws:policy/ReadOnlyAccess", None, False, ()),
    ]
    # the for_each'd assignments, each naming its permission set by each.value
    assert admin.accounts == ("222222222222", "111111111111")
    assert readonly.accounts == ("111111111111",)
    assert admin.boundary is None

    inline = line_of('resource "aws_ssoadmin_permission_set_inline_policy" "deploy"')
    assert deploy.name == "Deploy"
    assert [summary(g) for g in deploy.grants or ()] == [
        (inline, None, None, True, (
            (line_of("Statement = [") + 1, ("s3:GetObject", "s3:PutObject")),  # each at its own `{`
            (line_of('"lambda:UpdateFunctionCode"') - 2, ("lambda:UpdateFunctionCode",)),
        )),
        (line_of("customer_managed_policy_reference {"), None, PolicyReference("deploy-extra", "/teams/"),
         False, ()),
    ]
    # the boundary limits, it grants nothing: noted apart from the grants
    assert deploy.boundary is not None
    assert summary(deploy.boundary) == (
        line_of("permissions_boundary {"), "arn:aws:iam::aws:policy/PowerUserAccess", None, False, ()
    )
    # a for_each of literal accounts; the one account given by a variable without default is said once
    assert deploy.accounts == ("333333333333", "444444444444")
    assert result.notes.count(
        "aws_ssoadmin_permission_set.deploy: an account it is assigned to is not known: "
        "var.audit_account has no default"
    ) == 1
    # an assignment of a permission set by the ARN of one outside the code
    assert (
        "aws_ssoadmin_account_assignment.elsewhere: permission set "
        "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222 is not defined in the tree"
    ) in result.notes
    assert result.errors == ()


# ---------------------------------------------------------------------------
# A plan of the same root (plan.json: Terraform's, made against moto by the oracle test)
# ---------------------------------------------------------------------------

PLAN = DATA / "plan.json"
AUDIT = "666666666666"  # the plan's var.audit_account


def seen(principal: Principal) -> tuple[object, ...]:
    """What a user sees of a permission set: name, where, grants (in any order), boundary, accounts."""
    grants = sorted(map(summary, principal.grants or ()), key=repr)
    boundary = summary(principal.boundary) if principal.boundary else None
    return principal.kind, principal.name, principal.location, grants, boundary, principal.accounts


def test_plan_gives_the_permission_sets_of_the_hcl_with_the_accounts_it_knows() -> None:
    hcl = by_address(scan_terraform([ROOT]))
    result = read_plan(json.loads(PLAN.read_text()), str(PLAN), ROOT, root_for([ROOT], None))
    planned = by_address(result)
    assert sorted(planned) == sorted(a for a, p in hcl.items() if p.kind == "permission-set")
    for address, principal in planned.items():
        expected = hcl[address]
        if address == "aws_ssoadmin_permission_set.deploy":  # the plan knows var.audit_account
            expected = replace(expected, accounts=(*(expected.accounts or ()), AUDIT))
        assert seen(principal) == seen(expected), address
        assert (principal.change, principal.arn) == ("create", None)
    assert result.notes == (
        "aws_ssoadmin_account_assignment.elsewhere: permission set "
        "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222 is not in the plan",
    )


def applied(plan: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The plan of the same code once applied: each permission set exists with its ARN,
    each assignment names it by that ARN; and the ARNs, by address."""
    arns: dict[str, str] = {}
    for change in plan["resource_changes"]:
        if change["type"] == "aws_ssoadmin_permission_set":
            arn = f"arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-{len(arns):016x}"
            arns[change["address"]] = arn
            after = {**change["change"]["after"], "arn": arn}
            change["change"].update(actions=["no-op"], before=after, after=after, after_unknown={})
    for change in plan["resource_changes"]:
        if change["type"] == "aws_ssoadmin_account_assignment" and change["name"] != "elsewhere":
            key = change.get("index")
            name = {"team": "team", "deploy": "deploy", "deploy_audit": "deploy"}[change["name"]]
            target = f'aws_ssoadmin_permission_set.{name}'
            if name == "team":
                target += f'["{key.split("-")[0]}"]'
            change["change"]["after"]["permission_set_arn"] = arns[target]
            change["change"]["after_unknown"].pop("permission_set_arn")
    return plan, arns


def test_plan_of_applied_permission_sets_gives_their_arns_and_accounts_by_arn() -> None:
    plan, arns = applied(json.loads(PLAN.read_text()))
    result = read_plan(plan, str(PLAN))  # no HCL: the assignments name each permission set by its ARN
    found = by_address(result)
    assert {address: p.arn for address, p in found.items()} == arns
    assert {address: p.accounts for address, p in found.items()} == {
        'aws_ssoadmin_permission_set.team["admin"]': ("222222222222", "111111111111"),
        'aws_ssoadmin_permission_set.team["readonly"]': ("111111111111",),
        "aws_ssoadmin_permission_set.deploy": ("333333333333", "444444444444", AUDIT),
    }
    assert {p.change for p in found.values()} == {"no-op"}


def test_plan_without_its_hcl_says_the_accounts_it_cannot_link() -> None:
    result = read_plan(json.loads(PLAN.read_text()), str(PLAN))
    found = by_address(result)
    assert found["aws_ssoadmin_permission_set.deploy"].accounts == ("333333333333", "444444444444", AUDIT)
    assert found['aws_ssoadmin_permission_set.team["admin"]'].accounts is None
    assert (
        'aws_ssoadmin_permission_set.team["admin"]: the accounts it is assigned to are known only after apply'
    ) in result.notes


# ---------------------------------------------------------------------------
# Terraform's own reading of the root
# ---------------------------------------------------------------------------

# The accounts each permission set is assigned to, as the root's locals and literals say.
ASSIGNED = {
    'aws_ssoadmin_permission_set.team["admin"]': ("222222222222", "111111111111"),
    'aws_ssoadmin_permission_set.team["readonly"]': ("111111111111",),
    "aws_ssoadmin_permission_set.deploy": ("333333333333", "444444444444", AUDIT),
}


@requires_terraform
def test_terraform_plans_the_instances_the_scan_reads_and_the_fixture_plan_is_its_plan(
    tmp_path: Path, moto_endpoint: str
) -> None:
    plan = terraform_plan(ROOT, moto_endpoint, tmp_path, {"audit_account": AUDIT})
    planned = planned_resources(plan)
    assert sorted(a for a in planned if a.startswith("aws_ssoadmin_permission_set.")) == sorted(ASSIGNED)
    assert sorted(
        (address.split("[")[0], values["target_id"])
        for address, values in planned.items() if address.startswith("aws_ssoadmin_account_assignment.")
    ) == sorted(
        [("aws_ssoadmin_account_assignment.team", a) for a in ("222222222222", "111111111111")]
        + [("aws_ssoadmin_account_assignment.team", "111111111111")]
        + [("aws_ssoadmin_account_assignment.deploy", a) for a in ("333333333333", "444444444444")]
        + [("aws_ssoadmin_account_assignment.deploy_audit", AUDIT),
           ("aws_ssoadmin_account_assignment.elsewhere", "555555555555")]
    )
    scanned = by_address(scan_terraform([ROOT], variables=[("audit_account", AUDIT)]))
    assert {a: p.accounts for a, p in scanned.items() if p.kind == "permission-set"} == ASSIGNED
    # the fixture plan reads as this plan does
    fixture = read_plan(json.loads(PLAN.read_text()), str(PLAN), ROOT, root_for([ROOT], None))
    live = read_plan(plan, str(PLAN), ROOT, root_for([ROOT], None))
    assert [seen(p) for p in live.principals] == [seen(p) for p in fixture.principals]
    assert {a: p.accounts for a, p in by_address(live).items()} == ASSIGNED


# ---------------------------------------------------------------------------
# A landing zone through modules (modules/: the shape of public SSO modules such as
# cloudposse/terraform-aws-sso and avlcloudtechnologies/terraform-aws-sso; its plan,
# modules-plan.json, is Terraform's, made against moto)
# ---------------------------------------------------------------------------

MODULES = DATA / "modules"
MODULES_PLAN = DATA / "modules-plan.json"
PLATFORM = 'module.permission_sets.aws_ssoadmin_permission_set.this["Platform"]'
AUDITOR = 'module.permission_sets.aws_ssoadmin_permission_set.this["Auditor"]'


def landing_zone_lines() -> dict[str, int]:
    lines = (MODULES / "permission-sets" / "main.tf").read_text().splitlines()

    def line(text: str) -> int:
        return next(i for i, found in enumerate(lines) if text in found) + 1

    return {
        "set": line('resource "aws_ssoadmin_permission_set" "this"'),
        "inline": line('resource "aws_ssoadmin_permission_set_inline_policy" "this"'),
        "managed": line('resource "aws_ssoadmin_managed_policy_attachment" "this"'),
        "reference": line("  customer_managed_policy_reference {"),
    }


def test_hcl_permission_sets_of_a_module_assigned_by_another_through_its_output() -> None:
    result = scan_terraform([MODULES])
    found = {a: p for a, p in by_address(result).items() if p.kind == "permission-set"}
    lines = landing_zone_lines()
    assert sorted(found) == [AUDITOR, PLATFORM]
    platform, auditor = found[PLATFORM], found[AUDITOR]
    assert platform.location and platform.location.line == lines["set"]
    assert sorted(map(summary, platform.grants or ()), key=repr) == sorted([
        (lines["managed"], "arn:aws:iam::aws:policy/IAMReadOnlyAccess", None, False, ()),
        (lines["managed"], "arn:aws:iam::aws:policy/PowerUserAccess", None, False, ()),
        # named by the path and name of a policy the root defines, as Terraform plans them
        (lines["reference"], None, PolicyReference("billing-read", "/finance/"), False, ()),
    ], key=repr)
    assert [(g.location.line, [s.actions for s in g.statements]) for g in auditor.grants or ()] == [
        (lines["inline"], [("cloudtrail:LookupEvents",)]),
    ]
    # the assignments' keys use substr(); their ARNs come from the first module's output
    assert (platform.accounts, auditor.accounts) == (("111111111111", "222222222222"), ("111111111111",))
    assert result.notes == ()


def test_plan_of_the_landing_zone_takes_what_it_cannot_link_from_the_hcl() -> None:
    plan = json.loads(MODULES_PLAN.read_text())
    hcl = by_address(scan_terraform([MODULES]))
    with_hcl = read_plan(plan, str(MODULES_PLAN), MODULES, root_for([MODULES], None))
    planned = {a: p for a, p in by_address(with_hcl).items() if p.kind == "permission-set"}
    assert {a: seen(p) for a, p in planned.items()} == {a: seen(hcl[a]) for a in (AUDITOR, PLATFORM)}
    assert with_hcl.notes == ()

    # alone, the plan links only the inline policy (keyed as its permission set)
    alone = by_address(read_plan(plan, str(MODULES_PLAN)))
    assert [g.statements[0].actions for g in alone[AUDITOR].grants or ()] == [("cloudtrail:LookupEvents",)]
    assert (alone[PLATFORM].grants, alone[PLATFORM].accounts, alone[AUDITOR].accounts) == ((), None, None)
    assert read_plan(plan, str(MODULES_PLAN)).notes == tuple(
        f"{address}: {what} known only after apply"
        for address in (AUDITOR, PLATFORM)
        for what in ("the accounts it is assigned to are",
                     "what the resources that name it by instance grant it is")
    )


# ---------------------------------------------------------------------------
# A role's permissions boundary, read as a permission set's (once the IAM resource
# table names aws_iam_role's `permissions_boundary`: the entry is cfn-table's to add)
# ---------------------------------------------------------------------------


def test_a_roles_permissions_boundary_is_read_as_a_boundary(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "app" {\n'
        '  name                 = "app"\n'
        '  assume_role_policy   = "{}"\n'
        '  permissions_boundary = "arn:aws:iam::aws:policy/PowerUserAccess"\n'
        "}\n"
    )
    [role] = scan_terraform([tmp_path], use_cache=False).principals
    assert role.boundary is not None and summary(role.boundary) == (
        4, "arn:aws:iam::aws:policy/PowerUserAccess", None, False, ()
    )
    assert role.grants == ()


def test_a_customer_managed_reference_iam_would_refuse_is_not_shown(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_ssoadmin_permission_set" "ops" {\n'
        '  name         = "Ops"\n'
        '  instance_arn = "arn:aws:sso:::instance/ssoins-1111111111111111"\n'
        "}\n"
        'resource "aws_ssoadmin_customer_managed_policy_attachment" "ops" {\n'
        '  instance_arn       = "arn:aws:sso:::instance/ssoins-1111111111111111"\n'
        "  permission_set_arn = aws_ssoadmin_permission_set.ops.arn\n"
        "  customer_managed_policy_reference {\n"
        '    name = "$(touch pwned) <script>"\n'
        "  }\n"
        "}\n"
    )
    [ops] = scan_terraform([tmp_path], use_cache=False).principals
    [grant] = ops.grants or ()
    assert (grant.location.line, grant.policy_reference, grant.known) == (8, None, False)
    assert grant.unknown and grant.unknown.startswith("the customer managed policy's invalid name")
    assert "pwned" not in grant.unknown
