"""Terraform as real modules write it (count/for_each instances, dynamic blocks, functions,
tfvars, data sources), through the CLI's JSON report, offline."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

ACCOUNT = "111122223333"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


Reports = dict[str, dict[str, str | None]]


def write(files: dict[str, str]) -> None:
    for name, content in files.items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))


def access_data(reports: Reports) -> str:
    """An access-data file: for each role name, its services and when each was last used."""
    document = {
        f"arn:aws:iam::{ACCOUNT}:role/{name}": {
            "JobStatus": "COMPLETED",
            "JobType": "SERVICE_LEVEL",
            "JobCreationDate": "2026-01-01T00:00:00+00:00",
            "ServicesLastAccessed": [
                {"ServiceName": namespace, "ServiceNamespace": namespace, "TotalAuthenticatedEntities": 0}
                | ({"LastAuthenticated": when} if when else {})
                for namespace, when in services.items()
            ],
        }
        for name, services in reports.items()
    }
    Path("access.json").write_text(json.dumps(document))
    return "access.json"


def scan(cli: Any, files: dict[str, str], *options: str, reports: Reports | None = None) -> Any:
    write(files)
    data = access_data(reports or {})
    run = cli("scan", "infra", "--access-data", data, "--account-id", ACCOUNT, "--format", "json", *options)
    assert run.code in (0, 1), run.err
    return run


def principals(run: Any) -> dict[str, dict[str, Any]]:
    return {principal["address"]: principal for principal in run.json["principals"]}


# ---------------------------------------------------------------------------
# Unknowns said aloud
# ---------------------------------------------------------------------------


def test_unknown_grants_are_listed_with_their_reason(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "doc" {}
            resource "aws_iam_role" "app" {
              name = "app"
            }
            resource "aws_iam_role_policy" "known" {
              role   = aws_iam_role.app.id
              policy = jsonencode({ Statement = [{ Action = "s3:GetObject", Resource = "*" }] })
            }
            resource "aws_iam_role_policy" "unknown" {
              role   = aws_iam_role.app.id
              policy = var.doc
            }
            resource "aws_iam_role" "plain" {
              name = "plain"
            }
        """,
    }, reports={"app": {"s3": None}, "plain": {}})
    found = principals(run)
    app = found["aws_iam_role.app"]
    assert app["grants_complete"] is False
    assert app["unknown_grants"] == [{"file": "infra/main.tf", "line": 9, "reason": "var.doc has no default"}]
    assert found["aws_iam_role.plain"]["grants_complete"] is True
    assert found["aws_iam_role.plain"]["unknown_grants"] == []
    text = cli("scan", "infra", "--access-data", "access.json", "--account-id", ACCOUNT).out
    assert "grants partly unknown: var.doc has no default (infra/main.tf:9)" in text
    markdown = cli("scan", "infra", "--access-data", "access.json", "--account-id", ACCOUNT,
                   "--format", "markdown").out
    assert "grants partly unknown: var\\.doc has no default (infra\\/main\\.tf\\:9)" in markdown


# ---------------------------------------------------------------------------
# count and for_each
# ---------------------------------------------------------------------------

DISABLED_MODULE = {
    "infra/main.tf": """\
        module "enabled" {
          source = "./role"
          name   = "on"
        }
        module "disabled" {
          source = "./role"
          create = false
          name   = "off"
        }
    """,
    "infra/role/main.tf": """\
        variable "create" {
          default = true
        }
        variable "name" {}
        variable "attach_sqs" {
          default = false
        }
        locals {
          create = var.create
        }
        resource "aws_iam_role" "this" {
          count = local.create ? 1 : 0
          name  = var.name
        }
        data "aws_iam_policy_document" "sqs" {
          count = local.create && var.attach_sqs ? 1 : 0
          statement {
            actions   = ["sqs:SendMessage"]
            resources = ["*"]
          }
        }
        resource "aws_iam_role_policy" "sqs" {
          count  = local.create && var.attach_sqs ? 1 : 0
          role   = aws_iam_role.this[0].id
          policy = data.aws_iam_policy_document.sqs[0].json
        }
        data "aws_iam_policy_document" "s3" {
          statement {
            actions   = ["s3:GetObject", "sns:Publish"]
            resources = ["*"]
          }
        }
        resource "aws_iam_role_policy" "s3" {
          count  = local.create ? 1 : 0
          role   = aws_iam_role.this[0].id
          policy = data.aws_iam_policy_document.s3.json
        }
    """,
}


