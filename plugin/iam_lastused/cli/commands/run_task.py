"""`iam-lastused run-task serve`: the HCP Terraform run task server
(integrations/run_task.py), on the optional extra `iam-lastused[server]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from iam_lastused import api
from iam_lastused.cli import output
from iam_lastused.options import default


def run(args: argparse.Namespace) -> int:
    try:
        from iam_lastused.integrations import run_task
    except ImportError:
        print("iam-lastused: run-task needs the server extra: pip install 'iam-lastused[server]'",
              file=sys.stderr)
        return output.EXIT_USAGE
    key: bytes | None = None
    if args.hmac_key_env:
        value = os.environ.get(args.hmac_key_env)
        if not value:
            raise api.UsageError(f"--hmac-key-env {args.hmac_key_env}: that environment variable is not set")
        key = value.encode()
    options = output.options(args)
    options.pop("progress")
    if isinstance(options["access_data"], Path):  # a file or directory: s3:// stays as it is
        options["access_data"] = options["access_data"].resolve()
    settings = run_task.Settings(
        options=options,
        fail_on=args.fail_on,
        hmac_key=key,
        api_url=args.api_url.rstrip("/"),
        queue_limit=args.queue_limit,
        workers=args.workers,
        run_timeout=args.run_timeout,
    )
    run_task.serve(settings, args.host, args.port)
    return output.EXIT_OK


def add_parser(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """`run-task serve` and its options, besides its analyses' (`common`); returns `serve`."""
    task = commands.add_parser("run-task", help="an HCP Terraform run task: run-task serve")
    actions = task.add_subparsers(dest="run_task_action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve", parents=[common], help="serve HCP Terraform run-task requests (needs iam-lastused[server])",
        description="Answer HCP Terraform run-task requests at post_plan or pre_apply: each run's plan is "
        "analysed as `iam-lastused plan` does, and the result sent back (failed on findings at --fail-on).",
    )
    serve.add_argument("--host", default=default("host"),
                       help=f"address to listen on (default {default('host')})")
    serve.add_argument("--port", type=int, default=default("port"),
                       help=f"port to listen on (default {default('port')})")
    serve.add_argument("--hmac-key-env", metavar="NAME",
                       help="the environment variable holding the run task's HMAC key; requests must then "
                       "carry its X-TFC-Task-Signature")
    serve.add_argument("--api-url", default=default("api-url"), metavar="URL",
                       help="HCP Terraform or Terraform Enterprise; plan and callback URLs must be under it "
                       f"(default {default('api-url')})")
    serve.add_argument("--queue-limit", type=int, default=default("queue-limit"), metavar="N",
                       help="runs waiting at most; past it a request is answered 503 "
                       f"(default {default('queue-limit')})")
    serve.add_argument("--workers", type=int, default=default("workers"), metavar="N",
                       help=f"runs analysed at once (default {default('workers')})")
    serve.add_argument("--run-timeout", type=float, default=default("run-timeout"), metavar="SECONDS",
                       help="a run not done after this long gets a failed result "
                       f"(default {default('run-timeout'):g})")
    return serve
