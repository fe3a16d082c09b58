from __future__ import annotations

import json
import os
import textwrap
from functools import partial
from pathlib import Path
from unittest.mock import ANY

import pytest
from iam_lastused.model import Grant, InputError, Location, Principal, SourceResult, Statement
from iam_lastused.sources.terraform import reader
from iam_lastused.sources.terraform.scan import scan_terraform

# Most tests are about actions and lines; resources are checked in a test of their own.
statement = partial(Statement, resources=ANY)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_LASTUSED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def write(files: dict[str, str]) -> None:
    for name, content in files.items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))


def scan(files: dict[str, str], *paths: str, var_files: tuple[str, ...] = ()) -> SourceResult:
    write(files)
    return scan_terraform([Path(path) for path in paths or ("infra",)], [Path(file) for file in var_files])


def principals(result: SourceResult) -> dict[str, Principal]:
    return {principal.address: principal for principal in result.principals}


def actions(grant: Grant) -> list[tuple[str, tuple[str, ...]]]:
    return [(statement.effect, statement.actions or statement.not_actions) for statement in grant.statements]


def test_role_with_inline_policy_block_in_jsonencode() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                resource "aws_iam_role" "worker" {
                  name = "worker"
                  path = "/service/"
                  assume_role_policy = "{}"

                  inline_policy {
                    name = "s3"
                    policy = jsonencode({
                      Version = "2012-10-17"
                      Statement = [
                        { Effect = "Allow", Action = ["s3:Get*", "s3:List*"], Resource = "*" },
                        {
                          Effect    = "Deny"
                          NotAction = "iam:*"
                        },
                      ]
                    })
                  }
                }
            """
        }
    )
    assert result.errors == ()
    role = principals(result)["aws_iam_role.worker"]
    assert (role.kind, role.source, role.name, role.path) == ("role", "terraform", "worker", "/service/")
    assert role.location == Location("infra/main.tf", 1)
    assert role.arn is None and role.unresolved is None
    assert role.grants == (
        Grant(
            Location("infra/main.tf", 6),
            (
                statement(Location("infra/main.tf", 11), "Allow", ("s3:Get*", "s3:List*")),
                statement(Location("infra/main.tf", 12), "Deny", not_actions=("iam:*",)),
            ),
        ),
    )


def test_inline_policy_resources_with_heredoc_json() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                resource "aws_iam_user" "alice" {
                  name = "alice"
                }

                resource "aws_iam_user_policy" "alice" {
                  user   = aws_iam_user.alice.name
                  policy = <<-EOF
                    {
                      "Version": "2012-10-17",
                      "Statement": [
                        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
                        {
                          "Effect": "Allow",
                          "Action": ["sns:Publish"]
                        }
                      ]
                    }
                  EOF
                }

                resource "aws_iam_group" "ops" {
                  name = "ops"
                }

                resource "aws_iam_group_policy" "ops" {
                  group  = aws_iam_group.ops.id
                  policy = <<EOF
                {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
                EOF
                }
            """
        }
    )
    assert result.errors == ()
    found = principals(result)
    (user_grant,) = found["aws_iam_user.alice"].grants or ()
    assert user_grant.location == Location("infra/main.tf", 5)
    assert [statement.location.line for statement in user_grant.statements] == [11, 12]
    assert actions(user_grant) == [("Allow", ("sqs:SendMessage",)), ("Allow", ("sns:Publish",))]
    (group_grant,) = found["aws_iam_group.ops"].grants or ()
    assert group_grant.statements == (statement(Location("infra/main.tf", 28), "Allow", ("*",)),)


