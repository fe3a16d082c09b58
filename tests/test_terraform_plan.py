from __future__ import annotations

import io
import json
import os
import re
import shutil
import textwrap
import time
import zipfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from iam_lastused.analysis.analyze import granted_services
from iam_lastused.integrations.terraform_wrapper import run_wrapped
from iam_lastused.model import Grant, Location, Principal, PrincipalResult, ServiceResult, SourceResult
from iam_lastused.render.plan_text import annotate_plan, place_notes, principal_notes, shown_headers
from iam_lastused.sources.plan.load import PlanError, load_plan
from iam_lastused.sources.plan.read import read_plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "plan" / "plan.json"
EXAMPLE_TEXT = ROOT / "examples" / "plan" / "plan.txt"
COLOUR_TEXT = Path(__file__).parent / "data" / "plan" / "plan-colour.txt"
STAND_IN = Path(__file__).parent / "stand_in" / "terraform"
ACCOUNT = "111122223333"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_LASTUSED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------------
# Building plans
# ---------------------------------------------------------------------------


def policy(*actions: str, effect: str = "Allow") -> str:
    statements = [{"Effect": effect, "Action": list(actions), "Resource": "*"}]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def change(
    address: str,
    actions: list[str],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    after_unknown: dict[str, Any] | None = None,
    index: Any = None,
) -> dict[str, Any]:
    """A resource_changes entry; type, name and module come from the address."""
    module, _, resource = address.rpartition(".aws_")
    resource_type, _, name = f"aws_{resource}".partition(".") if module else address.partition(".")
    entry: dict[str, Any] = {
        "address": address,
        "mode": "managed",
        "type": resource_type,
        "name": name.split("[")[0],
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": after_unknown or {},
        },
    }
    if module:
        entry["module_address"] = module
    if index is not None:
        entry["index"] = index
    return entry


def plan(
    *changes: dict[str, Any], configuration: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {}},
        "resource_changes": list(changes),
        "configuration": configuration or {"root_module": {}},
        **extra,
    }


def role(name: str, path: str = "/", **values: Any) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
        "name": name,
        "path": path,
        "id": name,
        **values,
    }


def config(*resources: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"root_module": {"resources": [{"address": a, "expressions": e} for a, e in resources]}}


def by_address(result: SourceResult) -> dict[str, Principal]:
    return {principal.address: principal for principal in result.principals}


def actions(grants: tuple[Grant, ...] | None) -> list[tuple[str, ...]]:
    return [statement.actions for grant in grants or () for statement in grant.statements]


def services(grants: tuple[Grant, ...] | None) -> list[str]:
    return sorted(granted_services(grants or ())[0])


# ---------------------------------------------------------------------------
# read_plan: the example plan
# ---------------------------------------------------------------------------


def test_example_plan_principals_changes_and_arns() -> None:
    result = read_plan(load_plan(EXAMPLE), "plan.json", None)
    principals = by_address(result)
    assert list(principals) == [
        "aws_iam_role.ci_deployer",
        "module.orders.aws_iam_policy.data_access",
        "module.orders.aws_iam_role.reporter",
        "module.orders.aws_iam_role.worker",
    ]
    worker = principals["module.orders.aws_iam_role.worker"]
    assert (worker.kind, worker.change, worker.deployed) == ("role", "no-op", True)
    assert worker.arn == f"arn:aws:iam::{ACCOUNT}:role/service/orders-worker"
    assert (worker.name, worker.path, worker.source) == ("orders-worker", "/service/", "terraform-plan")
    assert services(worker.grants) == ["dynamodb", "kms", "logs", "s3", "ses", "sns", "sqs"]
    assert services(worker.grants_before) == ["dynamodb", "kms", "logs", "s3", "sns", "sqs"]
    reporter = principals["module.orders.aws_iam_role.reporter"]
    assert (reporter.change, reporter.deployed, reporter.arn, reporter.grants_before) == (
        "create",
        False,
        None,
        None,
    )
    assert actions(reporter.grants) == [
        ("athena:GetQueryResults", "athena:StartQueryExecution"),
        ("s3:GetObject",),
    ]
    ci = principals["aws_iam_role.ci_deployer"]
    assert ci.arn == f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"
    ecr = [grant for grant in ci.grants or () if grant.policy_arn]
    assert ecr == [
        Grant(
            Location("plan.json"),
            policy_arn="arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser",
            known=False,
        )
    ]
    assert services(ci.grants) == ["cloudformation", "ecs", "iam", "lambda", "s3"]
    assert result.errors == () and result.notes == ()


