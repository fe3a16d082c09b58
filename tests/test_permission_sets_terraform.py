"""IAM Identity Center permission sets as principals, from Terraform HCL and plans
(issue 27): each once, with its grants at their file:line, the customer managed
policies it refers to by name, its permissions boundary (noted, not a grant) and the
accounts the code assigns it to.

The run as a whole (resolving each permission set to its role in every account) is
resolve's; these tests read what the sources give."""

from __future__ import annotations

from pathlib import Path

import pytest
from iam_lastused.model import Grant, Location, PolicyReference, Principal, SourceResult
from iam_lastused.sources.terraform.scan import scan_terraform

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