def test_count_zero_resources_do_not_exist(cli: Any) -> None:
    run = scan(cli, DISABLED_MODULE, "--suggest", "--fail-on", "unused",
               reports={"on": {"s3": "2026-01-01T00:00:00+00:00", "sns": None}})
    found = principals(run)
    assert sorted(found) == ["module.enabled.aws_iam_role.this[0]"]
    role = found["module.enabled.aws_iam_role.this[0]"]
    assert role["granted_services"] == ["s3", "sns"]
    assert role["grants_complete"] is True
    assert role["unused_services"] == ["sns"]
    statements = run.json["suggestions"]["statements"]
    assert [(s["line"], s["principals"]) for s in statements] == [
        (28, ["module.enabled.aws_iam_role.this[0]"])
    ]


def test_for_each_expands_instances_with_each_key_and_value(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "teams" {
              default = { red = "s3", blue = "sqs" }
            }
            locals {
              extra = toset(["ro"])
            }
            resource "aws_iam_role" "team" {
              for_each = var.teams
              name     = "team-${each.key}"
            }
            resource "aws_iam_role_policy" "team" {
              for_each = aws_iam_role.team
              role     = each.value.name
              policy   = jsonencode({ Statement = [{
                Effect = "Allow", Action = "${var.teams[each.key]}:Get*", Resource = "*" }] })
            }
            resource "aws_iam_role" "extra" {
              for_each = local.extra
              name     = "extra-${each.value}"
            }
            resource "aws_iam_role" "none" {
              for_each = {}
              name     = "none"
            }
            resource "aws_iam_role" "numbered" {
              count = 2
              name  = "n-${count.index}"
            }
        """,
    }, reports={"team-red": {}})
    found = principals(run)
    assert sorted(found) == [
        'aws_iam_role.extra["ro"]',
        "aws_iam_role.numbered[0]",
        "aws_iam_role.numbered[1]",
        'aws_iam_role.team["blue"]',
        'aws_iam_role.team["red"]',
    ]
    assert found['aws_iam_role.team["red"]']["arn"] == f"arn:aws:iam::{ACCOUNT}:role/team-red"
    assert found['aws_iam_role.team["red"]']["granted_services"] == ["s3"]
    assert found['aws_iam_role.team["blue"]']["granted_services"] == ["sqs"]
    assert found['aws_iam_role.extra["ro"]']["arn"] == f"arn:aws:iam::{ACCOUNT}:role/extra-ro"


def test_unsettled_count_is_said_and_never_removed_whole(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "enabled" {}
            resource "aws_iam_role" "app" {
              name = "app"
            }
            resource "aws_iam_role_policy" "maybe" {
              count  = var.enabled ? 1 : 0
              role   = aws_iam_role.app.id
              policy = jsonencode({ Statement = [{ Action = "sns:Publish", Resource = "*" }] })
            }
        """,
    }, "--suggest", reports={"app": {"sns": None}})
    [app] = run.json["principals"]
    assert app["grants_complete"] is False
    assert app["unknown_grants"] == [{
        "file": "infra/main.tf", "line": 5,
        "reason": "aws_iam_role_policy.maybe: count cannot be settled: var.enabled has no default: "
                  "whether it exists is not known",
    }]
    assert run.json["suggestions"]["policies"] == []
    assert "aws_iam_role_policy.maybe: count cannot be settled: var.enabled has no default; " \
        "its instances are read as one" in run.json["notes"]


# ---------------------------------------------------------------------------
# Expressions: functions and dynamic statements
# ---------------------------------------------------------------------------