def test_example_plan_arns_match_the_access_data() -> None:
    access = json.loads((ROOT / "examples" / "access-data.json").read_text())
    principals = read_plan(load_plan(EXAMPLE), "plan.json", None).principals
    assert {p.arn for p in principals if p.deployed} <= set(access)


def test_example_plan_locations_from_the_hcl() -> None:
    result = read_plan(load_plan(EXAMPLE), "plan.json", ROOT / "examples" / "terraform")
    principals = by_address(result)
    module_file = str(ROOT / "examples/terraform/modules/service-role/main.tf")
    worker = principals["module.orders.aws_iam_role.worker"]
    assert worker.location == Location(module_file, 2)
    runtime = next(grant for grant in worker.grants or () if "ses:SendEmail" in actions((grant,))[-1])
    assert runtime.location == Location(module_file, 41)
    assert [statement.location for statement in runtime.statements] == [
        Location(module_file, 47),
        Location(module_file, 52),
        Location(module_file, 57),
    ]
    ci = principals["aws_iam_role.ci_deployer"]
    deploy = [statement.location.line for grant in ci.grants or () for statement in grant.statements]
    assert deploy == [38, 44, 50]
    ecr = next(grant for grant in ci.grants or () if grant.policy_arn)
    assert ecr.location == Location(str(ROOT / "examples/terraform/main.tf"), 63)
    reporter = principals["module.orders.aws_iam_role.reporter"]
    assert reporter.location == Location(module_file, 92)


def test_notes_go_under_the_principal_or_the_first_changed_resource_granting_it() -> None:
    principals = {p.address: p for p in read_plan(load_plan(EXAMPLE), "plan.json").principals}
    worker = principals["module.orders.aws_iam_role.worker"]
    assert "module.orders.aws_iam_role_policy.runtime" in worker.granted_via
    results = [PrincipalResult(p, "not-deployed") for p in principals.values()]
    placed = place_notes(results, 90, shown_headers(EXAMPLE_TEXT.read_text()))
    assert sorted(placed) == [
        "module.orders.aws_iam_role.reporter",
        "module.orders.aws_iam_role_policy.runtime",
    ]
    assert placed["module.orders.aws_iam_role_policy.runtime"][0].startswith(
        "iam-lastused: module.orders.aws_iam_role.worker: "
    )


# ---------------------------------------------------------------------------
# read_plan: changes, unknowns, targets
# ---------------------------------------------------------------------------


def test_module_and_instance_keys_kept_and_matched_to_hcl_instances(tmp_path: Path) -> None:
    infra = tmp_path / "infra"
    (infra / "mod").mkdir(parents=True)
    (infra / "main.tf").write_text('module "svc" {\n  for_each = toset(["a", "b"])\n  source = "./mod"\n}\n')
    (infra / "mod" / "main.tf").write_text(
        textwrap.dedent("""\
            resource "aws_iam_role" "r" {
              count = 2
              name  = "svc"
            }

            resource "aws_iam_role_policy" "p" {
              count = 2
              role  = aws_iam_role.r[count.index].id
              policy = jsonencode({
                Statement = [
                  { Effect = "Allow", Action = ["s3:GetObject"], Resource = "*" },
                ]
              })
            }
        """)
    )
    address = 'module.svc["a"].aws_iam_role.r[1]'
    result = read_plan(
        plan(
            change(address, ["no-op"], role("svc-a-1"), role("svc-a-1"), index=1),
            change(
                'module.svc["a"].aws_iam_role_policy.p[1]',
                ["update"],
                {"role": "svc-a-1", "policy": policy("sqs:SendMessage")},
                {
                    "role": "svc-a-1",
                    "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"]}]}),
                },
                index=1,
            ),
        ),
        "tfplan.json",
        infra,
    )
    principal = by_address(result)[address]
    assert principal.location == Location(str(infra / "mod" / "main.tf"), 1)
    assert [s.location for g in principal.grants or () for s in g.statements] == [
        Location(str(infra / "mod" / "main.tf"), 11)
    ]
    assert [s.location for g in principal.grants_before or () for s in g.statements] == [
        Location("tfplan.json", None)
    ]
    assert actions(principal.grants) == [("s3:GetObject",)]
    assert actions(principal.grants_before) == [("sqs:SendMessage",)]


