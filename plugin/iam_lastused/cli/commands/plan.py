"""`iam-lastused plan PLAN`: a Terraform plan, and with `--format plan` its text annotated."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from iam_lastused import api
from iam_lastused.cli import output


def _read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as exc:
        raise api.UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _from_stdin() -> dict[str, Any]:
    """`terraform show -json plan | iam-lastused plan -`."""
    try:
        return api.load_plan(sys.stdin.buffer.read())
    except api.UsageError as exc:
        raise api.UsageError(f"stdin: {exc}") from None


def run(args: argparse.Namespace) -> int:
    text = _read_text(args.plan_text)
    if args.format == "plan" and text is None:
        raise api.UsageError("--format plan needs terraform's plan text: give --plan-text FILE")
    plan: Path | dict[str, Any] = _from_stdin() if str(args.plan) == "-" else args.plan
    with output.progress(args) as progress:
        result = api.plan(plan, chdir=args.chdir, **output.options(args, progress))
    output.report(args, result, plan_text=text)
    return output.exit_code(result, args.fail_on)