def test_functions_modules_use_for_names_and_documents(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "role_name" {
              default = null
            }
            variable "statements" {
              default = {
                s3  = { actions = ["s3:GetObject"] }
                sqs = { actions = ["sqs:SendMessage"], effect = "Allow" }
              }
            }
            locals {
              name   = coalesce(var.role_name, "app")
              extra  = compact(["", null, "kms:Decrypt"])
              nested = flatten([["logs:PutLogEvents"], [["logs:CreateLogStream"]]])
              path   = try(var.statements.missing.path, "/")
            }
            resource "aws_iam_role" "app" {
              name = "${local.name}-${lower(replace(basename("a/B.C"), ".", "-"))}"
              path = local.path
            }
            resource "aws_iam_role" "second" {
              name = trimsuffix(trimprefix(upper(title(one(["x-role"]))), "X"), "ROLE")
            }
            data "aws_iam_policy_document" "app" {
              dynamic "statement" {
                for_each = var.statements
                content {
                  sid     = statement.key
                  effect  = try(statement.value.effect, "Allow")
                  actions = statement.value.actions
                  resources = ["*"]
                }
              }
              statement {
                actions   = distinct(concat(local.extra, local.nested, local.extra))
                resources = [element(split(",", "a,b"), 3)]
              }
            }
            resource "aws_iam_role_policy" "app" {
              count  = length(keys(var.statements)) == 2 && can(var.statements.s3) ? 1 : 0
              role   = aws_iam_role.app.id
              policy = data.aws_iam_policy_document.app.json
            }
        """,
    }, reports={"app-b-c": {}})
    found = principals(run)
    app = found["aws_iam_role.app"]
    assert app["arn"] == f"arn:aws:iam::{ACCOUNT}:role/app-b-c"
    assert app["granted_services"] == ["kms", "logs", "s3", "sqs"]
    assert app["grants_complete"] is True
    assert found["aws_iam_role.second"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/-"


# ---------------------------------------------------------------------------
# Inputs as Terraform loads them
# ---------------------------------------------------------------------------


def test_tfvars_load_in_terraforms_order(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_VAR_env", "from-environment")
    monkeypatch.setenv("TF_VAR_teams", '["red", "blue"]')
    files = {
        "infra/main.tf": """\
            variable "a" {}
            variable "b" {}
            variable "c" {}
            variable "env" {}
            variable "teams" {}
            resource "aws_iam_role" "r" {
              name = "${var.a}-${var.b}-${var.c}-${var.env}"
            }
            resource "aws_iam_role" "team" {
              for_each = toset(var.teams)
              name     = each.key
            }
        """,
        "infra/terraform.tfvars": 'a = "tfvars"\nb = "tfvars"\nc = "tfvars"\n',
        "infra/terraform.tfvars.json": '{"b": "json"}',
        "infra/b.auto.tfvars": 'c = "b-auto"\n',
        "infra/a.auto.tfvars.json": '{"c": "a-auto", "b": "a-auto"}',
        "given.tfvars": 'a = "given"\n',
    }
    name = "given-a-auto-b-auto-from-environment"
    run = scan(cli, files, "--var-file", "given.tfvars", reports={name: {}})
    found = principals(run)
    assert found["aws_iam_role.r"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}"
    assert sorted(found) == ['aws_iam_role.r', 'aws_iam_role.team["blue"]', 'aws_iam_role.team["red"]']


# ---------------------------------------------------------------------------
# Data sources with known answers
# ---------------------------------------------------------------------------

DATA_SOURCES = {
    "infra/main.tf": """\
        data "aws_partition" "current" {}
        data "aws_caller_identity" "current" {}
        data "aws_region" "current" {}
        data "aws_iam_policy" "lambda" {
          name = "AWSLambdaBasicExecutionRole"
        }
        data "aws_iam_policy" "by_arn" {
          arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"
        }
        data "aws_iam_policy" "own" {
          name = "own"
        }
        resource "aws_iam_policy" "own" {
          name   = "own"
          policy = jsonencode({ Statement = [{ Action = "sqs:SendMessage", Resource = "*" }] })
        }
        resource "aws_iam_role" "app" {
          name = "app-${data.aws_region.current.name}-${data.aws_partition.current.dns_suffix}"
        }
        resource "aws_iam_role_policy_attachment" "lambda" {
          role       = aws_iam_role.app.name
          policy_arn = data.aws_iam_policy.lambda.arn
        }
        resource "aws_iam_role_policy_attachment" "by_arn" {
          role       = aws_iam_role.app.name
          policy_arn = data.aws_iam_policy.by_arn.arn
        }
        resource "aws_iam_role_policy_attachment" "own" {
          role       = aws_iam_role.app.name
          policy_arn = data.aws_iam_policy.own.arn
        }
        resource "aws_iam_role_policy_attachment" "own_by_arn" {
          role       = aws_iam_role.app.name
          policy_arn = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:policy/own"
        }
    """,
}


def test_data_sources_with_known_answers(cli: Any) -> None:
    run = scan(cli, DATA_SOURCES, "--region", "eu-west-1", reports={"app-eu-west-1-amazonaws.com": {}})
    app = principals(run)["aws_iam_role.app"]
    assert app["arn"] == f"arn:aws:iam::{ACCOUNT}:role/app-eu-west-1-amazonaws.com"
    assert app["granted_services"] == ["sqs"]  # own, by its name and by its ARN
    reasons = [grant["reason"] for grant in app["unknown_grants"]]
    arns = " ".join(reasons)
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in arns
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in arns
    assert len(reasons) == 2, reasons  # the AWS managed policies: no document in the access data


def test_the_account_and_region_unknown_say_how_to_know_them(cli: Any) -> None:
    write(DATA_SOURCES)
    access_data({})
    run = cli("scan", "infra", "--access-data", "access.json", "--format", "json")
    app = principals(run)["aws_iam_role.app"]
    assert app["error"] == "name is computed: the region is known only with --region"
    reasons = " ".join(grant["reason"] for grant in app["unknown_grants"])
    assert "the account is known only with --account-id" in reasons
    assert app["granted_services"] == ["sqs"]  # data.aws_iam_policy.own is found by its name
    assert [grant["line"] for grant in app["unknown_grants"]] == [20, 24, 32]


# ---------------------------------------------------------------------------
# Heredocs python-hcl2 refuses
# ---------------------------------------------------------------------------


def test_heredoc_closing_marker_followed_by_spaces_is_read_on_its_lines(cli: Any) -> None:
    write({"infra/main.tf": "".join([
        'resource "aws_iam_role" "app" {\n',
        '  name = "app"\n',
        "}\n",
        'resource "aws_iam_role_policy" "app" {\n',
        "  role   = aws_iam_role.app.id\n",
        "  policy = <<-EOF\n",
        '    {"Statement": [\n',
        '      {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},\n',
        '      {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}\n',
        "    ]}\n",
        "    EOF  \t\n",
        "}\n",
        'resource "aws_iam_role" "after" {\n',
        "  name = <<EOT\n",
        "after\n",
        "EOT   \n",
        "}",
    ])})
    run = scan(cli, {}, "--suggest", reports={"app": {"s3": None, "sqs": None}})
    assert run.json["errors"] == []
    found = principals(run)
    assert found["aws_iam_role.app"]["granted_services"] == ["s3", "sqs"]
    assert sorted(found) == ["aws_iam_role.after", "aws_iam_role.app"]
    statements = run.json["suggestions"]["statements"]
    assert [(s["line"], s["actions"]) for s in statements] == [
        (8, ["s3:GetObject"]), (9, ["sqs:SendMessage"])
    ]


def test_var_is_set_after_the_var_files_in_the_order_given(cli: Any) -> None:
    files = {
        "infra/main.tf": """\
            variable "name" {}
            variable "teams" {}
            resource "aws_iam_role" "r" {
              name = var.name
            }
            resource "aws_iam_role" "team" {
              for_each = var.teams
              name     = "team-${each.value}"
            }
        """,
        "given.tfvars": 'name = "from-file"\nteams = { a = "file" }\n',
    }
    run = scan(cli, files, "--var-file", "given.tfvars", "--var", "name=first", "--var", "name=second",
               "--var", 'teams={ red = "r", blue = "b" }', reports={"second": {}})
    found = principals(run)
    assert found["aws_iam_role.r"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/second"
    assert sorted(found) == ['aws_iam_role.r', 'aws_iam_role.team["blue"]', 'aws_iam_role.team["red"]']
    hooked = cli("hook", "--offline", "--format", "json", "--var", 'teams={ x = "x" }', "infra/main.tf")
    assert hooked.code in (0, 1), hooked.err
    assert sorted(principals(hooked)) == ['aws_iam_role.r', 'aws_iam_role.team["x"]']


@pytest.mark.parametrize("command", ["scan", "hook"])
def test_a_missing_var_file_or_a_bad_var_is_a_usage_error(cli: Any, command: str) -> None:
    write({"infra/main.tf": 'resource "aws_iam_role" "r" {\n  name = "r"\n}\n'})
    target = "infra" if command == "scan" else "infra/main.tf"
    run = cli(command, target, "--var-file", "missing.tfvars", "--format", "json")
    assert run.code == 2
    assert run.out == ""
    assert run.err.strip().splitlines() == [
        "iam-lastused: error: missing.tfvars: cannot read var file: no such file or directory"
    ]
    run = cli(command, target, "--var", "no-equals", "--format", "json")
    assert (run.code, run.out) == (2, "")
    assert "--var no-equals: expected NAME=VALUE" in run.err


# ---------------------------------------------------------------------------
# for expressions
# ---------------------------------------------------------------------------


def test_for_expressions_with_their_loop_variables(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "queues" {
              default = { orders = "sqs", logs = "", events = "sns" }
            }
            locals {
              services = [for name, service in var.queues : service if service != ""]
              roles    = { for index, service in local.services : "${service}-${index}" => upper(service) }
              grouped  = { for name, service in var.queues : (service == "" ? "none" : "some") => name... }
              actions  = [for service in local.services : "${service}:Get*"]
            }
            resource "aws_iam_role" "by_service" {
              for_each = local.roles
              name     = "${each.key}-${each.value}"
            }
            resource "aws_iam_role" "some" {
              name = join("-", local.grouped.some)
            }
            resource "aws_iam_role_policy" "some" {
              role   = aws_iam_role.some.id
              policy = jsonencode({ Statement = [{ Action = local.actions, Resource = "*" }] })
            }
        """,
    }, reports={"events-orders": {}})
    found = principals(run)
    assert sorted(found) == [
        'aws_iam_role.by_service["sns-0"]', 'aws_iam_role.by_service["sqs-1"]', "aws_iam_role.some",
    ]
    assert found['aws_iam_role.by_service["sqs-1"]']["arn"] == f"arn:aws:iam::{ACCOUNT}:role/sqs-1-SQS"
    some = found["aws_iam_role.some"]
    assert some["arn"] == f"arn:aws:iam::{ACCOUNT}:role/events-orders"
    assert some["granted_services"] == ["sns", "sqs"]
    assert some["grants_complete"] is True