@pytest.mark.parametrize(
    ("actions_", "expected"),
    [
        (["no-op"], "no-op"),
        (["create"], "create"),
        (["update"], "update"),
        (["delete"], "delete"),
        (["delete", "create"], "replace"),
        (["create", "delete"], "replace"),
    ],
)
def test_change_actions(actions_: list[str], expected: str) -> None:
    before = None if actions_ == ["create"] else role("r")
    after = None if actions_ == ["delete"] else role("r")
    [principal] = read_plan(
        plan(change("aws_iam_role.r", actions_, before, after)), "p.json", None
    ).principals
    assert principal.change == expected
    assert principal.deployed is (before is not None)


def test_deleted_principal_has_no_grants_after() -> None:
    inline = {"role": "r", "policy": policy("s3:GetObject")}
    result = read_plan(
        plan(
            change("aws_iam_role.r", ["delete"], role("r"), None),
            change("aws_iam_role_policy.p", ["delete"], inline, None),
        ),
        "p.json",
        None,
    )
    [principal] = result.principals
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:role/r"
    assert principal.grants == ()
    assert actions(principal.grants_before) == [("s3:GetObject",)]


def test_arn_from_prior_state_when_before_has_none() -> None:
    prior = {
        "values": {
            "root_module": {
                "child_modules": [
                    {
                        "address": "module.m",
                        "resources": [
                            {
                                "address": "module.m.aws_iam_user.u",
                                "mode": "managed",
                                "values": {"arn": f"arn:aws:iam::{ACCOUNT}:user/ci"},
                            }
                        ],
                    }
                ]
            }
        }
    }
    change_ = change("module.m.aws_iam_user.u", ["no-op"], {"name": "ci"}, {"name": "ci"})
    [principal] = read_plan(plan(change_, prior_state=prior), "p.json", None).principals
    assert (principal.kind, principal.arn, principal.unresolved) == (
        "user",
        f"arn:aws:iam::{ACCOUNT}:user/ci",
        None,
    )


def test_unknown_policy_and_unknown_role_resolved_through_configuration() -> None:
    created_role = {"name": "new", "path": "/", "arn": None, "id": None}
    result = read_plan(
        plan(
            change("aws_iam_role.new", ["create"], None, created_role, {"arn": True, "id": True}),
            change(
                "aws_iam_role_policy.known",
                ["create"],
                None,
                {"role": None, "policy": policy("sqs:SendMessage")},
                {"role": True},
            ),
            change(
                "aws_iam_role_policy.later",
                ["create"],
                None,
                {"role": None, "policy": None},
                {"role": True, "policy": True},
            ),
            configuration=config(
                ("aws_iam_role.new", {"name": {"constant_value": "new"}}),
                (
                    "aws_iam_role_policy.known",
                    {"role": {"references": ["aws_iam_role.new.id", "aws_iam_role.new"]}},
                ),
                (
                    "aws_iam_role_policy.later",
                    {"role": {"references": ["aws_iam_role.new.id", "aws_iam_role.new"]}},
                ),
            ),
        ),
        "p.json",
        None,
    )
    [principal] = result.principals
    assert (principal.deployed, principal.arn, principal.grants_before) == (False, None, None)
    assert principal.grants == (
        Grant(Location("p.json"), (principal.grants or ())[0].statements),
        Grant(Location("p.json"), known=False),
    )
    assert actions(principal.grants) == [("sqs:SendMessage",)]
    assert granted_services(principal.grants or ()) == ({"sqs": [Location("p.json")]}, False)