def test_policy_document_data_source_with_source_and_override_documents() -> None:
    result = scan(
        {
            "infra/policy.tf": """\
                data "aws_iam_policy_document" "base" {
                  statement {
                    sid     = "Read"
                    actions = ["s3:GetObject"]
                  }
                  statement {
                    sid     = "Logs"
                    actions = ["logs:PutLogEvents"]
                  }
                }

                data "aws_iam_policy_document" "override" {
                  statement {
                    sid     = "Logs"
                    effect  = "Deny"
                    actions = ["logs:*"]
                  }
                }

                data "aws_iam_policy_document" "main" {
                  source_policy_documents   = [data.aws_iam_policy_document.base.json]
                  override_policy_documents = [data.aws_iam_policy_document.override.json]
                  statement {
                    sid         = "Read"
                    not_actions = ["iam:*"]
                    resources   = ["*"]
                  }
                  statement {
                    actions = ["ec2:Describe*"]
                  }
                }
            """,
            "infra/main.tf": """\
                resource "aws_iam_policy" "main" {
                  name   = "main"
                  policy = data.aws_iam_policy_document.main.json
                }
            """,
        }
    )
    policy = principals(result)["aws_iam_policy.main"]
    assert policy.kind == "policy"
    (grant,) = policy.grants or ()
    assert grant.location == Location("infra/main.tf", 3)
    assert grant.known
    assert grant.statements == (
        statement(Location("infra/policy.tf", 23), "Allow", not_actions=("iam:*",)),
        statement(Location("infra/policy.tf", 13), "Deny", ("logs:*",)),
        statement(Location("infra/policy.tf", 28), "Allow", ("ec2:Describe*",)),
    )


def test_managed_policies_and_every_kind_of_attachment() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                resource "aws_iam_role" "app" {
                  name                = "app"
                  managed_policy_arns = [aws_iam_policy.read.arn, "arn:aws:iam::aws:policy/AWSLambdaExecute"]
                }
                resource "aws_iam_user" "bob" {
                  name = "bob"
                }
                resource "aws_iam_group" "devs" {
                  name = "devs"
                }
                resource "aws_iam_policy" "read" {
                  name   = "read"
                  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:GetObject" }] })
                }
                resource "aws_iam_role_policy_attachment" "app_ro" {
                  role       = aws_iam_role.app.name
                  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
                }
                resource "aws_iam_user_policy_attachment" "bob_read" {
                  user       = aws_iam_user.bob.name
                  policy_arn = aws_iam_policy.read.arn
                }
                resource "aws_iam_group_policy_attachment" "devs_read" {
                  group      = aws_iam_group.devs.name
                  policy_arn = aws_iam_policy.read.id
                }
                resource "aws_iam_policy_attachment" "shared" {
                  name       = "shared"
                  roles      = [aws_iam_role.app.name]
                  users      = ["bob"]
                  groups     = [aws_iam_group.devs.name]
                  policy_arn = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
                }
                resource "aws_iam_role_policy_attachments_exclusive" "app" {
                  role_name   = aws_iam_role.app.name
                  policy_arns = [aws_iam_policy.read.arn]
                }
            """
        }
    )
    assert result.errors == () and result.notes == ()
    found = principals(result)
    read = statement(Location("infra/main.tf", 13), "Allow", ("s3:GetObject",))
    assert found["aws_iam_role.app"].grants == (
        Grant(Location("infra/main.tf", 3), (read,)),
        Grant(
            Location("infra/main.tf", 3), policy_arn="arn:aws:iam::aws:policy/AWSLambdaExecute", known=False
        ),
        Grant(
            Location("infra/main.tf", 15), policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess", known=False
        ),
        Grant(
            Location("infra/main.tf", 27),
            policy_arn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
            known=False,
        ),
        Grant(Location("infra/main.tf", 34), (read,)),
    )
    view_only = Grant(
        Location("infra/main.tf", 27),
        policy_arn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        known=False,
    )
    assert found["aws_iam_user.bob"].grants == (Grant(Location("infra/main.tf", 19), (read,)), view_only)
    assert found["aws_iam_group.devs"].grants == (Grant(Location("infra/main.tf", 23), (read,)), view_only)
    assert found["aws_iam_policy.read"].grants == (Grant(Location("infra/main.tf", 13), (read,)),)


def test_attachment_by_literal_name_and_unmatched_targets() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                variable "env" {
                  default = "prod"
                }
                variable "other" {}
                resource "aws_iam_role" "app" {
                  name = "app-${var.env}"
                }
                resource "aws_iam_role_policy_attachment" "by_name" {
                  role       = "app-prod"
                  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
                }
                resource "aws_iam_role_policy_attachment" "elsewhere" {
                  role       = "not-here"
                  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
                }
                resource "aws_iam_role_policy_attachment" "computed" {
                  role       = var.other
                  policy_arn = data.aws_iam_policy.managed.arn
                }
            """
        }
    )
    (grant,) = principals(result)["aws_iam_role.app"].grants or ()
    assert grant.location == Location("infra/main.tf", 8)
    assert grant.policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert result.notes == (
        "aws_iam_role_policy_attachment.elsewhere: role not-here is not defined in the tree",
        "aws_iam_role_policy_attachment.computed: the role is not known: var.other has no default",
        "aws_iam_role_policy_attachment.computed: the policy ARN is not known: "
        "data.aws_iam_policy.managed is not defined",
    )