def test_null_statement_arguments_are_not_set(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "statements" {
              default = { s3 = { actions = ["s3:GetObject"], resources = ["*"] } }
            }
            resource "aws_iam_role" "app" {
              name = "app"
            }
            data "aws_iam_policy_document" "app" {
              dynamic "statement" {
                for_each = var.statements
                content {
                  effect      = try(statement.value.effect, null)
                  actions     = try(statement.value.actions, null)
                  not_actions = try(statement.value.not_actions, null)
                  resources   = try(statement.value.resources, null)
                }
              }
            }
            resource "aws_iam_role_policy" "app" {
              role   = aws_iam_role.app.id
              policy = data.aws_iam_policy_document.app.json
            }
        """,
    }, reports={"app": {}})
    app = principals(run)["aws_iam_role.app"]
    assert (app["granted_services"], app["grants_complete"]) == (["s3"], True)


def test_a_for_over_a_set_binds_each_element_as_key_and_value(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            locals {
              services = toset(["sqs", "sns"])
              actions  = [for index, service in local.services : "${index}:Get*"]
            }
            resource "aws_iam_role" "app" {
              name = "app"
            }
            data "aws_iam_policy_document" "app" {
              dynamic "statement" {
                for_each = toset(["s3", "kms"])
                content {
                  actions   = ["${statement.key}:Get*"]
                  resources = ["*"]
                }
              }
            }
            resource "aws_iam_role_policy" "doc" {
              role   = aws_iam_role.app.id
              policy = data.aws_iam_policy_document.app.json
            }
            resource "aws_iam_role_policy" "for" {
              role   = aws_iam_role.app.id
              policy = jsonencode({ Statement = [{ Action = local.actions, Resource = "*" }] })
            }
        """,
    }, reports={"app": {}})
    app = principals(run)["aws_iam_role.app"]
    assert (app["granted_services"], app["grants_complete"]) == (["kms", "s3", "sns", "sqs"], True)