def test_unknown_role_without_configuration_is_a_note() -> None:
    result = read_plan(
        plan(
            change(
                "aws_iam_role_policy.p",
                ["create"],
                None,
                {"role": None, "policy": policy("s3:*")},
                {"role": True},
            )
        ),
        "p.json",
        None,
    )
    assert result.principals == ()
    assert result.notes == ("aws_iam_role_policy.p: the role is known only after apply",)


def test_instance_references_pick_the_same_key() -> None:
    roles = [
        change(
            f'aws_iam_role.r["{key}"]',
            ["create"],
            None,
            {"name": None},
            {"name": True, "arn": True},
            index=key,
        )
        for key in ("a", "b")
    ]
    policies = [
        change(
            f'aws_iam_role_policy.p["{key}"]',
            ["create"],
            None,
            {"role": None, "policy": policy(action)},
            {"role": True},
            index=key,
        )
        for key, action in (("a", "s3:GetObject"), ("b", "sqs:SendMessage"))
    ]
    configuration = config(
        ("aws_iam_role_policy.p", {"role": {"references": ["aws_iam_role.r", "each.key"]}})
    )
    result = read_plan(plan(*roles, *policies, configuration=configuration), "p.json", None)
    principals = by_address(result)
    assert services(principals['aws_iam_role.r["a"]'].grants) == ["s3"]
    assert services(principals['aws_iam_role.r["b"]'].grants) == ["sqs"]


def test_role_inline_and_managed_arns_count_only_where_configured() -> None:
    data_arn = f"arn:aws:iam::{ACCOUNT}:policy/data"
    values = role(
        "r",
        inline_policy=[{"name": "old", "policy": policy("sns:Publish")}],
        managed_policy_arns=[data_arn, "arn:aws:iam::aws:policy/ReadOnlyAccess"],
    )
    data = {"arn": data_arn, "name": "data", "policy": policy("dynamodb:GetItem")}

    def read(expressions: dict[str, Any]) -> Principal:
        result = read_plan(
            plan(
                change("aws_iam_role.r", ["no-op"], values, values),
                change("aws_iam_policy.data", ["no-op"], data, data),
                configuration=config(("aws_iam_role.r", expressions)),
            ),
            "p.json",
            None,
        )
        return by_address(result)["aws_iam_role.r"]

    assert read({}).grants == ()
    configured = read({"inline_policy": [{"name": {"constant_value": "old"}}], "managed_policy_arns": {}})
    assert services(configured.grants) == ["dynamodb", "sns"]
    assert [g.policy_arn for g in configured.grants or ()] == [
        None,
        None,
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]


