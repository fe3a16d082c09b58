"""Faults a pipeline meets, each through the CLI: the run completes, says what was
not analysed and why, and never reports a service as unused for lack of data."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from conftest import make_role
from iam_lastused.store import cache

RECENT = datetime.now(timezone.utc) - timedelta(days=1)


@pytest.fixture
def roles(iam, last_accessed) -> list[str]:
    arns = [make_role(iam, f"app-{i}") for i in range(5)]
    for arn in arns:
        last_accessed.activity[arn] = {"s3": RECENT, "sqs": None}
    return arns


def statuses(run) -> dict[str, str]:
    return {p["arn"]: p["status"] for p in run.json["principals"]}


def assert_nothing_unused_without_data(run) -> None:
    for principal in run.json["principals"]:
        if principal["status"] != "analyzed":
            assert principal["unused_services"] == [] and principal["error"]


def test_throttling_storm_is_ridden_out(cli, roles, last_accessed):
    last_accessed.throttle_until = time.monotonic() + 2.5
    run = cli("check", *roles, "--format", "json")
    assert run.code == 0
    assert last_accessed.throttled > 5
    assert [p["unused_services"] for p in run.json["principals"]] == [["sqs"]] * 5


def test_storm_longer_than_the_timeout_is_reported_per_principal(cli, roles, last_accessed):
    last_accessed.throttle_until = time.monotonic() + 60
    run = cli("check", *roles, "--format", "json", "--timeout", "2")
    assert set(statuses(run).values()) == {"error"}
    assert "still throttled when the time limit ran out" in run.json["principals"][0]["error"]
    assert_nothing_unused_without_data(run)
    assert run.code == 2


def test_connection_resets_and_read_timeouts_are_retried(cli, roles, last_accessed):
    last_accessed.raise_next = [
        ConnectionClosedError(endpoint_url="https://iam.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://iam.amazonaws.com/"),
        ConnectionClosedError(endpoint_url="https://iam.amazonaws.com/"),
    ]
    run = cli("check", *roles, "--format", "json")
    assert run.code == 0
    assert set(statuses(run).values()) == {"analyzed"}
    assert last_accessed.raise_next == []


def test_truncated_responses_are_retried(cli, roles, last_accessed):
    last_accessed.truncate_next = 2
    run = cli("check", *roles, "--format", "json")
    assert run.code == 0
    assert [p["unused_services"] for p in run.json["principals"]] == [["sqs"]] * 5


def test_responses_that_stay_truncated_are_errors_not_findings(cli, roles, last_accessed):
    last_accessed.truncate_next = 1000
    run = cli("check", *roles, "--format", "json")
    assert set(statuses(run).values()) == {"error"}
    assert "the response could not be read" in run.json["principals"][0]["error"]
    assert_nothing_unused_without_data(run)
    assert run.code == 2


def test_expired_credentials_mid_run_are_said_once(cli, roles, last_accessed):
    last_accessed.expire_after = 7
    run = cli("check", *roles, "--format", "json")
    expired = [p for p in run.json["principals"] if p["status"] == "error"]
    assert expired and all(p["error"] == "the AWS credentials expired during the run" for p in expired)
    assert run.err.count("credentials expired") == 1
    assert_nothing_unused_without_data(run)


def test_unwritable_cache_directory_costs_only_the_cache(cli, roles, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("IAM_LASTUSED_CACHE_DIR", str(blocker / "cache"))
    run = cli("check", *roles, "--format", "json")
    assert run.code == 0 and set(statuses(run).values()) == {"analyzed"}
    assert run.err.count("cannot be written: reports were not cached") == 1


def test_full_disk_costs_only_the_cache(cli, roles, monkeypatch):
    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.os, "replace", full)
    run = cli("check", *roles, "--format", "json")
    assert run.code == 0 and set(statuses(run).values()) == {"analyzed"}
    assert "reports were not cached" in run.err
    assert list((cache.cache_dir() / "reports").glob("*.tmp")) == []


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt, as at a terminal; a suite run as a background
    job starts with SIGINT ignored, and the fake's Ctrl-C would do nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_prints_partial_results_and_exits_130(cli, roles, last_accessed, ctrl_c):
    last_accessed.latency_for = {arn: 60.0 for arn in roles[2:]}
    last_accessed.interrupt_after = 6  # in the second round: the first two reports are complete
    run = cli("check", *roles, "--format", "json", "--no-cache")
    assert run.code == 130
    assert "interrupted: the report below is partial" in run.err
    found = statuses(run)
    assert "analyzed" in found.values() and "error" in found.values()
    interrupted = [p for p in run.json["principals"] if p["status"] == "error"]
    assert all(p["error"] == "interrupted before its report was complete" for p in interrupted)
    assert_nothing_unused_without_data(run)


def test_ctrl_c_leaves_the_cache_consistent(cli, roles, last_accessed, ctrl_c):
    last_accessed.latency_for = {arn: 60.0 for arn in roles[2:]}
    last_accessed.interrupt_after = 6
    first = cli("check", *roles, "--format", "json")
    assert first.code == 130
    for entry in (cache.cache_dir() / "reports").glob("*"):
        assert entry.suffix == ".json"
        assert json.loads(entry.read_text())["value"]["JobStatus"] == "COMPLETED"
    last_accessed.interrupt_after = None
    last_accessed.latency_for = {}
    second = cli("check", *roles, "--format", "json")
    assert second.code == 0 and set(statuses(second).values()) == {"analyzed"}


def test_the_report_engine_sees_every_throttle_itself(roles, last_accessed):
    """The engine paces each account from the throttles it sees, so its client makes one
    attempt a call: botocore's `max_attempts: 1` meant two (one retry), hiding the first."""
    from botocore.exceptions import ClientError
    from iam_lastused.aws import session as aws

    client = aws.client(aws.make_session(None, "us-east-1"), "iam", aws.REPORTS_CONFIG, role="run")
    last_accessed.throttle_next = 1
    with pytest.raises(ClientError, match="Throttling"):
        client.generate_service_last_accessed_details(Arn=roles[0])
    assert last_accessed.throttled == 1
