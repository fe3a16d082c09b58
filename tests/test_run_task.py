"""`iam-lastused run-task serve` against a stand-in of HCP Terraform on 127.0.0.1: the
plan download checks the bearer token and redirects to an archive URL that refuses
any Authorization header; the callback endpoint records each PATCH."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp import ClientSession, web
from iam_lastused.cli.main import main
from iam_lastused.integrations import run_task

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLAN = (EXAMPLES / "plan" / "plan.json").read_bytes()
ACCESS_DATA = EXAMPLES / "access-data.json"
KEY = b"the-hmac-key"
TOKEN = "4QEuyyxug1f2rw.atlasv1.secret-run-token"
FLAGGED = {
    "aws_iam_role.ci_deployer",
    "module.orders.aws_iam_policy.data_access",
    "module.orders.aws_iam_role.worker",
}
WAIT = 30.0


class StandIn:
    """HCP Terraform, as far as a run task sees it."""

    def __init__(self, plan: bytes = PLAN) -> None:
        self.plan = plan
        self.downloads: list[str | None] = []
        self.archive_auth: list[str] = []
        self.callbacks: list[dict[str, Any]] = []
        self.callback_problems: list[str] = []
        self.final = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.url = ""

    async def plan_json(self, request: web.Request) -> web.StreamResponse:
        self.downloads.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401)
        await self.release.wait()
        raise web.HTTPTemporaryRedirect(f"{self.url}/archive/plan-1?signature=presigned")

    async def archive(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers:
            self.archive_auth.append(request.headers["Authorization"])
            return web.Response(status=400, text="no Authorization here")
        return web.Response(body=self.plan, content_type="application/json")

    async def callback(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.callback_problems.append("bearer")
        if request.headers.get("Content-Type") != "application/vnd.api+json":
            self.callback_problems.append("content type")
        body = await request.json()
        self.callbacks.append(body)
        if body["data"]["attributes"]["status"] != "running":
            self.final.set()
        return web.Response(status=200)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v2/plans/plan-1/json-output", self.plan_json)
        app.router.add_get("/archive/plan-1", self.archive)
        app.router.add_patch("/api/v2/task-results/tr-1/callback", self.callback)
        return app

    @property
    def result(self) -> dict[str, Any]:
        return self.callbacks[-1]["data"]


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def payload(base: str, stage: str = "post_plan", token: str = TOKEN) -> bytes:
    body = {
        "payload_version": 1,
        "stage": stage,
        "access_token": token,
        "capabilities": {"outcomes": True},
        "is_speculative": False,
        "organization_name": "acme",
        "run_id": "run-i3Df5to9ELvibKpQ",
        "run_app_url": "https://app.terraform.io/app/acme/ws/runs/run-i3Df5to9ELvibKpQ",
        "task_result_id": "taskrs-2nH5dncYoXaMVQmJ",
        "task_result_enforcement_level": "mandatory",
        "task_result_callback_url": f"{base}/api/v2/task-results/tr-1/callback",
        "workspace_name": "ws",
    }
    if stage in run_task.PLAN_STAGES:
        body["plan_json_api_url"] = f"{base}/api/v2/plans/plan-1/json-output"
    return json.dumps(body).encode()


def sign(body: bytes, key: bytes = KEY) -> str:
    return hmac.new(key, body, hashlib.sha512).hexdigest()


def settings(base: str, **changes: Any) -> run_task.Settings:
    values: dict[str, Any] = {
        "options": {"access_data": ACCESS_DATA, "no_cache": True},
        "fail_on": "unused",
        "hmac_key": KEY,
        "api_url": base,
        "run_timeout": WAIT,
    }
    return run_task.Settings(**{**values, **changes})


async def _scenario(
    stand_in: StandIn, requests: list[dict[str, Any]], wait: bool = True, **changes: Any
) -> list[int]:
    """Start the stand-in and the server, send `requests` (each: stage, token, signature
    ("good", "bad" or None)), wait for a final callback when `wait`; the answers' statuses."""
    hcp, base = await _start(stand_in.app())
    stand_in.url = base
    server, server_url = await _start(run_task.make_app(settings(base, **changes)))
    statuses = []
    try:
        async with ClientSession() as client:
            for request in requests:
                body = payload(base, request.get("stage", "post_plan"), request.get("token", TOKEN))
                headers = {"Content-Type": "application/json", "User-Agent": "TFC/1.0"}
                if request.get("signature", "good") == "good":
                    headers[run_task.SIGNATURE_HEADER] = sign(body)
                elif request.get("signature") == "bad":
                    headers[run_task.SIGNATURE_HEADER] = sign(body, b"another key")
                async with client.post(server_url, data=body, headers=headers) as answer:
                    statuses.append(answer.status)
        if wait:
            await asyncio.wait_for(stand_in.final.wait(), WAIT)
    finally:
        stand_in.release.set()
        await server.cleanup()
        await hcp.cleanup()
    return statuses