def test_group_memberships_give_users_their_groups_grants() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                resource "aws_iam_user" "a" {
                  name = "a"
                }
                resource "aws_iam_user" "b" {
                  name = "b"
                }
                resource "aws_iam_group" "g" {
                  name = "g"
                }
                resource "aws_iam_group_policy" "g" {
                  group  = aws_iam_group.g.name
                  policy = jsonencode({ Statement = { Effect = "Allow", Action = "ec2:*" } })
                }
                resource "aws_iam_user_group_membership" "a" {
                  user   = aws_iam_user.a.name
                  groups = [aws_iam_group.g.name]
                }
                resource "aws_iam_group_membership" "team" {
                  name  = "team"
                  group = aws_iam_group.g.name
                  users = [aws_iam_user.b.name]
                }
            """
        }
    )
    found = principals(result)
    group_grants = found["aws_iam_group.g"].grants
    assert group_grants == (
        Grant(
            Location("infra/main.tf", 10), (statement(Location("infra/main.tf", 12), "Allow", ("ec2:*",)),)
        ),
    )
    assert found["aws_iam_user.a"].grants == group_grants
    assert found["aws_iam_user.b"].grants == group_grants


def test_file_and_templatefile_documents_keep_their_own_lines() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                resource "aws_iam_role" "app" {
                  name = "app"
                }
                resource "aws_iam_role_policy" "from_file" {
                  role   = aws_iam_role.app.name
                  policy = file("${path.module}/policies/read.json")
                }
                resource "aws_iam_role_policy" "from_template" {
                  role   = aws_iam_role.app.name
                  policy = templatefile("policies/write.json.tpl", {
                    action = "s3:PutObject", bucket = var.b
                  })
                }
            """,
            "infra/policies/read.json": """\
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}
                  ]
                }
            """,
            "infra/policies/write.json.tpl": """\
                {"Statement": [
                  {"Effect": "Allow", "Action": "${action}", "Resource": "arn:aws:s3:::${bucket}/*"}
                ]}
            """,
        }
    )
    assert result.errors == ()
    from_file, from_template = principals(result)["aws_iam_role.app"].grants or ()
    assert from_file.location == Location("infra/main.tf", 4)
    assert from_file.statements == (
        statement(Location("infra/policies/read.json", 4), "Allow", ("s3:GetObject",)),
    )
    assert from_template.known
    assert from_template.statements == (
        statement(Location("infra/policies/write.json.tpl", 2), "Allow", ("s3:PutObject",)),
    )


def test_unknown_parts_of_a_document_mark_the_grant_unknown_only_when_they_matter() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                variable "b" {}
                variable "actions" {}
                resource "aws_iam_role" "app" {
                  name = "app"
                }
                resource "aws_iam_role_policy" "resource_unknown" {
                  role   = aws_iam_role.app.name
                  policy = jsonencode({Statement = [{Effect = "Allow", Action = "s3:*", Resource = var.b}]})
                }
                resource "aws_iam_role_policy" "actions_unknown" {
                  role   = aws_iam_role.app.name
                  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = var.actions }] })
                }
                resource "aws_iam_role_policy" "document_unknown" {
                  role   = aws_iam_role.app.name
                  policy = data.aws_iam_policy.external.policy
                }
            """
        }
    )
    assert result.errors == ()
    resource_unknown, actions_unknown, document_unknown = principals(result)["aws_iam_role.app"].grants or ()
    assert resource_unknown.known and actions(resource_unknown) == [("Allow", ("s3:*",))]
    assert not actions_unknown.known
    assert not document_unknown.known and document_unknown.statements == ()


def test_invalid_heredoc_json_is_an_error_with_its_line() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                resource "aws_iam_role" "app" {
                  name = "app"
                }

                resource "aws_iam_role_policy" "bad" {
                  role   = aws_iam_role.app.name
                  policy = <<EOF
                {
                  "Statement": [
                    {"Effect": "Allow", "Action": "s3:*",}
                  ]
                }
                EOF
                }
            """
        }
    )
    assert result.errors == (
        InputError(
            "invalid policy JSON: Expecting property name enclosed in double quotes", "infra/main.tf", 10
        ),
    )
    (grant,) = principals(result)["aws_iam_role.app"].grants or ()
    assert not grant.known and grant.statements == ()


