"""How long a sweep of several accounts takes, against the ideal client on the same fake:
moto's IAM and STS (each account reached through an assumed role, its principals listed,
its policies read), the suite's last-accessed fake with a job latency and a per-account
request-rate limit, and a store in a temporary directory. Real boto3 clients, no network.

    python bench/sweep.py                                  # 5 accounts x 100 roles
    python bench/sweep.py --accounts 10 --roles 200 --latency 5 --rate 20

The ideal client knows the rate limit and the latency: per account it spends one
Generate and one Get call per principal at exactly the rate, and no less than one job's
latency; accounts in parallel. Listing and writing are not in it, so the ratio charges
the sweep for them; the same principals' reports fetched alone, as a run fetches them,
show what the engine itself takes.
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

import boto3
from botocore.handlers import BUILTIN_HANDLERS
from fake_last_accessed import LastAccessedFake
from iam_lastused.aws import reports
from iam_lastused.aws import session as aws
from iam_lastused.usage.sweep import run_sweep
from moto import mock_aws
from moto.core.models import botocore_stubber

TEMPLATE = "arn:aws:iam::{account_id}:role/iam-lastused-sweep"


def _iam_in(account: str):
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="bench-setup"
    )["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def bench(account_count: int, roles: int, latency: float, rate: float) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ["IAM_LASTUSED_CACHE_DIR"] = tempfile.mkdtemp()
    ids = [f"{100000000000 + n:012d}" for n in range(account_count)]
    with mock_aws(), tempfile.TemporaryDirectory() as store:
        arns = []
        for account in ids:
            iam = _iam_in(account)
            arns += [
                iam.create_role(RoleName=f"bench-{i}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
                for i in range(roles)
            ]
        fake = LastAccessedFake(known_arns=set(arns), latency=latency, rate_limit=rate)
        fake.activity = {arn: {"s3": None, "sqs": None} for arn in arns}
        index = next(i for i, (_, hook, *_) in enumerate(BUILTIN_HANDLERS) if hook is botocore_stubber)
        BUILTIN_HANDLERS[index] = ("before-send", lambda **kw: fake(**kw) or botocore_stubber(**kw))
        try:
            start = time.monotonic()
            mine, swept = run_sweep(store, accounts=ids, assume_role_arn=TEMPLATE)
            wall = time.monotonic() - start
            calls, throttled = len(fake.calls), fake.throttled
            time.sleep(1.0)  # a fresh rate window
            clients = aws.AccountClients(aws.make_session(None, "us-east-1"), TEMPLATE, role="sweep")
            start = time.monotonic()
            reports.fetch_reports(clients, arns, reports.EngineSettings(use_cache=False))
            engine = time.monotonic() - start
        finally:
            BUILTIN_HANDLERS[index] = ("before-send", botocore_stubber)
        written = sum(1 for _ in Path(store).rglob("*.json"))
    ideal = max(latency, 2 * roles / rate)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"accounts: {account_count} x {roles} roles, job latency {latency:g} s, "
          f"rate limit {rate:g} calls/s per account")
    print(f"sweep:       {wall:7.2f} s  ({len(swept.written)} of {len(mine)} accounts written, {written} "
          f"snapshots, {sum(swept.reports.values())} reports; {calls} report calls, {throttled} throttled)")
    print(f"reports:     {engine:7.2f} s  (the same principals' reports alone, as a run fetches them)")
    print(f"ideal:       {ideal:7.2f} s  (the larger of one job latency and calls / rate per account)")
    print(f"ratio:       {wall / ideal:7.2f}x")
    print(f"peak memory: {peak_mb:7.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--roles", type=int, default=100, help="roles per account")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds a job takes")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="calls per second per account before throttling")
    args = parser.parse_args()
    bench(args.accounts, args.roles, args.latency, args.rate)


if __name__ == "__main__":
    main()
