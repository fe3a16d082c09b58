"""Reading a sweep's store (`--access-data DIR|s3://...`): per account its newest
snapshot no older than `--max-age`; what it lacks is said and asked of IAM."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from conftest import ACCOUNT
from iam_lastused.store.snapshots import About, describe_age, encode, parse_duration, snapshot_name

RECENT = datetime.now(timezone.utc) - timedelta(days=1)
LONG_AGO = datetime.now(timezone.utc) - timedelta(days=200)
CODE = """
resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "app" {
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject", "sqs:SendMessage", "ec2:DescribeInstances"]
      Resource = "*"
    }]
  })
}

resource "aws_iam_role" "batch" {
  name               = "batch"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy_attachment" "batch" {
  role       = aws_iam_role.batch.name
  policy_arn = "arn:aws:iam::123456789012:policy/shared"
}
"""
SHARED = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}


@pytest.fixture
def deployed(iam, last_accessed, tmp_path) -> dict[str, str]:
    """The code's principals, deployed, with usage; and the code in tmp_path/infra."""
    arns = {}
    for name in ("app", "batch"):
        arns[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.create_policy(PolicyName="shared", PolicyDocument=json.dumps(SHARED))
    last_accessed.activity[arns["app"]] = {"s3": RECENT, "sqs": None, "ec2": LONG_AGO}
    last_accessed.activity[arns["batch"]] = {"dynamodb": None}
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(CODE)
    return arns


@pytest.fixture
def operations(aws_hooks) -> list[str]:
    seen: list[str] = []
    aws_hooks.insert(0, lambda event_name, **_kwargs: seen.append(event_name.split(".", 1)[1]))
    return seen


def findings(run) -> list[tuple]:
    """What a user acts on: each principal's status, unused and stale services and where they are granted."""
    return [
        (p["address"], p["status"], p["unused_services"], p.get("stale_services"),
         sorted((s["namespace"], s["state"], json.dumps(s.get("granted_by"))) for s in p["services"]))
        for p in run.json["principals"]
    ]


def scan(cli, tmp_path, *extra: str):
    infra = str(tmp_path / "infra")
    return cli("scan", infra, "--format", "json", "--account-id", ACCOUNT, "--no-cache", *extra)


def test_a_scan_reading_the_store_asks_iam_nothing_and_finds_what_the_live_scan_finds(
    cli, deployed, last_accessed, operations, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the patch is for files under the working directory
    live = scan(cli, tmp_path)
    patch = ("scan", "infra", "--account-id", ACCOUNT, "--no-cache", "--suggest=patch", "--min-age-days", "0")
    live_patch = cli(*patch)
    held_back = ("scan", "infra", "--account-id", ACCOUNT, "--no-cache", "--suggest", "--format", "json")
    live_held_back = cli(*held_back)
    store = tmp_path / "store"
    assert cli("sweep", "--store", str(store)).code == 0
    last_accessed.calls.clear()
    operations.clear()
    stored = scan(cli, tmp_path, "--access-data", str(store))
    stored_patch = cli(*patch, "--access-data", str(store))
    stored_held_back = cli(*held_back, "--access-data", str(store))
    assert last_accessed.calls == [] and operations == []
    assert stored.code == live.code and stored.err == "" and findings(stored) == findings(live)
    assert findings(stored)[0][:3] == ("aws_iam_role.app", "analyzed", ["sqs"])
    assert any(p["unused_services"] == ["dynamodb"] for p in stored.json["principals"])  # the stored document
    assert stored_patch.out == live_patch.out and "sqs:SendMessage" in stored_patch.out
    assert stored_held_back.json["suggestions"] == live_held_back.json["suggestions"]
    assert "was created 0 days ago" in json.dumps(stored_held_back.json["suggestions"])
    [note] = [n for n in stored.json["notes"] if "usage from the store" in n]
    assert f"account {ACCOUNT}'s snapshot made " in note and "s ago by arn:aws:" in note


def old_snapshot(store, account: str, data: dict, age: timedelta) -> None:
    made = datetime.now(timezone.utc) - age
    (store / account).mkdir(parents=True)
    about = About(account, made, "someone", "service")
    (store / account / snapshot_name(made)).write_bytes(encode(about, data))


def test_a_snapshot_older_than_max_age_is_said_with_its_age_and_not_used(
    cli, deployed, last_accessed, tmp_path
):
    store = tmp_path / "store"
    lying = {"JobStatus": "COMPLETED", "ServicesLastAccessed": [
        {"ServiceNamespace": ns, "LastAuthenticated": RECENT.isoformat()} for ns in ("s3", "sqs", "ec2")]}
    old_snapshot(store, ACCOUNT, {arn: lying for arn in deployed.values()}, timedelta(days=3, hours=2))
    run = scan(cli, tmp_path, "--access-data", str(store), "--max-age", "24h")
    assert run.err.count("is 3d 2h old, older than --max-age 1d: not used") == 1
    # not used silently: the live reports are, and they say sqs was never used
    assert findings(run)[0][2] == ["sqs"]
    assert any(op == "GenerateServiceLastAccessedDetails" for op, _ in last_accessed.calls)
    fresh_enough = scan(cli, tmp_path, "--access-data", str(store), "--max-age", "4d")
    assert "not used" not in fresh_enough.err and findings(fresh_enough)[0][2] == []


def test_without_credentials_what_the_store_lacks_is_no_data(cli, deployed, tmp_path, monkeypatch):
    store = tmp_path / "store"
    assert cli("sweep", "--store", str(store)).code == 0
    snapshot = next((store / ACCOUNT).iterdir())
    data = json.loads(snapshot.read_text())
    del data[deployed["batch"]]
    snapshot.write_text(json.dumps(data))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    run = scan(cli, tmp_path, "--access-data", str(store))
    by_address = {p["address"]: p for p in run.json["principals"]}
    assert by_address["aws_iam_role.app"]["status"] == "analyzed"
    assert by_address["aws_iam_role.app"]["unused_services"] == ["sqs"]
    assert by_address["aws_iam_role.batch"]["status"] == "no-data"
    assert by_address["aws_iam_role.batch"]["error"] == "not in the store, and no AWS credentials to ask IAM"
    assert run.err.count(f"1 principal of account {ACCOUNT} is not in its snapshot (made ") == 1
    assert "no AWS credentials to ask IAM for the 1 principal the store lacks" in run.err


def test_a_principal_the_snapshot_lacks_is_fetched_live_when_credentials_allow(
    cli, deployed, last_accessed, tmp_path
):
    store = tmp_path / "store"
    old_snapshot(store, ACCOUNT, {}, timedelta(minutes=5))
    run = scan(cli, tmp_path, "--access-data", str(store))
    assert f"2 principals of account {ACCOUNT} are not in its snapshot (made 5m ago)" in run.err
    assert findings(run)[0][2] == ["sqs"]
    assert len([op for op, _ in last_accessed.calls if op == "GenerateServiceLastAccessedDetails"]) == 2


def test_a_snapshot_of_another_account_in_an_account_s_place_is_not_used(cli, deployed, tmp_path):
    store = tmp_path / "store"
    old_snapshot(store, "999999999999", {}, timedelta(minutes=5))
    (store / "999999999999").rename(store / ACCOUNT)
    run = scan(cli, tmp_path, "--access-data", str(store))
    assert run.err.count(f"a snapshot of account 999999999999, not of {ACCOUNT}") == 1
    assert findings(run)[0][2] == ["sqs"]  # asked of IAM instead


def test_an_account_with_no_snapshot_is_said(cli, deployed, tmp_path):
    (tmp_path / "store").mkdir()
    run = scan(cli, tmp_path, "--access-data", str(tmp_path / "store"))
    assert run.err.count(f"has no snapshot of account {ACCOUNT}") == 1 and findings(run)[0][2] == ["sqs"]


def test_a_store_in_s3_is_read_with_get_object_and_list_bucket_only(cli, deployed, operations, tmp_path):
    boto3.client("s3").create_bucket(Bucket="org-usage")
    assert cli("sweep", "--store", "s3://org-usage/iam").code == 0
    operations.clear()
    run = scan(cli, tmp_path, "--access-data", "s3://org-usage/iam")
    assert run.code == 0 and findings(run)[0][2] == ["sqs"], run.err
    assert set(operations) == {"s3.ListObjectsV2", "s3.GetObject"}


def test_action_level_runs_do_not_use_service_level_snapshots(cli, deployed, tmp_path):
    store = tmp_path / "store"
    assert cli("sweep", "--store", str(store)).code == 0
    run = scan(cli, tmp_path, "--access-data", str(store), "--granularity", "action")
    assert run.err.count("was made at service level; --granularity action needs a sweep at action level") == 1


def test_max_age_takes_a_number_and_a_unit(cli, tmp_path):
    assert parse_duration("30m") == 1800 and parse_duration("2d") == 172800
    ages = [timedelta(seconds=5), timedelta(minutes=90), timedelta(days=2), timedelta(days=3, hours=2)]
    assert [describe_age(age) for age in ages] == ["5s", "1h 30m", "2d", "3d 2h"]
    for bad in ("24", "1w", "-1h", "h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(SystemExit) as exit_:
        cli("check", "arn:aws:iam::123456789012:role/x", "--access-data", str(tmp_path), "--max-age", "24")
    assert exit_.value.code == 2


def test_a_store_url_in_the_repository_config_is_refused(cli, tmp_path, monkeypatch):
    (tmp_path / ".iam-lastused.toml").write_text('access-data = "s3://someone-elses-bucket/usage"\n')
    monkeypatch.chdir(tmp_path)
    run = cli("check", "arn:aws:iam::123456789012:role/x", "--format", "json")
    assert "access-data is not taken from the repository's config file" in run.err
    assert run.json["usage_source"]["store"] is None  # the run went on without it
