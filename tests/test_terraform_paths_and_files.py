"""Terraform's semantics the scan follows where a module's files and paths matter (issue 22):
`nullable = false`, `path.*` as terraform gives them, `.tofu` files as OpenTofu loads them;
each checked against Terraform's own plan of the same root where Terraform has the feature."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from terraform_oracle import moto_endpoint, planned_resources, requires_terraform, terraform_plan

__all__ = ["moto_endpoint"]  # a fixture: pytest finds it by name in this module

ACCESS_DATA = str(Path(__file__).parents[1] / "examples" / "access-data.json")
OFFLINE = ("--format", "json", "--no-cache", "--account-id", "123456789012", "--access-data", ACCESS_DATA)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def names(report: dict[str, Any]) -> dict[str, str]:
    """Each principal's name, by address (from its ARN)."""
    return {p["address"]: p["arn"].rsplit("/", 1)[-1] for p in report["principals"]}


def planned_names(tmp_path: Path, root: Path, endpoint: str) -> dict[str, str]:
    (tmp_path / "scratch").mkdir()
    planned = planned_resources(terraform_plan(root, endpoint, tmp_path / "scratch"))
    return {address: values["name"] for address, values in planned.items() if "aws_iam_role." in address}


PATHS = {
    "main.tf": """
resource "aws_iam_role" "root" {
  name               = "${path.root}-${path.module}"
  assume_role_policy = "{}"
}

module "local" {
  source = "./modules/app"
}

module "installed" {
  source  = "acme/app/aws"
  version = "1.0.0"
}
""",
    "modules/app/main.tf": """
resource "aws_iam_role" "this" {
  name               = replace("${path.root}+${path.module}", "/", "_")
  assume_role_policy = file("${path.module}/trust.json")
}
""",
    "modules/app/trust.json": '{"Version": "2012-10-17", "Statement": []}',
    ".terraform/modules/installed/main.tf": """
resource "aws_iam_role" "this" {
  name               = replace(path.module, "/", "_")
  assume_role_policy = file("${path.module}/trust.json")
}
""",
    ".terraform/modules/installed/trust.json": '{"Version": "2012-10-17", "Statement": []}',
    ".terraform/modules/modules.json": json.dumps({"Modules": [
        {"Key": "", "Source": "", "Dir": "."},
        {"Key": "local", "Source": "./modules/app", "Dir": "modules/app"},
        {"Key": "installed", "Source": "registry.terraform.io/acme/app/aws", "Version": "1.0.0",
         "Dir": ".terraform/modules/installed"},
    ]}),
}
PATH_NAMES = {
    "aws_iam_role.root": ".-.",
    "module.local.aws_iam_role.this": ".+modules_app",
    "module.installed.aws_iam_role.this": ".terraform_modules_installed",
}


def test_path_module_and_root_are_relative_to_where_terraform_runs(tmp_path: Path, cli) -> None:
    root = write(tmp_path / "root", PATHS)
    report = cli("scan", str(root), *OFFLINE).json
    assert names(report) == PATH_NAMES
    assert report["errors"] == []  # each module's file() found its own trust.json


@requires_terraform
def test_path_values_are_the_ones_terraform_plans(tmp_path: Path, moto_endpoint: str) -> None:
    root = write(tmp_path / "root", PATHS)
    assert planned_names(tmp_path, root, moto_endpoint) == PATH_NAMES


NULLABLE = {
    "main.tf": """
module "app" {
  source = "./app"
  name   = null
  prefix = null
}
""",
    "app/main.tf": """
variable "name" {
  type     = string
  default  = "fallback"
  nullable = false
}

variable "prefix" {
  type    = string
  default = "unused"
}

resource "aws_iam_role" "this" {
  name               = var.prefix == null ? var.name : "${var.prefix}-${var.name}"
  assume_role_policy = "{}"
}
""",
    # terraform plans only modules its manifest lists, local ones too (init -get=false)
    ".terraform/modules/modules.json": json.dumps({"Modules": [
        {"Key": "", "Source": "", "Dir": "."}, {"Key": "app", "Source": "./app", "Dir": "app"},
    ]}),
}


def test_a_caller_passing_null_to_a_non_nullable_variable_gives_its_default(tmp_path: Path, cli) -> None:
    root = write(tmp_path / "root", NULLABLE)
    assert names(cli("scan", str(root), *OFFLINE).json) == {"module.app.aws_iam_role.this": "fallback"}


@requires_terraform
def test_nullable_as_terraform_plans_it(tmp_path: Path, moto_endpoint: str) -> None:
    root = write(tmp_path / "root", NULLABLE)
    assert planned_names(tmp_path, root, moto_endpoint) == {"module.app.aws_iam_role.this": "fallback"}


def test_a_tofu_file_replaces_the_tf_file_of_the_same_name(tmp_path: Path, cli) -> None:
    """OpenTofu's rule (opentofu.org/docs/language/files, Extension Precedence): with
    main.tf and main.tofu side by side only main.tofu is loaded; JSON likewise."""
    role = 'resource "aws_iam_role" "{name}" {{\n  name = "{name}"\n  assume_role_policy = "{{}}"\n}}\n'
    json_role = json.dumps({"resource": {"aws_iam_role": {"{name}": {"name": "{name}"}}}})
    root = write(tmp_path / "root", {
        "main.tf": role.format(name="from_tf"),
        "main.tofu": role.format(name="from_tofu"),
        "other.tf": role.format(name="other_tf"),
        "roles.tf.json": json_role.replace("{name}", "json_tf"),
        "roles.tofu.json": json_role.replace("{name}", "json_tofu"),
        "only.tofu": role.format(name="only_tofu"),
    })
    assert sorted(names(cli("scan", str(root), *OFFLINE).json).values()) == [
        "from_tofu", "json_tofu", "only_tofu", "other_tf"
    ]
