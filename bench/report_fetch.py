"""How fast the report engine gets reports, against the fake with a job latency and a
request-rate limit, through real boto3 clients (no network), so botocore's retries
and the engine's pacing both take part.

    python bench/report_fetch.py one-account    # 200 principals: engine vs one at a time
    python bench/report_fetch.py accounts       # 2,000 principals over 10 accounts: vs the ideal
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from botocore.handlers import BUILTIN_HANDLERS
from fake_last_accessed import LastAccessedFake
from iam_lastused.aws import reports
from iam_lastused.aws import session as aws


def _setup(arns: list[str], latency: float, rate: float) -> LastAccessedFake:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ["IAM_LASTUSED_CACHE_DIR"] = tempfile.mkdtemp()
    fake = LastAccessedFake(known_arns=set(arns), latency=latency, rate_limit=rate)
    fake.activity = {arn: {"s3": None, "sqs": None} for arn in arns}
    BUILTIN_HANDLERS.insert(0, ("before-send", fake))
    return fake


def one_account(principals: int, latency: float, rate: float) -> None:
    arns = [f"arn:aws:iam::123456789012:role/bench-{i}" for i in range(principals)]
    fake = _setup(arns, latency, rate)
    client = aws.client(aws.make_session(None, "us-east-1"), "iam", aws.REPORTS_CONFIG)
    settings = reports.EngineSettings(use_cache=False)

    start = time.monotonic()
    concurrent = reports.fetch_reports(lambda account: client, arns, settings).outcomes
    engine_time = time.monotonic() - start
    engine_ok = sum(isinstance(v, dict) for v in concurrent.values())
    engine_throttled = fake.throttled

    start = time.monotonic()
    sequential_ok = 0
    for arn in arns:
        outcome = reports.fetch_reports(lambda account: client, [arn], settings).outcomes[arn]
        sequential_ok += isinstance(outcome, dict)
    sequential_time = time.monotonic() - start

    print(f"principals: {principals}, job latency {latency:g} s, rate limit {rate:g} calls/s")
    print(f"engine:        {engine_time:7.2f} s  ({engine_ok} reports, {engine_throttled} throttled calls)")
    print(f"one at a time: {sequential_time:7.2f} s  ({sequential_ok} reports)")
    print(f"speed-up:      {sequential_time / engine_time:7.1f}x")


def accounts(principals: int, account_count: int, latency: float, rate: float) -> None:
    ids = [f"{100000000000 + n:012d}" for n in range(account_count)]
    arns = [f"arn:aws:iam::{ids[i % account_count]}:role/bench-{i}" for i in range(principals)]
    fake = _setup(arns, latency, rate)
    session = aws.make_session(None, "us-east-1")
    clients = aws.AccountClients(session)
    clients._clients = {account: aws.client(session, "iam", aws.REPORTS_CONFIG) for account in ids}
    settings = reports.EngineSettings(use_cache=False)

    start = time.monotonic()
    fetched = reports.fetch_reports(clients, arns, settings).outcomes
    wall = time.monotonic() - start
    done = sum(isinstance(v, dict) for v in fetched.values())
    per_account = principals / account_count
    ideal = max(latency, 2 * per_account / rate)  # one Generate and one Get per principal
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    calls = len(fake.calls)
    print(f"principals: {principals} over {account_count} accounts, job latency {latency:g} s, "
          f"rate limit {rate:g} calls/s per account")
    print(f"wall time:   {wall:7.2f} s  ({done} reports; {calls} calls, {fake.throttled} throttled)")
    print(f"ideal:       {ideal:7.2f} s  (the larger of one job latency and calls / rate per account)")
    print(f"ratio:       {wall / ideal:7.2f}x  (target <= 1.5x)")
    print(f"peak memory: {peak_mb:7.1f} MB (target < 300 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=["one-account", "accounts"], nargs="?", default="one-account")
    parser.add_argument("--principals", type=int)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--latency", type=float, default=None, help="seconds a job takes")
    parser.add_argument("--rate", type=float, default=None, help="calls per second before throttling")
    args = parser.parse_args()
    if args.scenario == "one-account":
        one_account(args.principals or 200, args.latency or 1.0, args.rate or 50.0)
    else:
        accounts(args.principals or 2000, args.accounts, args.latency or 5.0, args.rate or 20.0)


if __name__ == "__main__":
    main()
