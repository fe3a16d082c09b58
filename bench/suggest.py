"""How long `--suggest=patch` takes on a large tree, and whether its patch clears it.

Generates a Terraform tree of roles, one file each, every role with an inline policy of
three statements (one used, one partly used, one never used), a second inline policy that
is never used, and an AWS managed policy attachment; writes access data for them; then
times the scan, the suggestions and the patch, checks the patch with `git apply --check`,
applies it and scans again.

    python bench/suggest.py [--roles 500]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from iam_lastused.analysis.analyze import analyze
from iam_lastused.aws.managed_policies import documents_from_access_data, with_documents
from iam_lastused.model import RunResult
from iam_lastused.render.suggestions import render_patch
from iam_lastused.resolve import Account, with_arns
from iam_lastused.sources import scan_paths
from iam_lastused.store.access_data import report_from_response
from iam_lastused.suggest.edits import suggest

ACCOUNT = "111122223333"
MANAGED = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"

ROLE_FILE = """\
resource "aws_iam_role" "role_{index}" {{
  name               = "bench-{index}"
  assume_role_policy = "{{}}"
}}

resource "aws_iam_role_policy" "main_{index}" {{
  role = aws_iam_role.role_{index}.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "*"
      }},
      {{
        Effect   = "Allow"
        Action   = ["logs:PutLogEvents", "dynamodb:GetItem"]
        Resource = "*"
      }},
      {{
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = "*"
      }},
    ]
  }})
}}

resource "aws_iam_role_policy" "old_{index}" {{
  role = aws_iam_role.role_{index}.id
  policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = ["sns:Publish"], Resource = "*" }}]
  }})
}}

resource "aws_iam_role_policy_attachment" "queues_{index}" {{
  role       = aws_iam_role.role_{index}.name
  policy_arn = "{managed}"
}}
"""


def service(namespace: str, last: datetime | None) -> dict:
    entry = {"ServiceName": namespace, "ServiceNamespace": namespace}
    return {**entry, "LastAuthenticated": last.isoformat()} if last else entry


def access_data(roles: int, now: datetime) -> dict:
    used = now - timedelta(days=1)
    activity = {"s3": used, "logs": used, "sqs": used, "dynamodb": None, "kms": None, "sns": None}
    data: dict = {
        f"arn:aws:iam::{ACCOUNT}:role/bench-{index}": {
            "JobStatus": "COMPLETED",
            "ServicesLastAccessed": [service(n, last) for n, last in activity.items()],
        }
        for index in range(roles)
    }
    document = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["sqs:ListQueues"], "Resource": "*"}]}
    data[MANAGED] = {"PolicyVersion": {"Document": document}}
    return data


def run(tree: Path, data: dict, now: datetime) -> RunResult:
    found = scan_paths([tree])
    principals = with_arns(found.principals, Account("aws", ACCOUNT), "")
    principals = with_documents(principals, documents_from_access_data(data))
    outcomes = {arn: report_from_response(arn, raw) for arn, raw in data.items() if "JobStatus" in raw}
    return RunResult(90, now, analyze(principals, outcomes, now, 90), found.errors, found.notes)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--roles", type=int, default=500)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    data = access_data(args.roles, now)
    with tempfile.TemporaryDirectory() as directory:
        tree = Path(directory)
        for index in range(args.roles):
            (tree / f"role_{index}.tf").write_text(ROLE_FILE.format(index=index, managed=MANAGED))
        subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
        (tree / "access.json").write_text(json.dumps(data))

        start = time.perf_counter()
        result = run(tree, data, now)
        scanned = time.perf_counter()
        suggestions = suggest(result, "service")
        suggested = time.perf_counter()
        patch = render_patch(suggestions, tree)
        patched = time.perf_counter()

        subprocess.run(["git", "apply", "--check"], cwd=tree, input=patch.encode(), check=True)
        subprocess.run(["git", "apply"], cwd=tree, input=patch.encode(), check=True)
        after = run(tree, data, now)
        left = sum(len(p.findings()) for p in after.principals)
        before = sum(len(p.findings()) for p in result.principals)

    removed = sum(1 for p in suggestions.policies if p.removed)
    print(f"roles: {args.roles}, statements judged: {len(suggestions.statements)}, "
          f"files changed: {len(suggestions.files)}, policies removed whole: {removed}")
    print(f"scan and analysis: {scanned - start:.2f} s")
    print(f"suggestions (verdicts and edits): {suggested - scanned:.2f} s")
    print(f"patch text: {patched - suggested:.2f} s ({len(patch) / 1e6:.1f} MB)")
    print(f"git apply --check: accepted; findings before: {before}, after applying: {left}")


if __name__ == "__main__":
    main()