def test_invalid_json_in_a_policy_file_points_at_that_file() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                resource "aws_iam_policy" "p" {
                  name   = "p"
                  policy = file("p.json")
                }
                resource "aws_iam_policy" "missing" {
                  name   = "missing"
                  policy = file("missing.json")
                }
            """,
            "infra/p.json": '{\n  "Statement": [\n    oops\n  ]\n}\n',
        }
    )
    assert result.errors[0] == InputError("invalid policy JSON: Expecting value", "infra/p.json", 3)
    assert result.errors[1].file == "infra/main.tf" and result.errors[1].line == 7
    assert result.errors[1].message.startswith("cannot read infra/missing.json")


def test_a_broken_file_is_an_error_and_the_rest_is_still_read() -> None:
    result = scan(
        {
            "infra/bad.tf": """\
                resource "aws_iam_role" "broken" {
                  name = "broken"
                  policy =
                }
            """,
            "infra/good.tf": """\
                resource "aws_iam_role" "good" {
                  name = "good"
                }
            """,
            "infra/bad.tf.json": '{"resource": {',
            "other/main.tf": 'resource "aws_iam_user" "u" {\n  name = "u"\n}\n',
        },
        "infra",
        "other",
    )
    assert sorted(principals(result)) == ["aws_iam_role.good", "aws_iam_user.u"]
    errors = {error.file: error for error in result.errors}
    assert set(errors) == {"infra/bad.tf", "infra/bad.tf.json"}
    assert errors["infra/bad.tf"].line == 3
    assert errors["infra/bad.tf"].message.startswith("cannot parse: ")
    assert errors["infra/bad.tf.json"].line == 1


def test_variables_from_defaults_and_var_files() -> None:
    result = scan(
        {
            "infra/variables.tf": """\
                variable "env" {
                  default = "dev"
                }
                variable "team" {}
                variable "region" {
                  default = "eu-west-1"
                }
            """,
            "infra/main.tf": """\
                resource "aws_iam_role" "app" {
                  name = "${var.team}-app-${var.env}"
                  path = "/${var.region}/"
                }
            """,
            "prod.tfvars": 'env = "prod"\nteam = "core"\n',
            "region.tfvars.json": json.dumps({"region": "us-east-1"}),
        },
        var_files=("prod.tfvars", "region.tfvars.json"),
    )
    role = principals(result)["aws_iam_role.app"]
    assert (role.name, role.path, role.unresolved) == ("core-app-prod", "/us-east-1/", None)


def test_locals_functions_and_conditionals() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                variable "env" {
                  default = "prod"
                }
                locals {
                  is_prod = var.env == "prod"
                  base    = format("%s-%s", "svc", upper(var.env))
                  name    = local.is_prod ? "${local.base}-live" : local.base
                  actions = concat(["s3:GetObject"], ["s3:PutObject"])
                  policy  = jsonencode({ Statement = [{ Effect = "Allow", Action = local.actions }] })
                }
                resource "aws_iam_role" "app" {
                  name = join("-", [local.name, "role"])
                }
                resource "aws_iam_role_policy" "app" {
                  role   = aws_iam_role.app.name
                  policy = local.policy
                }
            """
        }
    )
    role = principals(result)["aws_iam_role.app"]
    assert role.name == "svc-PROD-live-role"
    (grant,) = role.grants or ()
    assert grant.statements == (
        statement(Location("infra/main.tf", 9), "Allow", ("s3:GetObject", "s3:PutObject")),
    )