def test_dynamic_inline_policy_blocks_are_expanded(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "inline" {
              default = {
                queue = ["sqs:SendMessage"]
                topic = ["sns:Publish"]
              }
            }
            variable "more" {}
            resource "aws_iam_role" "app" {
              name = "app"
              dynamic "inline_policy" {
                for_each = var.inline
                content {
                  name   = inline_policy.key
                  policy = jsonencode({ Statement = [{ Action = inline_policy.value, Resource = "*" }] })
                }
              }
            }
            resource "aws_iam_role" "partly" {
              name = "partly"
              inline_policy {
                name   = "logs"
                policy = jsonencode({ Statement = [{ Action = "logs:PutLogEvents", Resource = "*" }] })
              }
              dynamic "inline_policy" {
                for_each = var.more
                content {
                  name   = inline_policy.key
                  policy = inline_policy.value
                }
              }
            }
        """,
    }, reports={"app": {"sqs": None, "sns": None}, "partly": {"logs": None}})
    found = principals(run)
    app, partly = found["aws_iam_role.app"], found["aws_iam_role.partly"]
    assert (app["granted_services"], app["grants_complete"]) == (["sns", "sqs"], True)
    assert [where["line"] for service in app["services"] for where in service["granted_by"]] == [14, 14]
    assert (partly["granted_services"], partly["grants_complete"]) == (["logs"], False)
    assert [(u["line"], u["reason"]) for u in partly["unknown_grants"]] == [
        (24, "a dynamic inline_policy's for_each: var.more has no default"),
    ]


def test_a_variable_declared_as_a_set_is_one(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "services" {
              type    = set(string)
              default = ["sqs", "sns", "sqs"]
            }
            resource "aws_iam_role" "app" {
              name = "app"
            }
            resource "aws_iam_role_policy" "app" {
              role   = aws_iam_role.app.id
              policy = jsonencode({ Statement = [{
                Action   = [for key, service in var.services : "${key}:Get*"]
                Resource = "*"
              }] })
            }
        """,
    }, reports={"app": {}})
    app = principals(run)["aws_iam_role.app"]
    assert (app["granted_services"], app["grants_complete"]) == (["sns", "sqs"], True)


