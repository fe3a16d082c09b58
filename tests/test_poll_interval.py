"""The first poll of a last-accessed job: half a second after the job starts, as AWS
needs; the suite shortens it (conftest), so this is the one place that real wait is held."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from conftest import make_role
from fake_last_accessed import LastAccessedFake
from iam_lastused.aws import reports

TOOL_FIRST_POLL = reports.FIRST_POLL_SECONDS  # read on import, before the suite shortens it

def test_a_new_job_is_first_polled_after_half_a_second(
    iam: Any, last_accessed: LastAccessedFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "FIRST_POLL_SECONDS", TOOL_FIRST_POLL)
    arn = make_role(iam, "app")
    last_accessed.activity[arn] = {"s3": None}
    waits: list[float] = []
    settings = reports.EngineSettings(use_cache=False)
    client = boto3.Session().client("iam")  # a new session: it has the fake's hook
    fetched = reports.fetch_reports(lambda _account: client, [arn], settings, sleep=waits.append)
    assert isinstance(fetched.outcomes[arn], dict)
    assert TOOL_FIRST_POLL == settings.first_poll == 0.5
    assert 0.4 <= waits[0] <= 0.6, waits  # the first wait: before the first poll (jitter of a fifth)