def scenario(stand_in: StandIn, requests: list[dict[str, Any]], **changes: Any) -> list[int]:
    return asyncio.run(_scenario(stand_in, requests, **changes))


@pytest.mark.parametrize("stage", ["post_plan", "pre_apply"])
def test_signed_request_gets_a_callback_with_one_outcome_per_flagged_principal(
    stage: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stand_in = StandIn()
    assert scenario(stand_in, [{"stage": stage}]) == [200]
    assert stand_in.downloads == [f"Bearer {TOKEN}"]
    assert stand_in.archive_auth == []  # the redirect was followed without the token
    assert stand_in.callback_problems == []
    assert stand_in.callbacks[0]["data"]["attributes"]["status"] == "running"
    result = stand_in.result
    assert result["type"] == "task-results"
    assert result["attributes"]["status"] == "failed"
    message = result["attributes"]["message"]
    assert "\n" not in message and len(message) <= run_task.MAX_MESSAGE
    assert "4 never-used and 1 stale" in message
    outcomes = result["relationships"]["outcomes"]["data"]
    assert {o["attributes"]["outcome-id"] for o in outcomes} == FLAGGED
    worker = next(o["attributes"] for o in outcomes if o["attributes"]["outcome-id"].endswith("worker"))
    assert all(o["type"] == "task-result-outcomes" for o in outcomes)
    assert worker["description"] == "role module.orders.aws_iam_role.worker: 2 never used, 0 stale"
    assert "**never used**: <code>dynamodb</code>" in worker["body"]
    assert worker["tags"]["Severity"] == [{"label": "Never used", "level": "error"}]
    assert worker["tags"]["Status"] == [{"label": "Failed", "level": "error"}]
    deployer = next(o["attributes"] for o in outcomes if o["attributes"]["outcome-id"].endswith("deployer"))
    assert [t["label"] for t in deployer["tags"]["Severity"]] == ["Never used", "Stale", "Broad grant"]
    assert TOKEN not in caplog.text and KEY.decode() not in caplog.text


@pytest.mark.parametrize("signature", ["bad", None])
def test_a_bad_or_missing_signature_is_401_and_nothing_is_downloaded(signature: str | None) -> None:
    stand_in = StandIn()
    assert scenario(stand_in, [{"signature": signature}], wait=False) == [401]
    assert stand_in.downloads == [] and stand_in.callbacks == []


def test_without_a_key_an_unsigned_request_is_taken() -> None:
    stand_in = StandIn()
    assert scenario(stand_in, [{"signature": None}], hmac_key=None) == [200]
    assert stand_in.result["attributes"]["status"] == "failed"


def test_the_verification_request_passes_and_starts_nothing() -> None:
    stand_in = StandIn()
    assert scenario(stand_in, [{"token": run_task.VERIFICATION_TOKEN}], wait=False) == [200]
    assert stand_in.downloads == [] and stand_in.callbacks == []


@pytest.mark.parametrize(
    ("fail_on", "status", "levels"),
    [
        ("never", "passed", {"warning"}),
        ("unused", "failed", {"error", "warning"}),
        ("stale", "failed", {"error", "warning"}),
        ("static", "failed", {"error"}),
    ],
)
def test_findings_fail_the_result_only_at_the_fail_on_level(
    fail_on: str, status: str, levels: set[str]
) -> None:
    stand_in = StandIn()
    scenario(stand_in, [{}], fail_on=fail_on)
    assert stand_in.result["attributes"]["status"] == status
    outcomes = stand_in.result["relationships"]["outcomes"]["data"]
    assert {o["attributes"]["outcome-id"] for o in outcomes} == FLAGGED  # outcomes either way
    assert {t["level"] for o in outcomes for t in o["attributes"]["tags"]["Severity"]} == levels


@pytest.mark.parametrize(
    ("plan", "options", "reason"),
    [
        (b"{not json", {}, "not a JSON plan"),
        (b'{"resource_changes": []}', {}, "not a Terraform plan"),
        (PLAN, {"access_data": Path("/nonexistent/access-data.json")}, "access-data"),
    ],
)
def test_an_analysis_that_fails_gives_a_failed_result_saying_why(
    plan: bytes, options: dict[str, Any], reason: str
) -> None:
    stand_in = StandIn(plan)
    scenario(stand_in, [{}], options={"no_cache": True, "access_data": ACCESS_DATA, **options})
    attributes = stand_in.result["attributes"]
    assert attributes["status"] == "failed"
    assert "not analysed" in attributes["message"] and reason in attributes["message"]
    assert stand_in.result["relationships"]["outcomes"]["data"] == []


def test_a_stage_without_a_plan_gets_a_failed_result() -> None:
    stand_in = StandIn()
    scenario(stand_in, [{"stage": "pre_plan"}])
    assert stand_in.downloads == []
    assert "post_plan or pre_apply" in stand_in.result["attributes"]["message"]
    assert stand_in.result["attributes"]["status"] == "failed"


def test_a_run_past_its_timeout_gets_a_failed_result() -> None:
    stand_in = StandIn()
    stand_in.release.clear()  # the download hangs
    scenario(stand_in, [{}], run_timeout=0.5)
    assert stand_in.result["attributes"]["status"] == "failed"
    assert "longer than 0.5 s" in stand_in.result["attributes"]["message"]


def test_a_full_queue_is_answered_503() -> None:
    async def full() -> list[int]:
        stand_in = StandIn()
        stand_in.release.clear()
        hcp, base = await _start(stand_in.app())
        stand_in.url = base
        server, url = await _start(run_task.make_app(settings(base, queue_limit=1, run_timeout=WAIT)))
        statuses = []
        try:
            async with ClientSession() as client:
                for attempt in range(3):
                    body = payload(base)
                    headers = {run_task.SIGNATURE_HEADER: sign(body)}
                    async with client.post(url, data=body, headers=headers) as answer:
                        statuses.append(answer.status)
                    for _ in range(200):  # the first run is taken by the worker before the next is sent
                        if attempt or stand_in.downloads:
                            break
                        await asyncio.sleep(0.01)
            stand_in.release.set()
            await asyncio.wait_for(stand_in.final.wait(), WAIT)
        finally:
            stand_in.release.set()
            await server.cleanup()
            await hcp.cleanup()
        return statuses

    assert asyncio.run(full()) == [200, 200, 503]


def test_urls_outside_the_api_url_are_refused() -> None:
    stand_in = StandIn()
    assert scenario(stand_in, [{}], wait=False, api_url="https://app.terraform.io") == [422]
    assert stand_in.downloads == []


def test_the_signature_check_is_the_documented_one() -> None:
    body = b'{"payload_version": 1}'
    digest = hmac.new(KEY, body, hashlib.sha512).hexdigest()
    assert run_task.signature_ok(KEY, body, digest)
    assert not run_task.signature_ok(KEY, body + b" ", digest)
    assert not run_task.signature_ok(KEY, body, None)
    assert not run_task.signature_ok(KEY, body, "")


def test_without_the_extra_the_command_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import iam_lastused.integrations as integrations

    monkeypatch.setitem(sys.modules, "iam_lastused.integrations.run_task", None)
    monkeypatch.delattr(integrations, "run_task", raising=False)
    assert main(["run-task", "serve", "--access-data", str(ACCESS_DATA)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'iam-lastused[server]'" in err


def test_a_missing_hmac_key_variable_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("IAM_LASTUSED_TEST_NO_SUCH_KEY", raising=False)
    assert main(["run-task", "serve", "--hmac-key-env", "IAM_LASTUSED_TEST_NO_SUCH_KEY"]) == 2
    assert "IAM_LASTUSED_TEST_NO_SUCH_KEY" in capsys.readouterr().err