def test_partly_unknown_managed_policy_arns() -> None:
    after = role("r", managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess", None])
    result = read_plan(
        plan(
            change(
                "aws_iam_role.r",
                ["update"],
                role("r", managed_policy_arns=[]),
                after,
                {"managed_policy_arns": [False, True]},
            ),
            configuration=config(
                ("aws_iam_role.r", {"managed_policy_arns": {"references": ["aws_iam_policy.x.arn"]}})
            ),
        ),
        "p.json",
        None,
    )
    [principal] = result.principals
    assert [(g.policy_arn, g.known) for g in principal.grants or ()] == [
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", False),
        (None, False),
    ]
    assert principal.grants_before == ()


def test_attachments_memberships_and_policy_principals() -> None:
    team_policy = {
        "arn": f"arn:aws:iam::{ACCOUNT}:policy/team",
        "name": "team",
        "policy": policy("ec2:Describe*"),
    }
    new_policy = {"arn": None, "name": "new", "policy": policy("lambda:InvokeFunction")}
    result = read_plan(
        plan(
            change(
                "aws_iam_user.dev",
                ["no-op"],
                {"name": "dev", "arn": f"arn:aws:iam::{ACCOUNT}:user/dev"},
                {"name": "dev", "arn": f"arn:aws:iam::{ACCOUNT}:user/dev"},
            ),
            change(
                "aws_iam_group.team", ["no-op"], {"name": "team", "arn": "g"}, {"name": "team", "arn": "g"}
            ),
            change("aws_iam_policy.team", ["no-op"], team_policy, team_policy),
            change("aws_iam_policy.new", ["create"], None, new_policy, {"arn": True}),
            change(
                "aws_iam_policy_attachment.team",
                ["no-op"],
                {"groups": ["team"], "policy_arn": team_policy["arn"]},
                {"groups": ["team"], "policy_arn": team_policy["arn"]},
            ),
            change(
                "aws_iam_group_policy.inline",
                ["create"],
                None,
                {"group": "team", "policy": policy("s3:GetObject")},
            ),
            change(
                "aws_iam_user_policy_attachment.new",
                ["create"],
                None,
                {"user": "dev", "policy_arn": None},
                {"policy_arn": True},
            ),
            change(
                "aws_iam_user_group_membership.dev",
                ["no-op"],
                {"user": "dev", "groups": ["team"]},
                {"user": "dev", "groups": ["team"]},
            ),
            configuration=config(
                (
                    "aws_iam_user_policy_attachment.new",
                    {"policy_arn": {"references": ["aws_iam_policy.new.arn", "aws_iam_policy.new"]}},
                )
            ),
        ),
        "p.json",
        None,
    )
    principals = by_address(result)
    assert services(principals["aws_iam_user.dev"].grants_before) == ["ec2"]
    assert services(principals["aws_iam_user.dev"].grants) == ["ec2", "lambda", "s3"]
    assert services(principals["aws_iam_group.team"].grants) == ["ec2", "s3"]
    assert services(principals["aws_iam_policy.new"].grants) == ["lambda"]
    assert principals["aws_iam_policy.team"].kind == "policy"
    assert result.notes == ()


def test_invalid_policy_json_is_an_input_error() -> None:
    inline = {"role": "r", "policy": "{not json"}
    result = read_plan(
        plan(
            change("aws_iam_role.r", ["no-op"], role("r"), role("r")),
            change("aws_iam_role_policy.p", ["no-op"], inline, inline),
        ),
        "p.json",
        None,
    )
    [principal] = result.principals
    assert principal.grants == (Grant(Location("p.json"), known=False),)
    assert [(e.message.split(":")[0], e.file, e.line) for e in result.errors] == [
        ("aws_iam_role_policy.p", "p.json", None)
    ]


def test_other_resources_data_sources_and_deposed_objects_are_skipped() -> None:
    data_role = change("data.aws_iam_role.x", ["read"], None, {"name": "x"})
    data_role["mode"] = "data"
    deposed = change("aws_iam_role.old", ["delete"], role("old"), None)
    deposed["deposed"] = "abc123"
    bucket = change("aws_s3_bucket.b", ["create"], None, {"bucket": "b"})
    assert read_plan(plan(data_role, deposed, bucket), "p.json", None).principals == ()


# ---------------------------------------------------------------------------
# load_plan
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "not a JSON plan or a binary plan file"),
        ('["a list"]', "not a Terraform plan: no format_version"),
        ('{"format_version": "1.0", "values": {}}', "not a Terraform plan (a state?)"),
        ('{"format_version": "2.0", "planned_values": {}}', "unsupported plan format_version 2.0"),
    ],
)
def test_load_plan_rejects_bad_input(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanError, match=re.escape(message)):
        load_plan(path)


def test_load_plan_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path / "nope.json")


def binary_plan(tmp_path: Path) -> Path:
    path = tmp_path / "tfplan"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tfplan", "binary")
    return path


def test_load_plan_converts_a_binary_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRAFORM_BINARY", str(STAND_IN))
    monkeypatch.setenv("STAND_IN_PLAN_JSON", str(EXAMPLE))
    monkeypatch.setenv("STAND_IN_LOG", str(tmp_path / "log"))
    path = binary_plan(tmp_path)
    assert load_plan(path) == json.loads(EXAMPLE.read_text())
    assert json.loads((tmp_path / "log").read_text()) == ["show", "-json", str(path)]