def test_names_that_cannot_be_known_say_why() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                variable "suffix" {}
                resource "aws_iam_role" "computed" {
                  name = "app-${var.suffix}"
                }
                resource "aws_iam_role" "prefixed" {
                  name_prefix = "app-"
                }
                resource "aws_iam_user" "unnamed" {
                }
                variable "users" {}
                resource "aws_iam_user" "numbered" {
                  count = var.users
                  name  = "user-${count.index}"
                }
                resource "aws_iam_group" "looped" {
                  for_each = toset(var.users)
                  name     = each.key
                }
                resource "aws_iam_policy" "fn" {
                  name   = sha256("x")
                  policy = "{}"
                }
            """
        }
    )
    found = principals(result)
    unresolved = {address: (principal.name, principal.unresolved) for address, principal in found.items()}
    assert unresolved == {
        "aws_iam_role.computed": (None, "name is computed: var.suffix has no default"),
        "aws_iam_role.prefixed": (None, "name_prefix: the final name is chosen at apply"),
        "aws_iam_user.unnamed": (None, "no name: the name is chosen at apply"),
        "aws_iam_user.numbered[*]": (None, "name is computed: count.index differs per instance"),
        "aws_iam_group.looped[*]": (None, "name is computed: each.key differs per instance"),
        "aws_iam_policy.fn": (None, "name is computed: sha256() is not evaluated"),
    }


def test_count_instances_are_principals_and_attachment_targets() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                resource "aws_iam_role" "r" {
                  count = 2
                  name  = "r-${count.index}"
                }
                resource "aws_iam_role_policy_attachment" "r" {
                  count      = 2
                  role       = aws_iam_role.r[count.index].name
                  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
                }
                resource "aws_iam_policy_attachment" "all" {
                  name       = "all"
                  roles      = aws_iam_role.r[*].name
                  policy_arn = "arn:aws:iam::aws:policy/SecurityAudit"
                }
            """
        }
    )
    found = principals(result)
    assert sorted(found) == ["aws_iam_role.r[0]", "aws_iam_role.r[1]"]
    for index in (0, 1):
        role = found[f"aws_iam_role.r[{index}]"]
        assert role.name == f"r-{index}"
        assert [grant.policy_arn for grant in role.grants or ()] == [
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws:iam::aws:policy/SecurityAudit",
        ]


def test_unsettled_count_is_one_instance_whose_grants_are_not_known() -> None:
    result = scan(
        {
            "infra/main.tf": """                variable "n" {}
                resource "aws_iam_role" "r" {
                  count = var.n
                  name  = "r-${count.index}"
                }
                resource "aws_iam_role" "named" {
                  name = "named"
                }
                resource "aws_iam_role_policy_attachment" "r" {
                  count      = var.n
                  role       = aws_iam_role.named.name
                  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
                }
            """
        }
    )
    found = principals(result)
    assert sorted(found) == ["aws_iam_role.named", "aws_iam_role.r[*]"]
    [grant] = found["aws_iam_role.named"].grants or ()
    assert (grant.known, grant.policy_arn) == (False, "arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert grant.unknown == (
        "aws_iam_role_policy_attachment.r: count cannot be settled: var.n has no default: "
        "whether it exists is not known"
    )
    assert "aws_iam_role.r: count cannot be settled: var.n has no default; its instances are read as one" in (
        result.notes
    )


