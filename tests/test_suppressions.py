"""Suppressions: accepted findings are shown as suppressed and stop failing the run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).parent.parent
ACCESS = str(ROOT / "examples" / "access-data.json")
SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
WORKER = "module.orders.aws_iam_role.worker"


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    shutil.copytree(ROOT / "examples" / "terraform", tmp_path / "terraform")
    shutil.copytree(ROOT / "examples" / "cloudformation", tmp_path / "cloudformation")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def principal(run, address: str) -> dict:
    return next(p for p in run.json["principals"] if p["address"] == address)


def test_comment_above_a_statement_suppresses_its_service(cli, tree):
    edit(tree / "terraform" / "modules" / "service-role" / "main.tf",
         '      {\n        Effect   = "Allow"\n        Action   = ["dynamodb:GetItem"',
         '      # iam-lastused:ignore=dynamodb the nightly backfill reads it\n'
         '      {\n        Effect   = "Allow"\n        Action   = ["dynamodb:GetItem"')
    run = cli("scan", "terraform", "--access-data", ACCESS, "--format", "json", "--fail-on", "unused")
    worker = principal(run, WORKER)
    assert worker["unused_services"] == ["sns"]
    assert worker["suppressed_services"] == ["dynamodb"]
    [dynamodb] = [s for s in worker["services"] if s["namespace"] == "dynamodb"]
    assert dynamodb["state"] == "unused"
    assert dynamodb["suppressed"]["reason"] == "the nightly backfill reads it"
    assert dynamodb["suppressed"]["file"].endswith("service-role/main.tf")
    assert principal(run, "module.orders.aws_iam_policy.data_access")["unused_services"] == []
    assert run.code == 1  # sns is still a finding


def test_suppressed_findings_do_not_fail_the_run_but_are_shown(cli, tree):
    edit(tree / "terraform" / "modules" / "service-role" / "main.tf",
         'resource "aws_iam_role" "worker" {',
         '# iam-lastused:ignore=dynamodb,sns owned by the data team\nresource "aws_iam_role" "worker" {')
    edit(tree / "terraform" / "modules" / "service-role" / "main.tf",
         'resource "aws_iam_policy" "data_access" {',
         'resource "aws_iam_policy" "data_access" { # iam-lastused:ignore=* shared, reviewed')
    edit(tree / "terraform" / "main.tf", 'resource "aws_iam_role" "ci_deployer" {',
         '// iam-lastused:ignore=lambda,cloudformation\nresource "aws_iam_role" "ci_deployer" {')
    run = cli("scan", "terraform", "--access-data", ACCESS, "--fail-on", "stale")
    assert run.code == 0
    assert "suppressed unused dynamodb: owned by the data team" in run.out
    assert "suppressed stale cloudformation: no reason given" in run.out
    assert ", 5 suppressed" in run.out


def test_cloudformation_metadata_suppresses(cli, tree):
    edit(tree / "cloudformation" / "template.yaml",
         "  ReportingRole:\n    Type: AWS::IAM::Role\n",
         "  ReportingRole:\n    Type: AWS::IAM::Role\n    Metadata:\n      iam-lastused:\n"
         "        ignore: [sns]\n        reason: finance alerts are rare\n")
    run = cli("scan", "cloudformation", "--access-data", ACCESS, "--format", "json")
    role = principal(run, "ReportingRole")
    assert role["unused_services"] == [] and role["suppressed_services"] == ["sns"]
    [sns] = [s for s in role["services"] if s["namespace"] == "sns"]
    assert sns["suppressed"]["reason"] == "finance alerts are rare"


def test_config_entry_suppresses_by_address_pattern(cli, tree):
    (tree / ".iam-lastused.toml").write_text(
        '[[suppress]]\nprincipal = "module.orders.*"\nservices = ["dynamodb"]\nreason = "migration in Q1"\n'
    )
    run = cli("scan", "terraform", "--access-data", ACCESS, "--format", "json")
    assert principal(run, WORKER)["unused_services"] == ["sns"]
    assert principal(run, "module.orders.aws_iam_policy.data_access")["suppressed_services"] == ["dynamodb"]
    assert principal(run, "aws_iam_role.ci_deployer")["unused_services"] == ["lambda"]


def test_suppressed_findings_in_sarif_github_and_markdown(cli, tree):
    (tree / ".iam-lastused.toml").write_text(
        '[[suppress]]\nprincipal = "aws_iam_role.ci_deployer"\n'
        'services = ["lambda"]\nreason = "release job"\n'
    )
    sarif = json.loads(cli("scan", "terraform", "--access-data", ACCESS, "--format", "sarif").out)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    [lambda_result] = [r for r in sarif["runs"][0]["results"] if r["properties"].get("service") == "lambda"]
    assert lambda_result["suppressions"] == [{"kind": "external", "justification": "release job"}]
    github = cli("scan", "terraform", "--access-data", ACCESS, "--format", "github").out
    assert "title=Suppressed finding::role aws_iam_role.ci_deployer: unused lambda suppressed: release job" \
        in github
    markdown = cli("scan", "terraform", "--access-data", ACCESS, "--format", "markdown").out
    assert "suppressed (unused): <code>lambda</code>: release job" in markdown


def test_a_suppression_that_does_not_parse_is_said_with_its_place(cli, tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "examples" / "terraform", tmp_path / "infra")
    main = tmp_path / "infra" / "main.tf"
    lines = main.read_text().splitlines()
    lines.insert(37, "    # iam-lastused:ignore lambda the release job")
    main.write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    access = str(root / "examples" / "access-data.json")
    run = cli("scan", "infra", "--access-data", access, "--format", "json")
    note = ("infra/main.tf:38: a suppression that does not parse: write "
            "iam-lastused:ignore=SERVICE[,SERVICE...] followed by the reason")
    assert note in run.json["notes"]
    worker = next(p for p in run.json["principals"] if p["address"] == "aws_iam_role.ci_deployer")
    assert "lambda" in worker["unused_services"]