def test_path_cwd_is_the_root_modules_directory_and_path_root_is_dot(cli: Any) -> None:
    """As terraform gives them, run in the root module: path.root is `.`, path.module the
    module's directory from there, path.cwd the absolute directory."""
    run = scan(cli, {
        "infra/main.tf": """\
            module "app" {
              source = "./modules/app"
            }
        """,
        "infra/modules/app/main.tf": """\
            resource "aws_iam_role" "cwd" {
              name = "ex-${basename(path.cwd)}"
            }
            resource "aws_iam_role" "root" {
              name = "${basename(path.root)}-${basename(path.module)}"
            }
        """,
    }, reports={"ex-infra": {}, ".-app": {}})
    found = principals(run)
    assert found["module.app.aws_iam_role.cwd"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/ex-infra"
    assert found["module.app.aws_iam_role.root"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/.-app"


def test_optional_object_attributes_take_their_defaults(cli: Any) -> None:
    run = scan(cli, {
        "infra/main.tf": """\
            variable "statements" {
              type = map(object({
                effect      = optional(string, "Allow")
                actions     = optional(list(string))
                not_actions = optional(list(string))
                resources   = optional(list(string), ["*"])
              }))
              default = {
                read = { actions = ["s3:GetObject"] }
                deny = { effect = "Deny", not_actions = ["sqs:*"] }
              }
            }
            resource "aws_iam_role" "app" {
              name = "app"
            }
            data "aws_iam_policy_document" "app" {
              dynamic "statement" {
                for_each = var.statements
                content {
                  effect      = statement.value.effect
                  actions     = statement.value.actions
                  not_actions = statement.value.not_actions
                  resources   = statement.value.resources
                }
              }
            }
            resource "aws_iam_role_policy" "app" {
              role   = aws_iam_role.app.id
              policy = data.aws_iam_policy_document.app.json
            }
        """,
    }, reports={"app": {}})
    app = principals(run)["aws_iam_role.app"]
    assert (app["granted_services"], app["grants_complete"]) == (["s3"], True)
