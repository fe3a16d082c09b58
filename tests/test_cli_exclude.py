"""--exclude and the config's `exclude`: what the walks leave out, and what they never do;
and a path with nothing to read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_role
from iam_lastused import api

ROOT = Path(__file__).parent.parent
ACCESS = str(ROOT / "examples" / "access-data.json")
TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Worker:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
"""


def role(name: str) -> str:
    return f'resource "aws_iam_role" "{name}" {{\n  name = "{name}"\n  assume_role_policy = "{{}}"\n}}\n'


def write(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    return base


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write(tmp_path, {
        "live/main.tf": role("live"),
        "live/extra_test.tf": role("beside_main"),
        "examples/demo/main.tf": role("demo"),
        "examples/stack.yaml": TEMPLATE,
        "legacy/old/main.tf": role("old"),
        "tests/only_test.tf": role("only_test"),
        "cfn/stack.yaml": TEMPLATE,
    })


def found(cli, *argv: str) -> list[tuple[str, str]]:
    run = cli("scan", *argv, "--access-data", ACCESS, "--format", "json")
    assert run.err == "", run.err
    return sorted((p["address"], p["file"]) for p in run.json["principals"])


def test_node_modules_is_left_out_by_default_so_no_principal_is_found_twice(cli, tree):
    write(tree, {"node_modules/pkg/main.tf": role("live"), "node_modules/pkg/stack.yaml": TEMPLATE,
                 ".terraform/modules/x/main.tf": role("cached")})
    files = [file for _, file in found(cli, ".")]
    assert not any(file.startswith(("node_modules", ".terraform")) for file in files), files
    assert files.count("live/main.tf") == 1


def test_a_directory_glob_prunes_its_subtree_in_both_walks(cli, tree):
    assert found(cli, ".", "--exclude", "examples/**", "--exclude", "legacy/") == [
        ("Worker", "cfn/stack.yaml"),
        ("aws_iam_role.beside_main", "live/extra_test.tf"),
        ("aws_iam_role.live", "live/main.tf"),
        ("aws_iam_role.only_test", "tests/only_test.tf"),
    ]


def test_globs_match_the_path_relative_to_each_scanned_directory(cli, tree):
    assert found(cli, "examples", "--exclude", "demo/") == [("Worker", "examples/stack.yaml")]
    assert len(found(cli, "examples", "--exclude", "examples/**")) == 2  # not from the working directory
    assert ("aws_iam_role.old", "legacy/old/main.tf") in found(cli, ".", "--exclude", "/old")  # anchored
    assert ("aws_iam_role.old", "legacy/old/main.tf") not in found(cli, ".", "--exclude", "old")


def test_a_file_glob_skips_templates_and_directories_of_only_such_files(cli, tree):
    """A Terraform module directory is read whole, as terraform reads it."""
    excluding = ("--exclude", "**/*_test.tf", "--exclude", "*.yaml")
    addresses = [address for address, _ in found(cli, ".", *excluding)]
    assert addresses == [f"aws_iam_role.{name}" for name in ("beside_main", "demo", "live", "old")]


def test_what_the_user_names_is_read_whatever_the_globs_say(cli, tree):
    write(tree, {"node_modules/pkg/main.tf": role("vendored")})
    named = ("node_modules/pkg/main.tf", "cfn/stack.yaml")
    assert found(cli, *named, "--exclude", "*.tf", "--exclude", "cfn/") == [
        ("Worker", "cfn/stack.yaml"), ("aws_iam_role.vendored", "node_modules/pkg/main.tf"),
    ]
    assert found(cli, "node_modules/pkg") == [("aws_iam_role.vendored", "node_modules/pkg/main.tf")]


def test_a_module_called_from_the_code_is_read_even_in_an_excluded_directory(cli, tree):
    write(tree, {"live/call.tf": 'module "shared" {\n  source = "../modules/shared"\n}\n',
                 "modules/shared/main.tf": role("shared")})
    addresses = [address for address, _ in found(cli, ".", "--exclude", "modules/")]
    assert "module.shared.aws_iam_role.shared" in addresses and "aws_iam_role.shared" not in addresses
    assert ("aws_iam_role.shared", "modules/shared/main.tf") in found(cli, ".", "--exclude", "live/")
    assert ("aws_iam_role.shared", "modules/shared/main.tf") not in found(
        cli, ".", "--exclude", "live/", "--exclude", "modules/"
    )


def test_the_config_files_globs_add_to_the_command_lines(cli, tree):
    (tree / ".iam-lastused.toml").write_text('exclude = ["legacy/**", "tests/"]\n')
    files = {file.split("/")[0] for _, file in found(cli, ".", "--exclude", "examples/")}
    assert files == {"cfn", "live"}


def test_the_config_files_exclude_is_a_list_of_globs(cli, tree):
    (tree / ".iam-lastused.toml").write_text("exclude = [1]\n")
    run = cli("scan", ".", "--access-data", ACCESS)
    assert run.code == 2 and "exclude must be a string or a list of strings" in run.err


def test_the_hook_leaves_out_excluded_changed_files(cli, tree):
    run = cli("hook", "--offline", "--format", "json", "examples/demo/main.tf", "live/main.tf",
              "--exclude", "examples/**")
    assert [p["address"] for p in run.json["principals"]] == ["aws_iam_role.beside_main", "aws_iam_role.live"]
    assert cli("hook", "examples/demo/main.tf", "--exclude", "examples/**").code == 0


def test_a_live_hook_with_every_changed_file_excluded_makes_no_aws_call(cli, tree, iam, aws_hooks):
    calls: list[str] = []
    aws_hooks.append(lambda request, **_: calls.append(request.url))
    run = cli("hook", "examples/demo/main.tf", "--exclude", "examples/**", "--format", "json")
    assert run.code == 0 and run.json["principals"] == [] and calls == []


def test_a_path_with_nothing_to_read_is_one_error_before_any_report(cli, tree):
    write(tree, {"docs/readme.md": "# infra\n", "docs/values.yaml": "a: 1\n"})
    run = cli("scan", ".", "docs", "--access-data", ACCESS)
    assert run.code == 2 and run.out == ""
    assert run.err == "iam-lastused: error: no Terraform or CloudFormation files under docs\n"
    assembly = cli("scan", str(ROOT / "examples/cdk/cdk.out"), "--access-data", ACCESS, "--format", "json")
    assert assembly.code == 0 and assembly.json["principals"]


def test_a_path_whose_code_is_all_excluded_has_nothing_to_read(cli, tree):
    run = cli("scan", "legacy", "--exclude", "old/", "--access-data", ACCESS)
    assert run.code == 2 and run.out == ""
    assert run.err == "iam-lastused: error: no Terraform or CloudFormation files under legacy\n"


def test_the_library_takes_exclude_and_raises_on_nothing_to_read(tree):
    result = api.scan(["."], exclude=["examples/**", "legacy/", "tests/", "*.yaml"], access_data=ACCESS)
    assert [p.principal.address for p in result.principals] == [
        "aws_iam_role.beside_main", "aws_iam_role.live",
    ]
    with pytest.raises(api.UsageError, match="no Terraform or CloudFormation files under legacy"):
        api.scan(["legacy"], exclude=["**/*.tf"], access_data=ACCESS)


def test_fetch_takes_no_access_data_from_the_config(cli, tree, iam, last_accessed):
    (tree / "access.json").write_text(Path(ACCESS).read_text())
    (tree / ".iam-lastused.toml").write_text('access-data = "access.json"\n')
    out = tree / "saved.json"
    arn = make_role(iam, "worker")
    run = cli("fetch", arn, "--output", str(out))
    assert run.code == 0, run.err
    assert json.loads(out.read_text())[arn]["JobStatus"] == "COMPLETED"