def test_load_plan_binary_without_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRAFORM_BINARY", str(tmp_path / "no-terraform"))
    with pytest.raises(PlanError, match=r"is a binary plan file, and .*no-terraform cannot run"):
        load_plan(binary_plan(tmp_path))


# ---------------------------------------------------------------------------
# Plan text
# ---------------------------------------------------------------------------


def test_annotate_inserts_after_headers_at_their_indentation() -> None:
    text = EXAMPLE_TEXT.read_text()
    notes = {
        "module.orders.aws_iam_role_policy.runtime": [
            "iam-lastused: this change adds ses (no usage history yet)"
        ],
        "module.orders.aws_iam_role.reporter": ["iam-lastused: one", "iam-lastused: two"],
        "aws_iam_role.not_in_the_text": ["iam-lastused: never shown"],
    }
    annotated = annotate_plan(text, notes).split("\n")
    at = annotated.index("  # module.orders.aws_iam_role.reporter will be created")
    assert annotated[at + 1 : at + 4] == [
        "  #   iam-lastused: one",
        "  #   iam-lastused: two",
        '  + resource "aws_iam_role" "reporter" {',
    ]
    at = annotated.index("  # module.orders.aws_iam_role_policy.runtime will be updated in-place")
    assert annotated[at + 1] == "  #   iam-lastused: this change adds ses (no usage history yet)"
    assert [line for line in annotated if "iam-lastused" not in line] == text.split("\n")


def test_annotate_keeps_colours_and_matches_coloured_headers() -> None:
    text = COLOUR_TEXT.read_text()
    annotated = annotate_plan(text, {"module.orders.aws_iam_role_policy.runtime": ["iam-lastused: note"]})
    header = "\x1b[1m  # module.orders.aws_iam_role_policy.runtime\x1b[0m will be updated in-place\n"
    assert header + "  #   iam-lastused: note\n\x1b[0m  \x1b[33m~" in annotated
    assert annotated.replace("  #   iam-lastused: note\n", "", 1) == text


@pytest.mark.parametrize(
    "header",
    [
        '# module.x["a b"].aws_iam_role.y["k"] will be destroyed',
        '# module.x["a b"].aws_iam_role.y["k"] must be replaced',
        '# module.x["a b"].aws_iam_role.y["k"] will be replaced, as requested',
        '# module.x["a b"].aws_iam_role.y["k"] will be read during apply',
    ],
)
def test_annotate_header_forms(header: str) -> None:
    text = f"\r\n    {header}\r\n    - resource {{\r\n"
    notes = {'module.x["a b"].aws_iam_role.y["k"]': ["iam-lastused: n"]}
    assert (
        annotate_plan(text, notes) == f"\r\n    {header}\r\n    #   iam-lastused: n\r\n    - resource {{\r\n"
    )


def test_annotate_leaves_other_comments_and_a_missing_final_newline() -> None:
    notes = {"aws_iam_role.r": ["iam-lastused: n"]}
    text = "  # aws_iam_role.r has changed\n  # aws_iam_role.r (deposed object 1a2b) will be destroyed"
    assert annotate_plan(text, notes) == text
    assert annotate_plan("  # aws_iam_role.r will be created", notes) == (
        "  # aws_iam_role.r will be created\n  #   iam-lastused: n"
    )


def test_annotate_escapes_control_characters_in_notes() -> None:
    annotated = annotate_plan("# aws_iam_role.r will be created\n", {"aws_iam_role.r": ["bad\x1b[31m\nname"]})
    assert annotated == "# aws_iam_role.r will be created\n#   bad\\x1b[31m\\x0aname\n"


NOW = datetime(2026, 11, 24, tzinfo=timezone.utc)


def service(namespace: str, state: str, days: int | None = None) -> ServiceResult:
    accessed = None if days is None else datetime(2026, 11, 24 - days, tzinfo=timezone.utc)
    return ServiceResult(namespace, namespace.upper(), state, last_accessed=accessed)  # type: ignore[arg-type]


