"""Getting last-accessed reports from AWS IAM.

Principals are grouped by account and each account is worked on in parallel
through its own client, since IAM throttles per account. Within an account all
jobs are started first (`GenerateServiceLastAccessedDetails`), then pending jobs
are polled (`GetServiceLastAccessedDetails`) in rounds with exponential backoff
and jitter, oldest first: a round stops at the first job still running, since
younger ones will be too, so a run costs about one job's latency and few wasted
calls. Throttling and connection errors are retried here, not by botocore, until
the deadline: each account's calls are paced at a rate learned from its throttles,
with fewer in flight after a throttle and more after successes. Every other
failure is an outcome for that one ARN.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from iam_lastused.aws.session import AccountUnavailable
from iam_lastused.model import ReportFailure
from iam_lastused.store import cache
from iam_lastused.store.access_data import to_json_value

GRANULARITY = {"service": "SERVICE_LEVEL", "action": "ACTION_LEVEL"}
CACHE_TTL_SECONDS = 4 * 3600  # AWS shows new activity within about four hours

THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
TRANSIENT_RETRIES = 4
TRANSIENT_ERRORS = (ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError)

Outcome = dict[str, Any] | ReportFailure
Progress = Callable[[int, int], None]
Clients = Callable[[str], Any]


class CredentialsMissing(Exception):
    """No usable AWS credentials: every call would fail the same way."""


class Interrupted(Exception):
    """Ctrl-C: `outcomes` holds what was complete, the rest marked as not analysed."""

    def __init__(self, outcomes: dict[str, Outcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes


FIRST_POLL_SECONDS = 0.5
"""How long a new job is left before its first poll: AWS completes a small one in about
that time. Read when settings are made, so the tests, whose fake answers at once, shorten it."""


@dataclass(frozen=True)
class EngineSettings:
    granularity: str = "service"
    concurrency: int = 8
    max_concurrency: int = 32
    timeout: float = 600.0
    first_poll: float = field(default_factory=lambda: FIRST_POLL_SECONDS)
    max_poll_interval: float = 8.0
    use_cache: bool = True
    caller: str = ""
    """Who asks (the caller's identity, and how it reaches each account): a cached
    report is served only to the caller that fetched it."""


@dataclass
class Fetched:
    outcomes: dict[str, Outcome]
    notes: list[str]


class _Limiter:
    """Calls in flight: halved after a throttle, grown by one per `limit` successes."""

    def __init__(self, start: int, ceiling: int) -> None:
        self.limit = float(start)
        self.ceiling = ceiling
        self.in_flight = 0
        self._condition = threading.Condition()

    def __enter__(self) -> None:
        with self._condition:
            while self.in_flight >= int(self.limit):
                self._condition.wait()
            self.in_flight += 1

    def __exit__(self, *_exc: object) -> None:
        with self._condition:
            self.in_flight -= 1
            self._condition.notify()

    def throttled(self) -> None:
        with self._condition:
            self.limit = max(1.0, self.limit / 2)

    def succeeded(self) -> None:
        with self._condition:
            self.limit = min(float(self.ceiling), self.limit + 1 / self.limit)
            self._condition.notify_all()


class _Pacer:
    """Spaces one account's calls at a rate learned from its throttling: from a modest
    start the rate grows by 5% a call until the first throttle (as TCP's slow start),
    then by a small step a call, and drops by a fifth at a throttle; throttles that
    arrive together (calls in flight at once) count as one."""

    def __init__(self, sleep: Callable[[float], None], start: float = 10.0, ceiling: float = 200.0) -> None:
        self.rate = start
        self.ceiling = ceiling
        self.sleep = sleep
        self.slow_start = True
        self._next = 0.0
        self._last_cut = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + 1 / self.rate
        if slot > now:
            self.sleep(slot - now)

    def succeeded(self) -> None:
        with self._lock:
            grown = self.rate * 1.05 if self.slow_start else self.rate + 0.2
            self.rate = min(self.ceiling, grown)

    def throttled(self) -> None:
        with self._lock:
            now = time.monotonic()
            self.slow_start = False
            if now - self._last_cut >= 1.0:
                self._last_cut = now
                self.rate = max(0.5, self.rate * 0.8)
            self._next = max(self._next, now + 1 / self.rate)


class _Account:
    """One account's calls: its client, its pacing, its deadline."""

    def __init__(
        self, client: Any, settings: EngineSettings, sleep: Callable[[float], None], deadline: float
    ) -> None:
        self.client = client
        self.settings = settings
        self.sleep = sleep
        self.deadline = deadline
        self.limiter = _Limiter(settings.concurrency, settings.max_concurrency)
        self.pacer = _Pacer(sleep)

    def call(self, operation: str, arn: str, **params: Any) -> dict[str, Any] | ReportFailure:
        attempt = transient = 0
        while True:
            try:
                self.pacer.wait()
                with self.limiter:
                    response = getattr(self.client, xform_name(operation))(**params)
                self.limiter.succeeded()
                self.pacer.succeeded()
                return response
            except (NoCredentialsError, PartialCredentialsError) as exc:
                raise CredentialsMissing(str(exc)) from None
            except (ResponseParserError, *TRANSIENT_ERRORS) as exc:  # cut off or lost in transit
                if transient < TRANSIENT_RETRIES and time.monotonic() < self.deadline:
                    self.sleep(0.2 * 2**transient * random.uniform(0.5, 1.0))
                    transient += 1
                    continue
                if isinstance(exc, ResponseParserError):
                    reason = "the response could not be read (not an AWS answer, or cut short)"
                    return ReportFailure(arn, f"{operation} failed: {reason}")
                return ReportFailure(arn, f"{operation} failed: {exc}")
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                remaining = self.deadline - time.monotonic()
                if code in THROTTLING_CODES and remaining > 0:
                    self.limiter.throttled()
                    self.pacer.throttled()
                    if attempt >= 2:  # still throttled after the pacer slowed down: a storm
                        self.sleep(min(remaining, min(20.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)))
                    attempt += 1
                    continue
                return _failure(arn, operation, code, exc)
            except BotoCoreError as exc:
                return ReportFailure(arn, f"{operation} failed: {exc}")

    def start(self, arn: str) -> str | ReportFailure:
        granularity = GRANULARITY[self.settings.granularity]
        response = self.call("GenerateServiceLastAccessedDetails", arn, Arn=arn, Granularity=granularity)
        return response if isinstance(response, ReportFailure) else response["JobId"]

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


def _failure(arn: str, operation: str, code: str, exc: ClientError) -> ReportFailure:
    message = exc.response.get("Error", {}).get("Message", "") or str(exc)
    if code == "NoSuchEntity":
        return ReportFailure(arn, f"IAM has no such entity: {arn}", not_found=True)
    if code in ACCESS_DENIED_CODES:
        return ReportFailure(arn, f"AccessDenied: the caller lacks the permission iam:{operation}")
    if code in EXPIRED_CODES:
        return ReportFailure(arn, "the AWS credentials expired during the run")
    if code in THROTTLING_CODES:
        return ReportFailure(arn, f"{operation} was still throttled when the time limit ran out")
    return ReportFailure(arn, f"{operation} failed ({code}): {message}")


def _cache_key(arn: str, settings: EngineSettings) -> str:
    return f"{settings.caller}|{arn}|{settings.granularity}"


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


class _Run:
    def __init__(self, total: int, done: int, progress: Progress | None) -> None:
        self.lock = threading.Lock()
        self.total = total
        self.done = done
        self.progress = progress
        self.interrupted = threading.Event()

    def advance(self, count: int) -> None:
        with self.lock:
            self.done += count
            if self.progress:
                self.progress(self.done, self.total)


def _fetch_account(
    account: _Account, arns: list[str], run: _Run, results: dict[str, Outcome]
) -> None:
    """Start every job, then poll the pending ones, oldest first, until done or out of time."""
    with ThreadPoolExecutor(max_workers=account.settings.max_concurrency) as pool:
        pending: dict[str, str] = {}
        for arn, started in zip(arns, pool.map(account.start, arns), strict=True):
            if isinstance(started, ReportFailure):
                results[arn] = started
                run.advance(1)
            else:
                pending[arn] = started
        interval = account.settings.first_poll
        while pending and not run.interrupted.is_set():
            remaining = account.deadline - time.monotonic()
            if remaining <= 0:
                for arn in pending:
                    results[arn] = ReportFailure(
                        arn,
                        f"the last-accessed job did not complete within {account.settings.timeout:g} s",
                    )
                return
            account.sleep(min(remaining, interval * random.uniform(0.8, 1.2)))
            interval = min(interval * 1.5, account.settings.max_poll_interval)
            _poll_round(account, pool, pending, run, results)


def _poll_round(
    account: _Account,
    pool: ThreadPoolExecutor,
    pending: dict[str, str],
    run: _Run,
    results: dict[str, Outcome],
) -> None:
    jobs = list(pending.items())
    while jobs and not run.interrupted.is_set():
        batch, jobs = jobs[: int(account.limiter.limit)], jobs[int(account.limiter.limit):]
        outcomes = list(pool.map(lambda job: account.poll(*job), batch))
        finished = 0
        for (arn, _), outcome in zip(batch, outcomes, strict=True):
            if outcome is not None:
                results[arn] = outcome
                del pending[arn]
                finished += 1
        run.advance(finished)
        if finished < len(batch):
            return  # a job still running: the younger ones are too


def fetch_reports(
    clients: Clients,
    arns: Iterable[str],
    settings: EngineSettings = EngineSettings(),
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """A report (the raw response, as the AWS CLI prints it) or a failure for each ARN.

    `clients` gives the IAM client for an account (raising AccountUnavailable when
    it has none). Raises CredentialsMissing when there are no credentials at all,
    and Interrupted on Ctrl-C with what was complete.
    """
    wanted = list(dict.fromkeys(arns))
    results: dict[str, Outcome] = {}
    notes: list[str] = []
    if settings.use_cache:
        for arn in wanted:
            cached = cache.load("reports", _cache_key(arn, settings), CACHE_TTL_SECONDS)
            if isinstance(cached, dict):
                results[arn] = cached
    missing = [arn for arn in wanted if arn not in results]
    run = _Run(len(wanted), len(results), progress)
    run.advance(0)
    by_account: dict[str, list[str]] = {}
    for arn in missing:
        by_account.setdefault(account_of(arn), []).append(arn)
    deadline = time.monotonic() + settings.timeout

    def work(account_id: str) -> None:
        try:
            client = clients(account_id)
        except AccountUnavailable as exc:
            for arn in by_account[account_id]:
                results[arn] = ReportFailure(arn, str(exc))
            run.advance(len(by_account[account_id]))
            return
        _fetch_account(_Account(client, settings, sleep, deadline), by_account[account_id], run, results)

    pool = ThreadPoolExecutor(max_workers=max(1, len(by_account)))
    try:
        for future in [pool.submit(work, account_id) for account_id in by_account]:
            future.result()
    except KeyboardInterrupt:
        run.interrupted.set()
        pool.shutdown(wait=False, cancel_futures=True)
        _store(settings, missing, results, notes)
        partial = {
            arn: results.get(arn) or ReportFailure(arn, "interrupted before its report was complete")
            for arn in wanted
        }
        raise Interrupted(partial) from None
    finally:
        pool.shutdown(wait=False)
    _store(settings, missing, results, notes)
    return Fetched({arn: results[arn] for arn in wanted}, notes)


def _store(
    settings: EngineSettings, arns: list[str], results: Mapping[str, Outcome], notes: list[str]
) -> None:
    """Cache each completed report; a cache that cannot be written is said once, not fatal."""
    if not settings.use_cache:
        return
    for arn in arns:
        outcome = results.get(arn)
        if isinstance(outcome, dict) and outcome.get("JobStatus") == "COMPLETED":
            if not cache.store("reports", _cache_key(arn, settings), dict(outcome)):
                notes.append(
                    f"the report cache in {cache.cache_dir()} cannot be written: reports were not cached"
                )
                return


def only_reports(outcomes: Mapping[str, Outcome]) -> dict[str, dict[str, Any]]:
    return {arn: outcome for arn, outcome in outcomes.items() if isinstance(outcome, dict)}