def test_local_modules_are_followed_with_their_address_and_own_files() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                variable "env" {
                  default = "prod"
                }
                module "app" {
                  source = "./modules/app"
                  env    = var.env
                }
                module "per_team" {
                  source   = "./modules/app"
                  for_each = toset(["a", "b"])
                  env      = each.key
                }
                resource "aws_iam_role_policy_attachment" "from_root" {
                  role       = module.app.role_name
                  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
                }
            """,
            "infra/modules/app/main.tf": """\
                variable "env" {}

                resource "aws_iam_role" "worker" {
                  name = "worker-${var.env}"
                }

                module "inner" {
                  source = "../inner"
                  role   = aws_iam_role.worker.name
                }

                output "role_name" {
                  value = aws_iam_role.worker.name
                }
            """,
            "infra/modules/inner/main.tf": """\
                variable "role" {}
                resource "aws_iam_role_policy" "inner" {
                  role   = var.role
                  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "kms:Decrypt" }] })
                }
            """,
        }
    )
    assert result.errors == () and result.notes == ()
    found = principals(result)
    assert sorted(found) == [
        "module.app.aws_iam_role.worker",
        'module.per_team["a"].aws_iam_role.worker',
        'module.per_team["b"].aws_iam_role.worker',
    ]
    worker = found["module.app.aws_iam_role.worker"]
    assert worker.location == Location("infra/modules/app/main.tf", 3)
    assert worker.name == "worker-prod"
    inner = Grant(
        Location("infra/modules/inner/main.tf", 2),
        (statement(Location("infra/modules/inner/main.tf", 4), "Allow", ("kms:Decrypt",)),),
    )
    assert worker.grants == (
        Grant(
            Location("infra/main.tf", 13), policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess", known=False
        ),
        inner,
    )
    per_team = found['module.per_team["b"].aws_iam_role.worker']
    assert (per_team.name, per_team.unresolved) == ("worker-b", None)
    assert per_team.grants == (inner,)


def test_a_module_directory_given_directly_is_not_also_a_root() -> None:
    result = scan(
        {
            "infra/main.tf": 'module "app" {\n  source = "./app"\n  name = "x"\n}\n',
            "infra/app/main.tf": 'variable "name" {}\nresource "aws_iam_role" "r" {\n  name = var.name\n}\n',
        },
        "infra",
        "infra/app",
    )
    assert [(p.address, p.name) for p in result.principals] == [("module.app.aws_iam_role.r", "x")]


def test_remote_modules_are_notes_and_terraform_dirs_are_skipped() -> None:
    result = scan(
        {
            "infra/main.tf": """\
                module "vpc" {
                  source  = "hashicorp/foo/aws"
                  version = "1.0.0"
                }
                module "git" {
                  source = "git::https://example.com/mod.git?ref=v1"
                }
            """,
            "infra/.terraform/modules/vpc/main.tf": 'resource "aws_iam_role" "hidden" {\n  name = "h"\n}\n',
        }
    )
    assert result.principals == () and result.errors == ()
    assert result.notes == (  # no manifest: terraform init has not installed them
        "module.vpc: registry module hashicorp/foo/aws is not installed: its principals are not shown; "
        "`terraform init` (or `terraform get`) makes them visible",
        "module.git: git module git::https://example.com/mod.git?ref=v1 is not installed: its principals "
        "are not shown; `terraform init` (or `terraform get`) makes them visible",
    )


def test_module_cycles_and_symlink_loops_end() -> None:
    write(
        {
            "infra/a/main.tf": 'module "b" {\n  source = "../b"\n}\nresource "aws_iam_role" "a" {}\n',
            "infra/b/main.tf": 'module "a" {\n  source = "../a"\n}\n',
        }
    )
    os.symlink("..", "infra/a/loop")
    result = scan_terraform([Path("infra")])
    assert [p.address for p in result.principals] == ["aws_iam_role.a"]
    assert result.notes == (
        "infra/a/loop: a link to a directory; not followed",
        "module.b.module.a: module source ../a is a module cycle; not followed",
    )


def test_terraform_json_files() -> None:
    result = scan(
        {
            "infra/main.tf.json": json.dumps(
                {
                    "variable": {"env": {"default": "prod"}},
                    "resource": {
                        "aws_iam_role": {"app": {"name": "app-${var.env}"}},
                        "aws_iam_role_policy": {
                            "app": {
                                "role": "${aws_iam_role.app.name}",
                                "policy": "${data.aws_iam_policy_document.doc.json}",
                            }
                        },
                    },
                    "data": {
                        "aws_iam_policy_document": {
                            "doc": {"statement": [{"actions": ["s3:GetObject"], "resources": ["*"]}]}
                        }
                    },
                }
            )
        }
    )
    assert result.errors == ()
    role = principals(result)["aws_iam_role.app"]
    assert (role.name, role.location) == ("app-prod", Location("infra/main.tf.json", None))
    assert role.grants == (
        Grant(
            Location("infra/main.tf.json", None),
            (statement(Location("infra/main.tf.json", None), "Allow", ("s3:GetObject",)),),
        ),
    )


def test_a_single_file_can_be_given() -> None:
    result = scan(
        {"infra/main.tf": 'resource "aws_iam_user" "u" {\n  name = "u"\n}\n'}, "infra/main.tf", "nowhere"
    )
    assert [(p.address, p.location) for p in result.principals] == [
        ("aws_iam_user.u", Location("infra/main.tf", 1))
    ]
    assert result.errors == (InputError("no such file or directory", "nowhere"),)


def test_a_second_scan_of_an_unchanged_tree_uses_the_parse_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "infra/main.tf": """\
            resource "aws_iam_role" "app" {
              name = "app"
              inline_policy {
                policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:*" }] })
              }
            }
        """
    }
    first = scan(files)
    assert list((Path("cache") / reader.CACHE_NAMESPACE).glob("*.json"))

    def no_parsing(name: str, data: bytes) -> dict[str, object]:
        raise AssertionError(f"{name} parsed again")

    monkeypatch.setattr(reader, "parse_file", no_parsing)
    assert scan_terraform([Path("infra")]) == first
    Path("infra/main.tf").write_text(Path("infra/main.tf").read_text().replace('"app"', '"changed"'))
    with pytest.raises(AssertionError, match="parsed again"):
        scan_terraform([Path("infra")])


def test_a_missing_local_module_is_an_error_at_its_call() -> None:
    main = 'resource "aws_iam_user" "u" {}\n\nmodule "gone" {\n  source = "./gone"\n}\n'
    result = scan({"infra/main.tf": main})
    assert result.errors == (InputError("module.gone: module source ./gone not found", "infra/main.tf", 3),)
    assert [p.address for p in result.principals] == ["aws_iam_user.u"]


def test_statement_resources_are_read_where_known(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(textwrap.dedent("""
        variable "bucket" {}
        resource "aws_iam_policy" "p" {
          name = "p"
          policy = jsonencode({ Statement = [
            { Effect = "Allow", Action = "s3:*", Resource = ["arn:aws:s3:::a", "arn:aws:s3:::a/*"] },
            { Effect = "Allow", Action = "s3:GetObject", Resource = var.bucket },
            { Effect = "Allow", Action = "*", Resource = "*" },
          ] })
        }
        data "aws_iam_policy_document" "d" {
          statement {
            actions   = ["sqs:*"]
            resources = ["*"]
          }
        }
        resource "aws_iam_policy" "q" {
          name   = "q"
          policy = data.aws_iam_policy_document.d.json
        }
    """))
    found = {p.address: p for p in scan_terraform([Path("infra")]).principals}
    resources = [s.resources for g in found["aws_iam_policy.p"].grants or () for s in g.statements]
    assert resources == [("arn:aws:s3:::a", "arn:aws:s3:::a/*"), None, ("*",)]
    [document] = found["aws_iam_policy.q"].grants or ()
    assert [s.resources for s in document.statements] == [("*",)]


def test_a_label_holding_a_template_makes_the_file_unreadable_as_in_terraform() -> None:
    result = scan({
        "infra/main.tf": 'resource "aws_iam_role" "r-${var.x}" {\n  name = "r"\n}\n',
        "infra/ok.tf": 'resource "aws_iam_user" "u" {\n  name = "u"\n}\n',
    })
    assert [principal.address for principal in result.principals] == ["aws_iam_user.u"]
    assert [(error.file, error.message) for error in result.errors] == [
        ("infra/main.tf", "cannot parse: invalid HCL"),
    ]


def test_a_template_directive_is_one_unknown_part_with_what_it_holds() -> None:
    result = scan({
        "infra/main.tf": """\
            resource "aws_iam_role" "r" {
              name = "%{ if var.x }a%{ else }b%{ endif }-$${literal}"
            }
        """,
        "infra/unterminated.tf": 'resource "aws_iam_role" "u" {\n  name = "%{ if var.x }a"\n}\n',
    })
    role = principals(result)["aws_iam_role.r"]
    assert (role.name, role.unresolved) == (None, "name is computed: a template directive is not evaluated")
    assert [error.message for error in result.errors] == ["cannot parse: invalid HCL"]
