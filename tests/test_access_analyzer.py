"""IAM Access Analyzer as the usage source (`--usage-source access-analyzer`): its
unused-access findings give the same never-used services as last-accessed reports of
the same activity, and a principal it would not have judged is no-data, with why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import ACCOUNT
from fake_access_analyzer import ANALYZER_ARN, AccessAnalyzerFake
from moto.iam.models import iam_backends
from test_store import CODE, deployed, findings  # noqa: F401  (the fixture, and the same code)

RECENT = datetime.now(timezone.utc) - timedelta(days=1)
AA = ("--usage-source", "access-analyzer", "--analyzer-arn", ANALYZER_ARN)


@pytest.fixture
def analyzer(aws_hooks, last_accessed) -> AccessAnalyzerFake:
    fake = AccessAnalyzerFake(last_accessed)
    aws_hooks.append(fake)
    return fake


def age(name: str, days: int) -> None:
    """Make moto's role `name` created `days` ago."""
    role = next(r for r in iam_backends[ACCOUNT]["global"].roles.values() if r.name == name)
    role.create_date = datetime.now(timezone.utc) - timedelta(days=days)


@pytest.fixture
def old_roles(deployed) -> dict[str, str]:  # noqa: F811
    for name in ("app", "batch"):
        age(name, 400)
    return deployed


def scan(cli, *extra: str):
    return cli("scan", "infra", "--format", "json", "--account-id", ACCOUNT, "--no-cache", *extra)


def test_findings_give_the_same_never_used_services_lines_and_suggestions_as_live_reports(
    cli, old_roles, last_accessed, analyzer, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    live = scan(cli)
    patch = ("--suggest=patch", "--min-age-days", "0")
    live_patch = scan(cli, *patch)
    last_accessed.calls.clear()
    from_analyzer = scan(cli, *AA)
    analyzer_patch = scan(cli, *AA, *patch)
    assert last_accessed.calls == []  # no job generated
    assert {op for op, _ in analyzer.calls} == {"GetAnalyzer", "ListFindingsV2", "GetFindingV2"}
    assert from_analyzer.code == live.code and findings(from_analyzer) == findings(live)
    by_address = {p["address"]: p for p in from_analyzer.json["principals"]}
    assert by_address["aws_iam_role.app"]["unused_services"] == ["sqs"]
    assert by_address["aws_iam_role.app"]["stale_services"] == ["ec2"]  # last used 200 days ago
    assert by_address["aws_iam_role.batch"]["unused_services"] == ["dynamodb"]  # an UnusedIAMRole
    assert analyzer_patch.out == live_patch.out and "sqs:SendMessage" in analyzer_patch.out
    [note] = [n for n in from_analyzer.json["notes"] if "Access Analyzer" in n]
    assert ANALYZER_ARN in note and "90 days" in note


def test_a_principal_younger_than_the_window_without_findings_is_no_data_with_why(
    cli, deployed, last_accessed, analyzer, tmp_path, monkeypatch  # noqa: F811
):
    monkeypatch.chdir(tmp_path)
    last_accessed.activity[deployed["app"]] = {"s3": RECENT, "sqs": RECENT, "ec2": RECENT}  # all used
    run = scan(cli, *AA)
    app = next(p for p in run.json["principals"] if p["address"] == "aws_iam_role.app")
    assert app["status"] == "no-data"
    assert "within the analyzer's 90-day window: no finding is not proof of use" in app["error"]
    age("app", 400)
    run = scan(cli, *AA)
    app = next(p for p in run.json["principals"] if p["address"] == "aws_iam_role.app")
    assert app["status"] == "analyzed" and app["unused_services"] == [] and app["stale_services"] == []


def test_an_excluded_account_or_tag_is_no_data_with_why(cli, old_roles, analyzer, tmp_path, monkeypatch, iam):
    monkeypatch.chdir(tmp_path)
    analyzer.excluded_accounts = [ACCOUNT]
    run = scan(cli, *AA)
    assert {p["status"] for p in run.json["principals"]} == {"no-data"}
    assert all("excluded by the analyzer's rules" in p["error"] for p in run.json["principals"])
    analyzer.excluded_accounts = []
    analyzer.excluded_tags = [{"team": "sandbox"}]
    iam.tag_role(RoleName="app", Tags=[{"Key": "team", "Value": "sandbox"}])
    run = scan(cli, *AA)
    app = next(p for p in run.json["principals"] if p["address"] == "aws_iam_role.app")
    assert app["status"] == "analyzed"  # it has findings: those stand whatever the rules
    iam.tag_role(RoleName="batch", Tags=[{"Key": "team", "Value": "sandbox"}])
    analyzer.last_accessed.activity[old_roles["batch"]] = {"dynamodb": RECENT}  # used: no finding
    run = scan(cli, *AA)
    batch = next(p for p in run.json["principals"] if p["address"] == "aws_iam_role.batch")
    assert batch["status"] == "no-data" and "tags are excluded" in batch["error"]


def test_a_whole_role_unused_without_its_code_is_no_data_with_why(cli, old_roles, analyzer):
    run = cli("check", old_roles["batch"], old_roles["app"], "--format", "json", *AA)
    batch, app = run.json["principals"]
    assert batch["status"] == "no-data" and "reports the whole role unused (never used)" in batch["error"]
    assert app["status"] == "analyzed"
    assert app["unused_services"] == ["sqs"] and app["stale_services"] == ["ec2"]


def test_an_analyzer_that_cannot_be_read_is_a_usage_error(cli, old_roles, analyzer, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = scan(cli, "--usage-source", "access-analyzer", "--analyzer-arn", ANALYZER_ARN + "-gone")
    assert run.code == 2 and "ResourceNotFoundException" in run.err and run.out == ""
    analyzer.status = "CREATING"
    run = scan(cli, *AA)
    assert run.code == 2 and "is CREATING, not ACTIVE" in run.err
    run = scan(cli, "--usage-source", "access-analyzer")
    assert run.code == 2 and "needs --analyzer-arn" in run.err


def test_live_reports_a_store_snapshot_and_access_analyzer_agree(
    cli, old_roles, last_accessed, analyzer, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert cli("sweep", "--store", "store").code == 0
    sources = {"live": (), "store": ("--access-data", "store"), "access-analyzer": AA}
    runs = {name: scan(cli, *extra) for name, extra in sources.items()}
    patches = {name: scan(cli, *extra, "--suggest=patch", "--min-age-days", "0").out
               for name, extra in sources.items()}
    never_used = {name: [(p["address"], p["unused_services"]) for p in run.json["principals"]]
                  for name, run in runs.items()}
    assert never_used["live"] == [("aws_iam_role.app", ["sqs"]), ("aws_iam_role.batch", ["dynamodb"])]
    assert never_used["store"] == never_used["access-analyzer"] == never_used["live"]
    assert findings(runs["store"]) == findings(runs["access-analyzer"]) == findings(runs["live"])
    assert patches["store"] == patches["access-analyzer"] == patches["live"] != ""
