"""How fast the report engine gets 200 reports, against one-at-a-time.

Both run against the test suite's last-accessed fake (no network), with a job
latency and a request-rate limit, through a real boto3 client, so botocore's
retries and the engine's pacing both take part.

    python bench/report_fetch.py [--principals 200] [--latency 1.0] [--rate 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from botocore.handlers import BUILTIN_HANDLERS
from fake_last_accessed import LastAccessedFake
from iam_lastused import reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--principals", type=int, default=200)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds a job takes")
    parser.add_argument("--rate", type=float, default=50.0, help="calls per second before throttling")
    args = parser.parse_args()

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ["IAM_LASTUSED_CACHE_DIR"] = tempfile.mkdtemp()
    arns = [f"arn:aws:iam::123456789012:role/bench-{i}" for i in range(args.principals)]
    fake = LastAccessedFake(known_arns=set(arns), latency=args.latency, rate_limit=args.rate)
    fake.activity = {arn: {"s3": None, "sqs": None} for arn in arns}
    BUILTIN_HANDLERS.insert(0, ("before-send", fake))
    client = reports.iam_client(reports.make_session(None, "us-east-1"))
    settings = reports.EngineSettings(use_cache=False)

    start = time.monotonic()
    concurrent = reports.fetch_reports(client, arns, settings)
    engine_time = time.monotonic() - start
    engine_ok = sum(isinstance(v, dict) for v in concurrent.values())
    engine_throttled = fake.throttled

    start = time.monotonic()
    sequential_ok = 0
    for arn in arns:
        outcome = reports.fetch_reports(client, [arn], settings)[arn]
        sequential_ok += isinstance(outcome, dict)
    sequential_time = time.monotonic() - start

    print(f"principals: {args.principals}, job latency {args.latency:g} s, rate limit {args.rate:g} calls/s")
    print(f"engine:        {engine_time:7.2f} s  ({engine_ok} reports, {engine_throttled} throttled calls)")
    print(f"one at a time: {sequential_time:7.2f} s  ({sequential_ok} reports)")
    print(f"speed-up:      {sequential_time / engine_time:7.1f}x")


if __name__ == "__main__":
    main()