def test_principal_notes_for_an_analysed_principal() -> None:
    principal = Principal("aws_iam_role.r", "terraform-plan", "role", change="update")
    result = PrincipalResult(
        principal,
        "analyzed",
        services=(
            service("dynamodb", "unused"),
            service("sns", "unused"),
            service("sqs", "stale", 20),
            service("logs", "used", 1),
            service("cloudwatch", "not-granted", 2),
        ),
        granted=("dynamodb", "logs", "s3", "ses", "sns", "sqs"),
        added=("s3", "ses"),
        removed=("cloudwatch",),
    )
    assert principal_notes(result, 365) == [
        "iam-lastused: 3 of 6 granted services not used in 365 days: dynamodb, sns, sqs",
        "iam-lastused: this change adds s3, ses (no usage history yet)",
        "iam-lastused: this change removes cloudwatch",
    ]
    used_before = replace(result, added=("logs",), removed=(), services=result.services[3:4])
    assert principal_notes(used_before, 365) == [
        "iam-lastused: all 6 granted services used in the last 365 days",
        "iam-lastused: this change adds logs",
    ]


def test_principal_notes_for_other_statuses() -> None:
    created = Principal('module.m.aws_iam_role.r["x"]', "terraform-plan", "role", change="create")
    assert principal_notes(PrincipalResult(created, "not-deployed", added=("s3", "sqs")), 90) == [
        "iam-lastused: this change adds s3, sqs (no usage history yet)"
    ]
    assert principal_notes(PrincipalResult(created, "not-deployed"), 90) == [
        "iam-lastused: not deployed yet: no usage history"
    ]
    failed = PrincipalResult(replace(created, change="update"), "error", error="AccessDenied\x07")
    assert principal_notes(failed, 90) == ["iam-lastused: error: AccessDenied\\x07"]
    deleted = PrincipalResult(replace(created, change="delete"), "analyzed", removed=("s3",))
    assert principal_notes(deleted, 90) == []


def test_place_notes_names_principals_under_other_headers() -> None:
    def result(address: str, *via: str) -> PrincipalResult:
        return PrincipalResult(Principal(address, "terraform-plan", "role", granted_via=via), "not-deployed")

    results = [
        result("aws_iam_role.a", "aws_iam_role_policy.p"),
        result("aws_iam_role.b", "aws_iam_policy.unchanged", "aws_iam_role_policy.p"),
        result("aws_iam_role.unchanged", "aws_iam_policy.unchanged"),
    ]
    note = "iam-lastused: not deployed yet: no usage history"
    assert place_notes(results, 90, {"aws_iam_role.a", "aws_iam_role_policy.p"}) == {
        "aws_iam_role.a": [note],
        "aws_iam_role_policy.p": [note.replace("iam-lastused: ", "iam-lastused: aws_iam_role.b: ")],
    }


