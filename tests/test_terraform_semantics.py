"""Terraform's expression semantics, read by the scan as Terraform reads them: each
fixture is scanned through the CLI's JSON and planned by Terraform itself (the oracle,
tests/terraform_oracle.py), and both must say the same."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from terraform_oracle import (
    _environment,
    moto_endpoint,
    planned_resources,
    prepare,
    requires_terraform,
    terraform_plan,
)

__all__ = ["moto_endpoint"]  # a fixture: pytest finds it by name in this module

ACCESS_DATA = Path(__file__).parents[1] / "examples" / "access-data.json"
PROVIDERS = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
"""
TRUST = 'assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })'

# Each function's result in a role name (only IAM name characters), one role per function.
FUNCTIONS = PROVIDERS + f"""
locals {{
  object = {{ b = 1, a = "x" }}
  results = {{
    contains        = contains(["a", "b"], "b")
    not-contains    = contains(["a", "b"], "c")
    anytrue         = anytrue([false, true])
    alltrue         = alltrue([true, "true"])
    alltrue-false   = alltrue([true, false])
    zipmap          = zipmap(["k1", "k2"], ["v1", "v2"])["k2"]
    setunion        = join("+", setunion(["b", "a"], ["c", "a"]))
    setintersection = join("+", setintersection(["b", "a", "c"], ["c", "a"]))
    startswith      = startswith("prefix-x", "prefix")
    endswith        = endswith("x-suffix", "fix")
    tobool          = tobool("true")
    tonumber        = tonumber("1.5") * 2
    can-number      = can(tonumber("12"))
    can-not-number  = can(tonumber("twelve"))
    can-missing     = can(local.object.missing)
    jsonencode      = replace(replace(replace(replace(
                        jsonencode(local.object), "{{", ""), "}}", ""), "\\"", ""), ":", "=")
    arn-build       = replace(replace(
                      provider::aws::arn_build("aws", "iam", "", "1", "role/x"), ":", "."), "/", "@")
    arn-parse       = replace(replace(
                      provider::aws::arn_parse("arn:aws:s3:::bucket/key:x").resource, ":", "."), "/", "@")
    trim-role-path  = replace(replace(
                      provider::aws::trim_iam_role_path("arn:aws:iam::1:role/a/b/name"), ":", "."), "/", "@")
    for-newline     = join("+", keys({{ for key, value in local.object : key
                        => value }}))
    paren-newline   = (local.object
                        .a)
    index-newline   = [for value in [["y"]] : value
                        [0]][0]
  }}
}}

resource "aws_iam_role" "fn" {{
  for_each           = local.results
  name               = "${{each.key}}-${{each.value}}"
  {TRUST}
}}
"""

# && and || settled by the side that decides, the other side being one the scan cannot
# evaluate (regex) and Terraform can.
SHORT_CIRCUIT = PROVIDERS + f"""
variable "off" {{
  default = false
}}

variable "on" {{
  default = true
}}

locals {{
  unevaluated = can(regex("^r", "role"))
}}

resource "aws_iam_role" "and_false" {{
  count              = var.off && local.unevaluated ? 1 : 0
  name               = "and-false"
  {TRUST}
}}

resource "aws_iam_role" "false_and" {{
  count              = local.unevaluated && var.off ? 1 : 0
  name               = "false-and"
  {TRUST}
}}

resource "aws_iam_role" "or_true" {{
  count              = local.unevaluated || var.on ? 1 : 0
  name               = "or-true"
  {TRUST}
}}

resource "aws_iam_role" "anytrue" {{
  count              = anytrue([local.unevaluated, var.on]) ? 1 : 0
  name               = "anytrue"
  {TRUST}
}}

resource "aws_iam_role" "alltrue" {{
  count              = alltrue([local.unevaluated, var.off]) ? 1 : 0
  name               = "alltrue"
  {TRUST}
}}
"""


def write_root(tmp_path: Path, content: str, name: str = "main.tf") -> Path:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    (root / name).write_text(textwrap.dedent(content))
    return root


def scanned(cli: Any, root: Path) -> dict[str, Any]:
    report = cli("scan", str(root), "--format", "json", "--no-cache", "--access-data", str(ACCESS_DATA))
    return dict(report.json)


