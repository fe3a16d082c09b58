"""`iam-lastused check` and `fetch` against moto plus the last-accessed fake."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import make_role
from iam_lastused.store import cache

NOW = datetime.now(timezone.utc)
RECENT = NOW - timedelta(days=3)
LONG_AGO = NOW - timedelta(days=200)


@pytest.fixture
def worker(iam, last_accessed) -> str:
    arn = make_role(iam, "orders-worker", path="/service/")
    last_accessed.activity[arn] = {
        "s3": RECENT, "sqs": RECENT, "dynamodb": None, "sns": None, "cloudwatch": LONG_AGO,
    }
    return arn


def by_namespace(principal: dict) -> dict[str, dict]:
    return {s["namespace"]: s for s in principal["services"]}


def test_reports_unused_and_stale_services(cli, worker):
    run = cli("check", worker, "--format", "json")
    assert run.code == 0
    report = run.json
    assert report["schema_version"] == 1 and report["stale_days"] == 90 and report["errors"] == []
    [principal] = report["principals"]
    assert principal["address"] == worker and principal["source"] == "arn" and principal["kind"] == "role"
    assert principal["status"] == "analyzed" and principal["error"] is None
    assert principal["unused_services"] == ["dynamodb", "sns"]
    assert principal["stale_services"] == ["cloudwatch"]
    services = by_namespace(principal)
    assert services["s3"]["state"] == "used" and services["s3"]["name"] == "Amazon S3"
    assert services["s3"]["last_accessed_region"] == "us-east-1"
    assert services["dynamodb"]["last_accessed"] is None


@pytest.mark.parametrize(("fail_on", "stale_days", "code"), [
    ("never", 90, 0), ("unused", 90, 1), ("stale", 90, 1), ("stale", 365, 1),
])
def test_exit_code_follows_fail_on(cli, worker, fail_on, stale_days, code):
    assert cli("check", worker, "--fail-on", fail_on, "--stale-days", str(stale_days)).code == code


def test_fail_on_stale_without_stale_or_unused_services_passes(cli, iam, last_accessed):
    arn = make_role(iam, "tidy")
    last_accessed.activity[arn] = {"s3": RECENT, "cloudwatch": LONG_AGO}
    assert cli("check", arn, "--fail-on", "stale", "--stale-days", "365").code == 0
    assert cli("check", arn, "--fail-on", "stale").code == 1


def test_text_report_lists_unused_and_stale_with_days(cli, worker):
    run = cli("check", worker)
    assert run.code == 0
    assert "5 services granted: 2 used, 2 never used, 1 stale" in run.out
    assert "unused  dynamodb" in run.out and "unused  sns" in run.out
    assert "stale   cloudwatch" in run.out and "last used 200 days ago" in run.out


def test_unknown_arn_is_not_deployed(cli, worker, last_accessed):
    missing = "arn:aws:iam::123456789012:role/not-yet"
    principals = {p["arn"]: p for p in cli("check", worker, missing, "--format", "json").json["principals"]}
    assert principals[missing]["status"] == "not-deployed"
    assert principals[worker]["unused_services"] == ["dynamodb", "sns"]


def test_failed_job_is_an_error_for_that_principal_only(cli, iam, worker, last_accessed):
    broken = make_role(iam, "broken")
    last_accessed.fail_arns.add(broken)
    run = cli("check", worker, broken, "--format", "json")
    principals = {p["arn"]: p for p in run.json["principals"]}
    assert principals[broken]["status"] == "error"
    assert "job failed: The report could not be generated." in principals[broken]["error"]
    assert principals[broken]["unused_services"] == []
    assert principals[worker]["status"] == "analyzed"
    assert run.code == 0


def test_invalid_input_is_an_error_for_that_principal(cli, worker, last_accessed):
    last_accessed.invalid_arns.add(worker)
    run = cli("check", worker, "--format", "json")
    [principal] = run.json["principals"]
    assert principal["status"] == "error" and "InvalidInput" in principal["error"]
    assert run.code == 2


def test_access_denied_names_the_permission_once(cli, iam, worker, last_accessed):
    other = make_role(iam, "other")
    last_accessed.denied.add("GenerateServiceLastAccessedDetails")
    run = cli("check", worker, other, "--format", "json")
    assert run.code == 2
    assert {p["status"] for p in run.json["principals"]} == {"error"}
    assert run.json["principals"][0]["error"] == (
        "AccessDenied: the caller lacks the permission iam:GenerateServiceLastAccessedDetails"
    )
    assert run.err.count("iam:GenerateServiceLastAccessedDetails") == 1
    assert "(2 principals not analysed)" in run.err


def test_throttled_run_completes_with_nothing_lost(cli, iam, last_accessed):
    arns = [make_role(iam, f"role-{i}") for i in range(6)]
    for arn in arns:
        last_accessed.activity[arn] = {"s3": RECENT, "kms": None}
    last_accessed.throttle_next = 4
    run = cli("check", *arns, "--format", "json")
    assert run.code == 0
    assert last_accessed.throttled == 4
    assert [p["unused_services"] for p in run.json["principals"]] == [["kms"]] * 6
    assert run.err == ""


def test_pages_are_followed(cli, worker, last_accessed):
    last_accessed.page_size = 2
    [principal] = cli("check", worker, "--format", "json").json["principals"]
    assert sorted(by_namespace(principal)) == ["cloudwatch", "dynamodb", "s3", "sns", "sqs"]
    markers = [p.get("Marker") for op, p in last_accessed.calls if op == "GetServiceLastAccessedDetails"]
    assert markers[-2:] == ["2", "4"]


def test_jobs_in_progress_are_polled_until_complete(cli, worker, last_accessed):
    last_accessed.in_progress_polls = 2
    [principal] = cli("check", worker, "--format", "json").json["principals"]
    assert principal["unused_services"] == ["dynamodb", "sns"]
    polls = [op for op, _ in last_accessed.calls if op == "GetServiceLastAccessedDetails"]
    assert len(polls) == 3


def test_overall_timeout_reports_the_principal_not_analysed(cli, worker, last_accessed):
    last_accessed.latency = 60
    run = cli("check", worker, "--timeout", "1", "--format", "json")
    [principal] = run.json["principals"]
    assert principal["status"] == "error"
    assert principal["error"] == "the last-accessed job did not complete within 1 s"
    assert principal["unused_services"] == []
    assert run.code == 2


def test_action_granularity_reports_tracked_actions(cli, worker, last_accessed):
    last_accessed.actions[worker] = {"s3": {"GetObject": RECENT, "PutObject": None}}
    [principal] = cli("check", worker, "--granularity", "action", "--format", "json").json["principals"]
    s3 = by_namespace(principal)["s3"]
    actions = [(a["name"], a["state"]) for a in s3["actions"]]
    assert actions == [("GetObject", "used"), ("PutObject", "unused")]
    generate = [p for op, p in last_accessed.calls if op == "GenerateServiceLastAccessedDetails"]
    assert generate[0]["Granularity"] == "ACTION_LEVEL"


def test_reports_are_cached_and_no_cache_bypasses(cli, worker, last_accessed):
    first = cli("check", worker, "--format", "json").out
    calls = len(last_accessed.calls)
    assert cli("check", worker, "--format", "json").out == first
    assert len(last_accessed.calls) == calls
    cli("check", worker, "--no-cache")
    assert len(last_accessed.calls) > calls


def test_corrupt_cache_entry_is_ignored(cli, worker, last_accessed):
    cli("check", worker)
    for entry in (cache.cache_dir() / "reports").glob("*.json"):
        entry.write_text("{not json")
    [principal] = cli("check", worker, "--format", "json").json["principals"]
    assert principal["unused_services"] == ["dynamodb", "sns"]


def test_no_credentials_says_so_once(cli, monkeypatch, worker):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    run = cli("check", worker, "--format", "json", "--no-cache")
    assert run.code == 2
    assert run.err.count("no AWS credentials") == 1
    assert run.json["principals"][0]["error"] == "no AWS credentials"


def test_malformed_arn_is_a_usage_error_before_any_report(cli, worker):
    """As a mistyped path for scan: one line on stderr, exit 2, nothing on stdout."""
    run = cli("check", "arn:aws:s3:::bucket", worker, "--format", "json")
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "iam-lastused: error: not an IAM role, user, group or managed policy ARN: 'arn:aws:s3:::bucket' "
        "(expected arn:aws:iam::123456789012:role/NAME)\n"
    )


def test_fetch_writes_access_data_that_check_reads_offline(cli, tmp_path: Path, worker, last_accessed):
    out = tmp_path / "access.json"
    fetch = cli("fetch", worker, "--output", str(out))
    assert fetch.code == 0
    saved = json.loads(out.read_text())
    assert saved[worker]["JobStatus"] == "COMPLETED" and "ResponseMetadata" not in saved[worker]
    assert saved[worker]["JobCompletionDate"].endswith("+00:00") or "T" in saved[worker]["JobCompletionDate"]
    calls = len(last_accessed.calls)
    offline = cli("check", worker, "--access-data", str(out), "--format", "json")
    live = cli("check", worker, "--format", "json")
    from_file, from_aws = offline.json, live.json
    assert from_file.pop("usage_source")["kind"] == "file" and from_aws.pop("usage_source")["kind"] == "live"
    assert from_file == from_aws
    assert len(last_accessed.calls) == calls


def test_fetch_without_output_is_a_usage_error(cli, worker):
    run = cli("fetch", worker)
    assert run.code == 2 and "needs --output" in run.err