# ---------------------------------------------------------------------------
# The wrapper
# ---------------------------------------------------------------------------


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in terraform, printing the coloured plan text; returns its log."""
    monkeypatch.setenv("STAND_IN_PLAN_TEXT", str(COLOUR_TEXT))
    monkeypatch.setenv("STAND_IN_PLAN_JSON", str(EXAMPLE))
    monkeypatch.setenv("STAND_IN_LOG", str(tmp_path / "log"))
    return tmp_path / "log"


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize(
    ("exit_code", "flags"), [(0, []), (0, ["-detailed-exitcode"]), (2, ["-detailed-exitcode"])]
)
def test_wrap_passes_output_through_and_reads_the_plan(
    stand_in: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    exit_code: int,
    flags: list[str],
) -> None:
    monkeypatch.setenv("STAND_IN_EXIT", str(exit_code))
    stdout = io.BytesIO()
    result = run_wrapped([str(STAND_IN), "plan", *flags], stdout)
    assert stdout.getvalue() == COLOUR_TEXT.read_bytes()
    assert result.output == COLOUR_TEXT.read_text()
    assert (result.exit_code, result.error) == (exit_code, None)
    assert result.plan == json.loads(EXAMPLE.read_text())
    [planned, shown] = calls(stand_in)
    out = planned[-1].removeprefix("-out=")
    assert planned == ["plan", *flags, f"-out={out}"]
    assert shown == ["show", "-json", out]
    assert result.saved == out and os.path.exists(out)  # terraform's apply hint names it
    shutil.rmtree(os.path.dirname(out))
    assert "stand-in: a warning on stderr" in capfd.readouterr().err


def test_wrap_failing_plan_is_passed_through_untouched(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_EXIT", "1")
    stdout = io.BytesIO()
    result = run_wrapped([str(STAND_IN), "plan", "-detailed-exitcode"], stdout)
    assert (result.exit_code, result.plan, result.error) == (1, None, None)
    assert stdout.getvalue() == COLOUR_TEXT.read_bytes()
    assert [call[0] for call in calls(stand_in)] == ["plan"]


def test_wrap_exit_2_without_detailed_exitcode_is_a_failure(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_EXIT", "2")
    result = run_wrapped([str(STAND_IN), "plan"], io.BytesIO())
    assert (result.exit_code, result.plan) == (2, None)


def test_wrap_keeps_the_users_out_file_and_global_options(stand_in: Path, tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    result = run_wrapped([str(STAND_IN), "-chdir=infra", "plan", "-out", "saved.tfplan"], io.BytesIO())
    assert result.exit_code == 0 and result.plan is not None
    assert calls(stand_in) == [
        ["-chdir=infra", "plan", "-out", "saved.tfplan"],
        ["-chdir=infra", "show", "-json", "saved.tfplan"],
    ]
    assert (tmp_path / "saved.tfplan").exists()
    run_wrapped([str(STAND_IN), "plan", "-out=other.tfplan"], io.BytesIO())
    assert calls(stand_in)[-2:] == [["plan", "-out=other.tfplan"], ["show", "-json", "other.tfplan"]]
    assert zipfile.is_zipfile(tmp_path / "other.tfplan")


def test_wrap_plan_that_cannot_be_read_keeps_the_exit_code(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "state.json").write_text('{"format_version": "1.0", "values": {}}')
    monkeypatch.setenv("STAND_IN_PLAN_JSON", str(tmp_path / "state.json"))
    monkeypatch.setenv("STAND_IN_EXIT", "2")
    stdout = io.BytesIO()
    result = run_wrapped([str(STAND_IN), "plan", "-detailed-exitcode"], stdout)
    assert (result.exit_code, result.plan) == (2, None)
    assert result.error == "not a Terraform plan (a state?): no planned_values or resource_changes"
    assert stdout.getvalue() == COLOUR_TEXT.read_bytes()


def test_wrap_show_failure_is_an_error_not_an_exit_code(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_WRITE_NO_PLAN", "1")
    result = run_wrapped([str(STAND_IN), "plan"], io.BytesIO())
    assert result.exit_code == 0 and result.plan is None
    assert result.error is not None and "Failed to read the given file" in result.error


def test_wrap_missing_binary(tmp_path: Path) -> None:
    stdout = io.BytesIO()
    result = run_wrapped([str(tmp_path / "terraform"), "plan"], stdout)
    assert (result.exit_code, result.output, result.plan, stdout.getvalue()) == (127, "", None, b"")
    assert result.error is not None and "cannot run" in result.error
    assert not list(tmp_path.glob("iam-lastused-*"))


class Timed(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def write(self, data: Any) -> int:
        self.times.append(time.monotonic())
        return super().write(data)


def test_wrap_streams_output_as_it_comes(stand_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAND_IN_PAUSE", "0.5")
    stdout = Timed()
    run_wrapped([str(STAND_IN), "plan"], stdout)
    assert stdout.times[-1] - stdout.times[0] >= 0.4


def test_hook_script() -> None:
    hook = ROOT / "hooks" / "terraform-plan"
    assert os.access(hook, os.X_OK)
    assert (
        hook.read_text()
        == '#!/usr/bin/env sh\nexec iam-lastused wrap -- "${TERRAFORM_BINARY:-terraform}" plan "$@"\n'
    )


def test_read_plan_checks_the_format_too() -> None:
    with pytest.raises(PlanError, match=r"unsupported plan format_version 2\.1"):
        read_plan({"format_version": "2.1", "planned_values": {}}, "p.json", None)
