"""How long one HCP Terraform run-task request takes, from receipt to the final callback,
for a plan of 500 IAM resources (bench/plan.py's generator) with an access-data file
holding a report for each of its deployed principals. HCP Terraform is a stand-in on
127.0.0.1: the plan download redirects to an archive URL, the callback is recorded.

    python bench/run_task.py [--changes 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from iam_lastused.integrations import run_task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan import SERVICES, make_plan

KEY, TOKEN = b"bench-key", "bench-token"


def access_data(plan: dict[str, Any]) -> dict[str, Any]:
    """A completed report for every ARN the plan knows: the first two services used."""
    arns = {
        change["change"]["after"]["arn"]
        for change in plan["resource_changes"]
        if change["type"] in ("aws_iam_role", "aws_iam_policy")
        and (change["change"]["after"] or {}).get("arn")
    }
    services = [
        {"ServiceName": name, "ServiceNamespace": name, "TotalAuthenticatedEntities": 1 if i < 2 else 0,
         **({"LastAuthenticated": "2026-01-01T00:00:00+00:00"} if i < 2 else {})}
        for i, name in enumerate(SERVICES)
    ]
    report = {"JobStatus": "COMPLETED", "JobType": "SERVICE_LEVEL", "IsTruncated": False,
              "JobCreationDate": "2026-01-02T00:00:00+00:00",
              "JobCompletionDate": "2026-01-02T00:00:05+00:00",
              "ServicesLastAccessed": services}
    return {arn: report for arn in sorted(arns)}


async def one_run(body_plan: bytes, data_file: Path) -> float:
    done = asyncio.Event()
    results: list[dict[str, Any]] = []

    async def plan_json(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"{base}/archive")

    async def archive(request: web.Request) -> web.Response:
        return web.Response(body=body_plan, content_type="application/json")

    async def callback(request: web.Request) -> web.Response:
        body = await request.json()
        if body["data"]["attributes"]["status"] != "running":
            results.append(body)
            done.set()
        return web.Response()

    hcp = web.Application()
    hcp.router.add_get("/plan", plan_json)
    hcp.router.add_get("/archive", archive)
    hcp.router.add_patch("/callback", callback)
    runners = []
    urls = []
    settings = None
    for app in (hcp, None):
        if app is None:
            settings = run_task.Settings(
                options={"access_data": data_file, "no_cache": True}, fail_on="unused", hmac_key=KEY,
                api_url=urls[0],
            )
            app = run_task.make_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        runners.append(runner)
        urls.append(f"http://{host}:{port}")
    base = urls[0]
    request = json.dumps({
        "payload_version": 1, "stage": "post_plan", "access_token": TOKEN, "run_id": "run-bench",
        "task_result_callback_url": f"{base}/callback", "plan_json_api_url": f"{base}/plan",
    }).encode()
    signature = hmac.new(KEY, request, hashlib.sha512).hexdigest()
    try:
        async with ClientSession() as client:
            started = time.perf_counter()
            headers = {run_task.SIGNATURE_HEADER: signature}
            async with client.post(urls[1], data=request, headers=headers) as answer:
                assert answer.status == 200, answer.status
            await asyncio.wait_for(done.wait(), 600)
            elapsed = time.perf_counter() - started
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
    attributes = results[0]["data"]["attributes"]
    outcomes = len(results[0]["data"]["relationships"]["outcomes"]["data"])
    print(f"  {elapsed:6.3f} s  {attributes['status']}, {outcomes} outcomes: {attributes['message'][:90]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    plan = make_plan(args.changes * 2)
    iam = [c for c in plan["resource_changes"] if c["type"].startswith("aws_iam_")]
    plan["resource_changes"] = iam[: args.changes]
    body = json.dumps(plan).encode()
    with tempfile.TemporaryDirectory() as scratch:
        data_file = Path(scratch) / "access-data.json"
        data = access_data(plan)
        data_file.write_text(json.dumps(data))
        print(f"{len(plan['resource_changes'])} IAM resource changes "
              f"({len(body) / 1e6:.2f} MB of plan JSON), "
              f"{len(data)} reports in the access data")
        times = [asyncio.run(one_run(body, data_file)) for _ in range(args.runs)]
    print(f"receipt to callback: median {statistics.median(times):.3f} s, best {min(times):.3f} s "
          f"of {args.runs} runs")


if __name__ == "__main__":
    main()
