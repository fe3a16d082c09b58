"""Registry, git and nested module calls, read where `terraform init` installed them
(the manifest .terraform/modules/modules.json), checked against Terraform's own plan
of the same root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from terraform_oracle import moto_endpoint, requires_terraform, terraform_plan

__all__ = ["moto_endpoint"]  # a fixture: pytest finds it by name in this module

ACCESS_DATA = str(Path(__file__).parents[1] / "examples" / "access-data.json")
OFFLINE = ("--format", "json", "--no-cache", "--account-id", "123456789012", "--access-data", ACCESS_DATA)

ASSUME_EC2 = (
    'jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", '
    'Principal = { Service = "ec2.amazonaws.com" } }] })'
)


def allow(action: str) -> str:
    return f'jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "{action}", ' \
        'Resource = "*" }] })'


ROOT = """
module "app" {
  source  = "acme/iam/aws//modules/role"
  version = "~> 1.2"
  name    = "app"
}

module "ci" {
  source = "git::https://example.com/org/ci.git?ref=v1"
  users  = ["deploy", "audit"]
}
"""

INSTALLED = {
    # a registry module's subdirectory (//modules/role), which calls a module beside it ...
    ".terraform/modules/app/modules/role/main.tf": f"""
variable "name" {{
  type = string
}}

resource "aws_iam_role" "this" {{
  name               = var.name
  assume_role_policy = {ASSUME_EC2}
}}

module "policy" {{
  source = "../policy"
  role   = aws_iam_role.this.name
  prefix = var.name
}}

module "boundary" {{
  source = "acme/boundary/aws"
  role   = aws_iam_role.this.name
}}
""",
    ".terraform/modules/app/modules/policy/main.tf": f"""
variable "role" {{
  type = string
}}

variable "prefix" {{
  type = string
}}

resource "aws_iam_policy" "read" {{
  name   = "${{var.prefix}}-read"
  policy = {allow("s3:GetObject")}
}}

resource "aws_iam_role_policy_attachment" "read" {{
  role       = var.role
  policy_arn = aws_iam_policy.read.arn
}}
""",
    # ... and a registry module of its own (Key app.boundary)
    ".terraform/modules/app.boundary/main.tf": f"""
variable "role" {{
  type = string
}}

resource "aws_iam_role_policy" "logs" {{
  name   = "logs"
  role   = var.role
  policy = {allow("logs:PutLogEvents")}
}}
""",
    ".terraform/modules/ci/main.tf": f"""
variable "users" {{
  type = set(string)
}}

resource "aws_iam_user" "ci" {{
  for_each = var.users
  name     = "ci-${{each.key}}"
}}

