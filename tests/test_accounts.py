"""Many accounts: each account's principals through that account's credentials."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import iam_in, make_role

OTHER = "111111111111"
RECENT = datetime.now(timezone.utc) - timedelta(days=1)


@pytest.fixture
def two_accounts(iam, last_accessed) -> tuple[str, str]:
    home = make_role(iam, "api")
    other = make_role(iam_in(OTHER), "batch")
    last_accessed.activity[home] = {"s3": RECENT, "sqs": None}
    last_accessed.activity[other] = {"ec2": RECENT, "rds": None}
    return home, other


def test_each_account_through_an_assumed_role(cli, two_accounts, aws_hooks):
    assumed: list[str] = []

    def record(request, **_kwargs):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        if "Action=AssumeRole" in body:
            assumed.append(body)

    aws_hooks.insert(0, record)
    home, other = two_accounts
    run = cli("check", home, other, "--format", "json",
              "--assume-role-arn", "arn:aws:iam::{account_id}:role/iam-lastused")
    assert run.code == 0
    assert [p["unused_services"] for p in run.json["principals"]] == [["sqs"], ["rds"]]
    assert len(assumed) == 2
    assert any("role%2Fiam-lastused" in body and OTHER in body for body in assumed)


def test_an_account_without_credentials_does_not_stop_the_others(cli, two_accounts, tmp_path, monkeypatch):
    home, other = two_accounts
    (tmp_path / "mine.toml").write_text(f'[accounts]\n"{OTHER}" = "no-such-profile"\n')
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")  # the invoker's config, outside where the run looks
    run = cli("check", home, other, "--format", "json", "--config", "../mine.toml")
    by_arn = {p["arn"]: p for p in run.json["principals"]}
    assert by_arn[home]["status"] == "analyzed" and by_arn[home]["unused_services"] == ["sqs"]
    assert by_arn[other]["status"] == "error"
    assert "no-such-profile" in by_arn[other]["error"] and OTHER in by_arn[other]["error"]
    assert by_arn[other]["unused_services"] == []
    assert run.code == 0
