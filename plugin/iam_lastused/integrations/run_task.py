"""An HCP Terraform (and Terraform Enterprise) run task: a small aiohttp server.

HCP Terraform POSTs a run-task request (payload version 1) at `post_plan` or
`pre_apply`; the server checks `X-TFC-Task-Signature` (the HMAC-SHA512 hex digest of
the raw body, compared in constant time) when a key is set, answers 200 at once, and
queues the run. A worker then downloads the plan JSON from `plan_json_api_url` with
the request's `access_token` (HCP Terraform answers with a redirect to its archive,
which is followed *without* the token), analyses it through `api.plan` with the
server's options, and PATCHes `task_result_callback_url` with a JSON:API
`task-results` body: `passed` or `failed` (failed only on findings at `--fail-on`),
a one-line message and one outcome per principal with findings.

Bounds: a queue of `queue_limit` runs (a request past it is answered 503, so HCP
Terraform retries it later), `workers` runs at a time, `run_timeout` seconds per run
(then a `failed` result is sent; the worker slot stays taken until the analysis thread
ends, so the bound holds), a cap on the plan's size. Any failure of a run is a `failed`
result saying why, never silence. Tokens, keys and signatures are never logged.

HCP Terraform's documented limits (run tasks integration API): an outcome's body under
1 MB recommended, 5 MB at most; a progress update within 10 minutes and a result within
60. It documents no limit on the message or the number of outcomes: this caps the
message at 500 characters, outcomes at 100 and the whole callback at under 1 MB.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from iam_lastused import api
from iam_lastused.model import PrincipalResult, RunResult
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.markdown import principal_body

log = logging.getLogger("iam_lastused.run_task")

SIGNATURE_HEADER = "X-TFC-Task-Signature"
JSON_API = "application/vnd.api+json"
VERIFICATION_TOKEN = "test-token"  # the access token of the request sent when a run task is created
PLAN_STAGES = ("post_plan", "pre_apply")
MAX_MESSAGE = 500
MAX_OUTCOMES = 100
MAX_DESCRIPTION = 200
MAX_OUTCOME_BODY = 64_000
MAX_CALLBACK_BYTES = 900_000
HTTP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Settings:
    """What the server is asked to do. `options` are `api.plan`'s keyword options
    (access_data, stale_days, assume_role_arn, suppress, ...); `api_url` the HCP
    Terraform (or Terraform Enterprise) address that plan and callback URLs must lie under."""

    options: Mapping[str, Any] = field(default_factory=dict)
    fail_on: str = "never"
    hmac_key: bytes | None = None
    api_url: str = "https://app.terraform.io"
    queue_limit: int = 16
    workers: int = 1
    run_timeout: float = 540.0
    max_plan_bytes: int = 256 * 1024 * 1024


class RunFailure(Exception):
    """A run that cannot be analysed; its message goes into the `failed` result."""


@dataclass(frozen=True)
class Job:
    run_id: str
    stage: str
    access_token: str
    callback_url: str
    plan_url: str | None

    def __repr__(self) -> str:  # never the token
        return f"Job(run_id={self.run_id!r}, stage={self.stage!r})"


def signature_ok(key: bytes, body: bytes, given: str | None) -> bool:
    """Whether `given` is the HMAC-SHA512 hex digest of `body` under `key` (constant time)."""
    expected = hmac.new(key, body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected.encode(), (given or "").strip().lower().encode())


def _one_line(text: str, limit: int) -> str:
    line = " ".join(terminal_safe(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _under(url: str, base: str) -> bool:
    """Whether `url` is on the same scheme, host and port as `base`, under its path."""
    try:
        target, root = URL(url), URL(base)
    except (ValueError, TypeError):
        return False
    return (
        target.scheme == root.scheme
        and target.host == root.host
        and target.port == root.port
        and target.path.startswith(root.path.rstrip("/") + "/")
    )


# --- the result -------------------------------------------------------------------


def _kinds(result: PrincipalResult) -> list[str]:
    kinds = [state for state in ("unused", "stale") if result.namespaces_in(state)]
    return [*kinds, "static"] if result.static else kinds


_LABELS = {"unused": "Never used", "stale": "Stale", "static": "Broad grant"}


def _outcome(result: PrincipalResult, run: RunResult, fail_on: str) -> dict[str, Any]:
    principal = result.principal
    levels = api.FAIL_LEVELS[fail_on]
    kinds = _kinds(result)
    failing = any(kind in levels for kind in kinds)
    counts = [
        f"{len(result.namespaces_in('unused'))} never used",
        f"{len(result.namespaces_in('stale'))} stale",
    ]
    if result.static:
        counts.append(f"{len(result.static)} broad grant{'s' if len(result.static) != 1 else ''}")
    body = "".join(principal_body(result, run, None))
    if len(body.encode()) > MAX_OUTCOME_BODY:
        cut = body.encode()[:MAX_OUTCOME_BODY].decode(errors="ignore")
        body = cut + "\n\n_(cut to stay within the size limit)_\n"
    return {
        "type": "task-result-outcomes",
        "attributes": {
            "outcome-id": _one_line(principal.address, MAX_DESCRIPTION),
            "description": _one_line(
                f"{principal.kind} {principal.address}: {', '.join(counts)}", MAX_DESCRIPTION
            ),
            "body": body,
            "tags": {
                "Status": [
                    {"label": "Failed", "level": "error"} if failing else {"label": "Passed", "level": "info"}
                ],
                "Severity": [
                    {"label": _LABELS[kind], "level": "error" if kind in levels else "warning"}
                    for kind in kinds
                ],
            },
        },
    }


def task_result(run: RunResult, fail_on: str) -> dict[str, Any]:
    """The JSON:API `task-results` body for an analysed plan."""
    flagged = [p for p in run.principals if _kinds(p)]
    failed = api.has_findings(run, fail_on)
    outcomes: list[dict[str, Any]] = []
    size = 0
    for principal in flagged[:MAX_OUTCOMES]:
        outcome = _outcome(principal, run, fail_on)
        size += len(json.dumps(outcome).encode())
        if size > MAX_CALLBACK_BYTES:
            break
        outcomes.append(outcome)
    unused = sum(len(p.namespaces_in("unused")) for p in run.principals)
    stale = sum(len(p.namespaces_in("stale")) for p in run.principals)
    broad = sum(len(p.static) for p in run.principals)
    analysed = sum(1 for p in run.principals if p.status == "analyzed")
    if flagged:
        message = (
            f"{unused} never-used and {stale} stale service grants, {broad} broad grants, in "
            f"{len(flagged)} of {len(run.principals)} principals ({analysed} analysed; fail-on {fail_on})"
        )
    else:
        message = f"no finding in {len(run.principals)} principals ({analysed} analysed)"
    if len(outcomes) < len(flagged):
        message += f"; {len(flagged) - len(outcomes)} more principals left out of the outcomes"
    if run.errors:
        message += f"; {len(run.errors)} errors reading the plan"
    return _result("failed" if failed else "passed", message, outcomes)


def _result(status: str, message: str, outcomes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "task-results",
        "attributes": {"status": status, "message": _one_line(f"iam-lastused: {message}", MAX_MESSAGE)},
    }
    if outcomes is not None:
        data["relationships"] = {"outcomes": {"data": outcomes}}
    return {"data": data}


def failed_result(reason: str) -> dict[str, Any]:
    return _result("failed", f"the plan was not analysed: {reason}", [])


# --- the worker -------------------------------------------------------------------


class RunTaskServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=settings.queue_limit)
        self.session: aiohttp.ClientSession | None = None
        self.workers: list[asyncio.Task[None]] = []
        self.empty_dir = tempfile.TemporaryDirectory(prefix="iam-lastused-run-task-")

    # the HTTP side

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = self.settings.hmac_key
        if key is not None and not signature_ok(key, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("request refused: missing or bad %s", SIGNATURE_HEADER)
            return web.Response(status=401, text="bad or missing signature\n")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return web.Response(status=400, text="not JSON\n")
        if not isinstance(payload, dict) or payload.get("payload_version") != 1:
            return web.Response(status=422, text="payload_version 1 is the only one read\n")
        token, callback = payload.get("access_token"), payload.get("task_result_callback_url")
        if token == VERIFICATION_TOKEN:
            log.info("verification request answered")
            return web.Response(status=200)
        stage, run_id = str(payload.get("stage", "")), str(payload.get("run_id", ""))
        plan_url = payload.get("plan_json_api_url")
        if not isinstance(token, str) or not token or not isinstance(callback, str):
            return web.Response(status=422, text="access_token and task_result_callback_url are needed\n")
        urls = [callback, *([plan_url] if isinstance(plan_url, str) else [])]
        if not all(_under(url, self.settings.api_url) for url in urls):
            log.warning("run %s refused: a URL is not under %s", _one_line(run_id, 40), self.settings.api_url)
            return web.Response(status=422, text="callback and plan URLs must be under the API URL\n")
        job = Job(run_id, stage, token, callback, plan_url if isinstance(plan_url, str) else None)
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            log.warning("run %s refused: queue full (%d)", _one_line(run_id, 40), self.settings.queue_limit)
            return web.Response(status=503, text="busy: queue full\n", headers={"Retry-After": "30"})
        log.info("run %s queued (%s)", _one_line(run_id, 40), _one_line(stage, 20))
        return web.Response(status=200)

    # the background side

    async def start(self, _app: web.Application) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT))
        self.workers = [asyncio.create_task(self._work()) for _ in range(self.settings.workers)]

    async def stop(self, _app: web.Application) -> None:
        for worker in self.workers:
            worker.cancel()
        for worker in self.workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if self.session is not None:
            await self.session.close()
        self.empty_dir.cleanup()

    async def _work(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self.process(job)
            except Exception as exc:  # a bug: said in the log, and the next job goes on
                log.error("run %s: internal error: %s", _one_line(job.run_id, 40), type(exc).__name__)
            finally:
                self.queue.task_done()

    async def process(self, job: Job) -> None:
        if job.stage not in PLAN_STAGES or job.plan_url is None:
            stage = job.stage or "no stage"
            reason = f"iam-lastused checks plans: attach it at post_plan or pre_apply, not {stage}"
            await self._callback(job, failed_result(reason))
            return
        await self._callback(job, _result("running", "analysing the plan"))
        started: list[asyncio.Future[RunResult]] = []

        async def steps() -> RunResult:
            plan = await self._download(job)
            started.append(asyncio.ensure_future(asyncio.to_thread(self._analyse, plan)))
            return await asyncio.shield(started[0])

        try:
            result = await asyncio.wait_for(steps(), self.settings.run_timeout)
            body = task_result(result, self.settings.fail_on)
        except asyncio.TimeoutError:
            body = failed_result(f"the analysis took longer than {self.settings.run_timeout:g} s")
        except RunFailure as exc:
            body = failed_result(str(exc))
        except Exception as exc:
            body = failed_result(f"internal error: {type(exc).__name__}: {_one_line(str(exc), 200)}")
        await self._callback(job, body)
        log.info("run %s: %s", _one_line(job.run_id, 40), body["data"]["attributes"]["status"])
        for analysis in started:  # the worker's slot stays taken until the thread ends
            with contextlib.suppress(Exception):
                await analysis

    async def _download(self, job: Job) -> bytes:
        assert self.session is not None and job.plan_url is not None
        headers = {"Authorization": f"Bearer {job.access_token}"}
        try:
            async with self.session.get(job.plan_url, headers=headers, allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308):
                    location = response.headers.get("Location", "")
                    target = response.url.join(URL(location))
                    if target.scheme not in ("https", URL(self.settings.api_url).scheme):
                        raise RunFailure("the plan's redirect is not to an https URL")
                    # the archive URL is pre-signed: the token is not sent there
                    async with self.session.get(target) as archived:
                        return await self._read(archived)
                return await self._read(response)
        except aiohttp.ClientError as exc:
            raise RunFailure(f"cannot download the plan: {type(exc).__name__}") from None

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        if response.status != 200:
            raise RunFailure(f"cannot download the plan: HTTP {response.status}")
        limit = self.settings.max_plan_bytes
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > limit:
                raise RunFailure(f"the plan is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _analyse(self, plan: bytes) -> RunResult:
        try:
            loaded = api.load_plan(plan)
        except api.UsageError as exc:
            raise RunFailure(str(exc)) from None
        empty = Path(self.empty_dir.name)  # no configuration to read: file:line are the plan's
        options = {**self.settings.options, "root": empty}
        try:
            return api.plan(loaded, chdir=empty, **options)
        except api.UsageError as exc:
            raise RunFailure(str(exc)) from None

    async def _callback(self, job: Job, body: dict[str, Any]) -> None:
        assert self.session is not None
        headers = {"Authorization": f"Bearer {job.access_token}", "Content-Type": JSON_API}
        try:
            async with self.session.patch(
                job.callback_url, data=json.dumps(body), headers=headers, allow_redirects=False
            ) as response:
                if response.status >= 300:
                    run_id = _one_line(job.run_id, 40)
                    log.warning("run %s: callback answered HTTP %d", run_id, response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("run %s: callback failed: %s", _one_line(job.run_id, 40), type(exc).__name__)


def make_app(settings: Settings) -> web.Application:
    """The run task's web application: POST / (and any path) takes run-task requests."""
    server = RunTaskServer(settings)
    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/{tail:.*}", server.handle)
    app.on_startup.append(server.start)
    app.on_cleanup.append(server.stop)
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    logging.basicConfig(level=logging.INFO, format="iam-lastused run-task: %(message)s")
    if settings.hmac_key is None:
        log.warning("no HMAC key: requests are not authenticated (use --hmac-key-env NAME)")
    web.run_app(make_app(settings), host=host, port=port, print=None, access_log=None)