resource "aws_iam_user_policy" "ci" {{
  for_each = var.users
  name     = "ci"
  user     = aws_iam_user.ci[each.key].name
  policy   = {allow("ecr:GetAuthorizationToken")}
}}
""",
}

MANIFEST = [
    {"Key": "", "Source": "", "Dir": "."},
    {"Key": "app", "Source": "registry.terraform.io/acme/iam/aws//modules/role", "Version": "1.2.3",
     "Dir": ".terraform/modules/app/modules/role"},
    {"Key": "app.policy", "Source": "../policy", "Dir": ".terraform/modules/app/modules/policy"},
    {"Key": "app.boundary", "Source": "registry.terraform.io/acme/boundary/aws", "Version": "0.1.0",
     "Dir": ".terraform/modules/app.boundary"},
    {"Key": "ci", "Source": "git::https://example.com/org/ci.git?ref=v1", "Dir": ".terraform/modules/ci"},
]


def write(root: Path, files: dict[str, str], manifest: list[dict[str, Any]] | None = None,
          data_dir: str = ".terraform") -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if manifest is not None:
        (root / data_dir / "modules").mkdir(parents=True, exist_ok=True)
        (root / data_dir / "modules" / "modules.json").write_text(json.dumps({"Modules": manifest}))
    return root


def granted(report: dict[str, Any]) -> dict[str, tuple[list[str], bool]]:
    """Each principal of a JSON report: the services granted, and whether every grant is known."""
    return {p["address"]: (p["granted_services"], p["grants_complete"]) for p in report["principals"]}


def test_registry_git_and_nested_modules_are_read_where_init_installed_them(tmp_path: Path, cli) -> None:
    root = write(tmp_path / "root", {"main.tf": ROOT, **INSTALLED}, MANIFEST)
    report = cli("scan", str(root), *OFFLINE).json
    assert granted(report) == {
        "module.app.aws_iam_role.this": (["logs", "s3"], True),
        "module.app.module.policy.aws_iam_policy.read": (["s3"], True),
        'module.ci.aws_iam_user.ci["audit"]': (["ecr"], True),
        'module.ci.aws_iam_user.ci["deploy"]': (["ecr"], True),
    }
    assert [p["arn"].rsplit("/", 1)[-1] for p in report["principals"]] == [
        "app", "app-read", "ci-audit", "ci-deploy"
    ]
    role = report["principals"][0]
    assert (role["file"], role["line"]) == (str(root / ".terraform/modules/app/modules/role/main.tf"), 6)
    assert (report["errors"], report["notes"]) == ([], [])


@requires_terraform
def test_the_modules_read_are_the_ones_terraform_plans(tmp_path: Path, moto_endpoint: str, cli) -> None:
    root = write(tmp_path / "root", {"main.tf": ROOT, **INSTALLED}, MANIFEST)
    (tmp_path / "scratch").mkdir()
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(terraform_plan(root, moto_endpoint, tmp_path / "scratch")))
    planned = granted(cli("plan", str(plan), "--chdir", str(root), *OFFLINE).json)
    assert len(planned) == 4
    assert granted(cli("scan", str(root), *OFFLINE).json) == planned


def test_a_call_not_in_the_manifest_says_once_how_to_see_its_principals(tmp_path: Path, cli) -> None:
    main = ROOT + '\nmodule "gone" {\n  count  = 2\n  source = "acme/gone/aws"\n}\n'
    root = write(tmp_path / "root", {"main.tf": main, **INSTALLED}, MANIFEST)
    report = cli("scan", str(root), *OFFLINE).json
    assert "module.app.aws_iam_role.this" in granted(report)
    assert report["notes"] == [
        "module.gone: registry module acme/gone/aws is not installed: its principals are not shown; "
        "`terraform init` (or `terraform get`) makes them visible"
    ]


def test_without_a_manifest_each_installed_call_says_so(tmp_path: Path, cli) -> None:
    root = write(tmp_path / "root", {"main.tf": ROOT})
    report = cli("scan", str(root), *OFFLINE).json
    assert report["principals"] == []
    assert report["notes"] == [
        "module.app: registry module acme/iam/aws//modules/role is not installed: its principals are not "
        "shown; `terraform init` (or `terraform get`) makes them visible",
        "module.ci: git module git::https://example.com/org/ci.git?ref=v1 is not installed: its principals "
        "are not shown; `terraform init` (or `terraform get`) makes them visible",
    ]


def test_a_source_changed_since_init_is_not_read_from_the_old_install(tmp_path: Path, cli) -> None:
    main = ROOT.replace("acme/iam/aws//modules/role", "acme/iam/aws//modules/other")
    root = write(tmp_path / "root", {"main.tf": main, **INSTALLED}, MANIFEST)
    report = cli("scan", str(root), *OFFLINE).json
    assert "module.app.aws_iam_role.this" not in granted(report)
    assert report["notes"] == [
        "module.app: registry module acme/iam/aws//modules/other: the source changed since it was installed "
        "(from registry.terraform.io/acme/iam/aws//modules/role): its principals are not shown; "
        "`terraform init` installs it"
    ]


def test_a_github_shorthand_is_the_source_init_wrote_in_full(tmp_path: Path, cli) -> None:
    main = ROOT.replace("git::https://example.com/org/ci.git?ref=v1", "github.com/org/ci?ref=v1")
    manifest = [dict(entry, Source="git::https://github.com/org/ci.git?ref=v1") if entry["Key"] == "ci"
                else entry for entry in MANIFEST]
    root = write(tmp_path / "root", {"main.tf": main, **INSTALLED}, manifest)
    assert 'module.ci.aws_iam_user.ci["audit"]' in granted(cli("scan", str(root), *OFFLINE).json)


def test_the_manifest_is_read_from_tf_data_dir(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {name.replace(".terraform/", "tfdata/"): text for name, text in INSTALLED.items()}
    manifest = [dict(entry, Dir=entry["Dir"].replace(".terraform/", "tfdata/")) for entry in MANIFEST]
    root = write(tmp_path / "root", {"main.tf": ROOT, **files}, manifest, data_dir="tfdata")
    monkeypatch.setenv("TF_DATA_DIR", "tfdata")
    assert "module.app.aws_iam_role.this" in granted(cli("scan", str(root), *OFFLINE).json)


def test_a_manifest_dir_outside_the_root_is_refused(tmp_path: Path, cli) -> None:
    write(tmp_path / "elsewhere", {"main.tf": INSTALLED[".terraform/modules/ci/main.tf"]})
    manifest = [dict(entry, Dir="../../elsewhere") if entry["Key"] == "ci" else entry for entry in MANIFEST]
    root = write(tmp_path / "repo" / "root", {"main.tf": ROOT, **INSTALLED}, manifest)
    (tmp_path / "repo" / ".git").mkdir()
    report = cli("scan", str(root), *OFFLINE).json
    assert not any(address.startswith("module.ci.") for address in granted(report))
    assert report["errors"] == [{
        "file": str(root / "main.tf"), "line": 8,
        "message": "module.ci: git module git::https://example.com/org/ci.git?ref=v1: its directory in "
                   f"{root}/.terraform/modules/modules.json is outside the repository root; not followed",
    }]


def test_one_manifest_entry_serves_every_instance_of_a_call(tmp_path: Path, cli) -> None:
    """The manifest's Key names the call, not its instances (as terraform-aws-iam's
    examples call iam-assumable-role with for_each)."""
    main = ROOT.replace('  name    = "app"\n', '  for_each = toset(["api", "web"])\n  name     = each.key\n')
    root = write(tmp_path / "root", {"main.tf": main, **INSTALLED}, MANIFEST)
    report = cli("scan", str(root), *OFFLINE).json
    roles = [p["arn"].rsplit("/", 1)[-1] for p in report["principals"] if ".aws_iam_role." in p["address"]]
    assert roles == ["api", "web"]
    assert report["notes"] == []
    assert granted(report)['module.app["web"].aws_iam_role.this'] == (["logs", "s3"], True)


@pytest.mark.parametrize(("constraint", "read"), [
    ("~> 1.2", True), ("~> 1.2.0", True), ("~> 1.3", False), ("~> 1", True), ("1.2.3", True),
    (">= 1.0, < 1.2", False), ("!= 1.2.3", False), ("> 1.2.2, <= 1.2.3", True), ("~> 0.9", False),
])
def test_a_version_the_call_no_longer_accepts_is_not_read(
    tmp_path: Path, cli, constraint: str, read: bool
) -> None:
    """As terraform refuses to plan ("Module version requirements have changed") with
    1.2.3 installed and a call asking for another."""
    root = write(tmp_path / "root", {"main.tf": ROOT.replace("~> 1.2", constraint), **INSTALLED}, MANIFEST)
    report = cli("scan", str(root), *OFFLINE).json
    assert ("module.app.aws_iam_role.this" in granted(report)) is read
    assert report["notes"] == ([] if read else [
        f"module.app: registry module acme/iam/aws//modules/role: version 1.2.3 is installed, not one of "
        f"{constraint}: its principals are not shown; `terraform init` installs it"
    ])
