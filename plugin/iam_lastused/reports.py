"""Getting last-accessed reports from AWS IAM.

All jobs are started first (`GenerateServiceLastAccessedDetails`), then every
pending job is polled in rounds (`GetServiceLastAccessedDetails`) with
exponential backoff and jitter, so the run takes about one job's latency rather
than one per principal. Throttling is retried by botocore first and by this
module after that, until the overall deadline; every other failure is an
outcome for that one ARN.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from . import cache
from .access_data import to_json_value
from .model import ReportFailure

GRANULARITY = {"service": "SERVICE_LEVEL", "action": "ACTION_LEVEL"}
CACHE_TTL_SECONDS = 4 * 3600  # AWS shows new activity within about four hours
BOTOCORE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})

THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})

Outcome = dict[str, Any] | ReportFailure
Progress = Callable[[int, int], None]


class CredentialsMissing(Exception):
    """No usable AWS credentials: every call would fail the same way."""


@dataclass(frozen=True)
class EngineSettings:
    granularity: str = "service"
    concurrency: int = 8
    timeout: float = 600.0
    first_poll: float = 0.5
    max_poll_interval: float = 8.0
    use_cache: bool = True


class _Pacer:
    """Spaces out calls after a throttle that botocore's own retries did not absorb."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._sleep = sleep

    def wait(self) -> None:
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            self._sleep(delay)

    def back_off(self, attempt: int) -> float:
        delay = min(20.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + delay)
        return delay


class _Fetcher:
    def __init__(self, client: Any, settings: EngineSettings, sleep: Callable[[float], None]) -> None:
        self.client = client
        self.settings = settings
        self.sleep = sleep
        self.pacer = _Pacer(sleep)
        self.deadline = time.monotonic() + settings.timeout

    def call(self, operation: str, arn: str, **params: Any) -> dict[str, Any] | ReportFailure:
        attempt = 0
        while True:
            self.pacer.wait()
            try:
                return getattr(self.client, _method(operation))(**params)
            except (NoCredentialsError, PartialCredentialsError) as exc:
                raise CredentialsMissing(str(exc)) from None
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in THROTTLING_CODES and time.monotonic() < self.deadline:
                    self.pacer.back_off(attempt)
                    attempt += 1
                    continue
                return _failure(arn, operation, code, exc)
            except BotoCoreError as exc:
                return ReportFailure(arn, f"{operation} failed: {exc}")

    def start(self, arn: str) -> str | ReportFailure:
        granularity = GRANULARITY[self.settings.granularity]
        response = self.call("GenerateServiceLastAccessedDetails", arn, Arn=arn, Granularity=granularity)
        if isinstance(response, ReportFailure):
            return response
        return response["JobId"]

    def poll(self, arn: str, job_id: str) -> Outcome | None:
        """The whole report once the job is done (every page), else None."""
        response = self.call("GetServiceLastAccessedDetails", arn, JobId=job_id)
        if isinstance(response, ReportFailure) or response.get("JobStatus") == "IN_PROGRESS":
            return response if isinstance(response, ReportFailure) else None
        report = to_json_value(response)
        while response.get("IsTruncated"):
            response = self.call(
                "GetServiceLastAccessedDetails", arn, JobId=job_id, Marker=response["Marker"]
            )
            if isinstance(response, ReportFailure):
                return response
            report["ServicesLastAccessed"] += to_json_value(response).get("ServicesLastAccessed", [])
        report.pop("IsTruncated", None)
        report.pop("Marker", None)
        return report


def _method(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _failure(arn: str, operation: str, code: str, exc: ClientError) -> ReportFailure:
    message = exc.response.get("Error", {}).get("Message", "") or str(exc)
    if code == "NoSuchEntity":
        return ReportFailure(arn, f"IAM has no such entity: {arn}", not_found=True)
    if code in ACCESS_DENIED_CODES:
        return ReportFailure(arn, f"AccessDenied: the caller lacks the permission iam:{operation}")
    if code in THROTTLING_CODES:
        return ReportFailure(arn, f"{operation} was still throttled when the time limit ran out")
    return ReportFailure(arn, f"{operation} failed ({code}): {message}")


def _cache_key(arn: str, granularity: str) -> str:
    return f"{arn}|{granularity}"


def fetch_reports(
    client: Any,
    arns: Iterable[str],
    settings: EngineSettings = EngineSettings(),
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Outcome]:
    """A report (the raw response, as the AWS CLI prints it) or a failure for each ARN.

    Raises CredentialsMissing when there are no credentials at all.
    """
    wanted = list(dict.fromkeys(arns))
    results: dict[str, Outcome] = {}
    if settings.use_cache:
        for arn in wanted:
            cached = cache.load("reports", _cache_key(arn, settings.granularity), CACHE_TTL_SECONDS)
            if isinstance(cached, dict):
                results[arn] = cached
    missing = [arn for arn in wanted if arn not in results]
    total = len(wanted)

    def report_progress() -> None:
        if progress:
            progress(len(results), total)

    report_progress()
    if missing:
        fetcher = _Fetcher(client, settings, sleep)
        with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
            pending: dict[str, str] = {}
            for arn, started in zip(missing, pool.map(fetcher.start, missing), strict=True):
                if isinstance(started, ReportFailure):
                    results[arn] = started
                else:
                    pending[arn] = started
            report_progress()
            _poll_until_done(fetcher, pool, pending, results, report_progress)
    if settings.use_cache:
        for arn in missing:
            outcome = results[arn]
            if isinstance(outcome, dict) and outcome.get("JobStatus") == "COMPLETED":
                cache.store("reports", _cache_key(arn, settings.granularity), outcome)
    return {arn: results[arn] for arn in wanted}


def _poll_until_done(
    fetcher: _Fetcher,
    pool: ThreadPoolExecutor,
    pending: dict[str, str],
    results: dict[str, Outcome],
    report_progress: Callable[[], None],
) -> None:
    interval = fetcher.settings.first_poll
    while pending:
        remaining = fetcher.deadline - time.monotonic()
        if remaining <= 0:
            for arn in pending:
                results[arn] = ReportFailure(
                    arn, f"the last-accessed job did not complete within {fetcher.settings.timeout:g} s"
                )
            return
        fetcher.sleep(min(remaining, interval * random.uniform(0.8, 1.2)))
        interval = min(interval * 1.5, fetcher.settings.max_poll_interval)
        batch = list(pending.items())
        for (arn, _), outcome in zip(batch, pool.map(lambda item: fetcher.poll(*item), batch), strict=True):
            if outcome is not None:
                results[arn] = outcome
                del pending[arn]
        report_progress()


def make_session(profile: str | None, region: str | None) -> Any:
    import boto3

    return boto3.Session(profile_name=profile, region_name=region)


def iam_client(session: Any) -> Any:
    return session.client("iam", config=BOTOCORE_CONFIG)


def only_reports(outcomes: Mapping[str, Outcome]) -> dict[str, dict[str, Any]]:
    return {arn: outcome for arn, outcome in outcomes.items() if isinstance(outcome, dict)}
