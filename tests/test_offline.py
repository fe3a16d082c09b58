"""Offline runs from an access-data file: no AWS at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "access-data.json"
WORKER = "arn:aws:iam::111122223333:role/service/orders-worker"
POLICY = "arn:aws:iam::111122223333:policy/orders-data-access"


def test_example_access_data_shows_unused_services(cli):
    run = cli("check", WORKER, POLICY, "--access-data", str(EXAMPLE), "--format", "json")
    assert run.code == 0
    worker, policy = run.json["principals"]
    assert worker["unused_services"] == ["dynamodb", "sns"]
    assert "cloudwatch" in worker["stale_services"]
    assert policy["kind"] == "policy" and policy["unused_services"] == ["dynamodb"]


def test_arn_missing_from_access_data_is_no_data(cli):
    ghost = "arn:aws:iam::111122223333:user/ghost"
    run = cli("check", ghost, "--access-data", str(EXAMPLE), "--format", "json")
    [principal] = run.json["principals"]
    assert principal["status"] == "no-data"
    assert run.code == 2


def test_failed_job_in_access_data_is_an_error(cli, tmp_path):
    arn = "arn:aws:iam::111122223333:role/x"
    data = tmp_path / "a.json"
    data.write_text(json.dumps({arn: {"JobStatus": "FAILED", "Error": {"Message": "boom", "Code": "x"}}}))
    [principal] = cli("check", arn, "--access-data", str(data), "--format", "json").json["principals"]
    assert principal["status"] == "error" and principal["error"] == "the last-accessed job failed: boom"


@pytest.mark.parametrize("content", ["{broken", "[1, 2]", '{"arn": 3}'])
def test_unusable_access_data_is_one_line_and_exit_2(cli, tmp_path, content):
    data = tmp_path / "a.json"
    data.write_text(content)
    run = cli("check", WORKER, "--access-data", str(data))
    assert run.code == 2
    assert run.out == ""
    assert run.err.count("\n") == 1 and str(data) in run.err


def test_output_file_is_written_whole(cli, tmp_path):
    out = tmp_path / "report.json"
    run = cli("check", WORKER, "--access-data", str(EXAMPLE), "--format", "json", "--output", str(out))
    assert run.out == ""
    assert json.loads(out.read_text())["principals"][0]["arn"] == WORKER
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_output_to_missing_directory_is_one_line_error(cli, tmp_path):
    run = cli("check", WORKER, "--access-data", str(EXAMPLE), "--output", str(tmp_path / "no" / "r.txt"))
    assert run.code == 2 and "cannot write" in run.err


def test_terminal_output_escapes_control_characters(cli, tmp_path):
    arn = "arn:aws:iam::111122223333:role/evil"
    data = tmp_path / "a.json"
    entry = {"ServiceNamespace": "s3", "ServiceName": "S3\x1b[31mRED\x1b]8;;http://x\x07"}
    data.write_text(json.dumps({arn: {"JobStatus": "COMPLETED", "ServicesLastAccessed": [entry]}}))
    run = cli("check", arn, "--access-data", str(data))
    assert "\x1b" not in run.out and "\x07" not in run.out
    assert "S3\\x1b[31mRED" in run.out
