"""`iam-lastused run-task serve`: the HCP Terraform run task server
(integrations/run_task.py), on the optional extra `iam-lastused[server]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from iam_lastused import api
from iam_lastused.cli import output
from iam_lastused.cli.arguments import add_options

OPTIONS = ("host", "port", "hmac-key-env", "api-url", "queue-limit", "workers", "run-timeout")
"""The server's own options, besides its analyses'."""


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
    add_options(serve, OPTIONS, "serve")
    return serve