def plan(root: Path, endpoint: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return planned_resources(terraform_plan(root, endpoint, scratch))


@requires_terraform
def test_functions_give_terraforms_values(tmp_path: Path, moto_endpoint: str, cli: Any) -> None:
    root = write_root(tmp_path, FUNCTIONS)
    report = scanned(cli, root)
    names = {principal["address"]: principal["arn"].rsplit("/", 1)[-1] for principal in report["principals"]
             if principal["arn"]}
    planned = {address: values["name"] for address, values in plan(root, moto_endpoint, tmp_path).items()}
    assert names == planned
    assert planned['aws_iam_role.fn["jsonencode"]'] == "jsonencode-a=x,b=1"  # keys sorted, as Terraform
    assert report["errors"] == []


@requires_terraform
def test_and_or_are_settled_by_the_side_that_decides(tmp_path: Path, moto_endpoint: str, cli: Any) -> None:
    root = write_root(tmp_path, SHORT_CIRCUIT)
    report = scanned(cli, root)
    planned = plan(root, moto_endpoint, tmp_path)
    assert sorted(principal["address"] for principal in report["principals"]) == sorted(planned)
    assert sorted(planned) == ["aws_iam_role.anytrue[0]", "aws_iam_role.or_true[0]"]


def test_a_value_not_known_is_never_text(tmp_path: Path, cli: Any) -> None:
    """jsonencode() of an unknown is unknown: the role's name is not known, and no text
    of the scanner's own (a repr) stands for it."""
    root = write_root(tmp_path, f"""
        resource "aws_iam_policy" "p" {{
          name   = "p"
          policy = jsonencode({{ Statement = [] }})
        }}

        resource "aws_iam_role" "r" {{
          name               = "r-${{jsonencode({{ arn = aws_iam_policy.p.arn }})}}"
          {TRUST}
        }}

        resource "aws_iam_role" "s" {{
          name               = jsonencode(aws_iam_policy.p.arn)
          {TRUST}
        }}
    """)
    report = scanned(cli, root)
    roles = {principal["address"]: principal for principal in report["principals"]}
    for address in ("aws_iam_role.r", "aws_iam_role.s"):
        assert roles[address]["arn"] is None
        assert roles[address]["error"] == "name is computed: aws_iam_policy.p.arn is known only after apply"
    assert "Unknown(" not in str(report) and "Encoded(" not in str(report)


def validate(root: Path, endpoint: str, tmp_path: Path) -> str:
    """Terraform's own errors for the root: `terraform validate`'s output."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    work = prepare(root, endpoint, scratch)
    done = subprocess.run(["terraform", "validate", "-no-color"], cwd=work, env=_environment(work),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    return done.stdout + done.stderr


@requires_terraform
def test_a_wrong_argument_is_terraforms_error_at_its_line(
    tmp_path: Path, moto_endpoint: str, cli: Any
) -> None:
    root = write_root(tmp_path, PROVIDERS + f"""
resource "aws_iam_role" "r" {{
  name               = lower(["not", "a", "string"])
  {TRUST}
}}

resource "aws_iam_role" "other" {{
  name               = "other"
  {TRUST}
}}
""")
    report = scanned(cli, root)
    assert report["errors"] == [{
        "file": str(root / "main.tf"),
        "line": 9,
        "message": "Invalid function argument: lower(): string required",
    }]
    roles = {principal["address"]: principal for principal in report["principals"]}
    assert roles["aws_iam_role.other"]["arn"].endswith(":role/other")
    assert roles["aws_iam_role.r"]["arn"] is None
    said = validate(root, moto_endpoint, tmp_path)
    assert "Invalid function argument" in said and "main.tf line 9" in said


@requires_terraform
def test_a_block_without_its_name_is_terraforms_error(tmp_path: Path, cli: Any) -> None:
    root = write_root(tmp_path, 'module {\n  source = "./m"\n}\n', "calls.tf")
    (root / "main.tf").write_text(f'resource "aws_iam_role" "r" {{\n  name = "r"\n  {TRUST}\n}}\n')
    report = scanned(cli, root)
    assert report["errors"] == [{
        "file": str(root / "calls.tf"),
        "line": 1,
        "message": "Missing name for module: all module blocks must have 1 labels (name)",
    }]
    assert [principal["address"] for principal in report["principals"]] == ["aws_iam_role.r"]
    done = subprocess.run(["terraform", "init", "-backend=false", "-no-color"], cwd=root,
                          env=_environment(root), capture_output=True, text=True, timeout=300)
    assert "Missing name for module" in done.stderr and "calls.tf line 1" in done.stderr


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("tonumber(true)", "Invalid function argument: tonumber(): cannot convert bool to number"),
        ("zipmap([\"a\"], [1, 2])",
         "Error in function call: zipmap(): number of keys (1) does not match number of values (2)"),
        ("provider::aws::trim_iam_role_path(\"arn:aws:iam::1:user/u\")",
         "Error in function call: provider::aws::trim_iam_role_path(): resource must begin with \"role/\""),
        ("lower()", "Not enough function arguments: lower(): it takes 1 argument(s)"),
    ],
)
def test_terraforms_function_errors(tmp_path: Path, cli: Any, expression: str, expected: str) -> None:
    """Terraform's words for each (checked with terraform console); inside try() none is."""
    root = write_root(tmp_path, f"""
        locals {{
          refused = {expression}
        }}

        resource "aws_iam_role" "r" {{
          name = try(tostring({expression}), "fallback")
          {TRUST}
        }}

        resource "aws_iam_role" "s" {{
          name = "s-${{local.refused}}"
          {TRUST}
        }}
    """)
    report = scanned(cli, root)
    assert report["errors"] == [{"file": str(root / "main.tf"), "line": 3, "message": expected}]
    roles = {principal["address"]: principal for principal in report["principals"]}
    assert roles["aws_iam_role.r"]["arn"].endswith(":role/fallback")
    assert roles["aws_iam_role.s"]["arn"] is None
