"""How fast the plan source reads a large plan (target: under 2 s for 5,000 changes).

Generates a plan JSON with --changes resource changes, in modules with for_each
keys: per service a role, an inline role policy, a managed policy and its
attachment (mostly no-op, some updated, some created with values known only
after apply), and one S3 bucket in ten. Then times json.loads and read_plan.

    python bench/plan.py [--changes 5000]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from iam_lastused.sources.plan.read import read_plan

ACCOUNT = "111122223333"
SERVICES = ["s3", "sqs", "sns", "dynamodb", "kms", "logs", "lambda", "ecs", "ec2", "ses"]


def document(index: int, extra: int = 0) -> str:
    statements = [
        {
            "Sid": f"S{n}",
            "Effect": "Allow",
            "Action": [
                f"{SERVICES[(index + n) % len(SERVICES)]}:Get*",
                f"{SERVICES[(index + n) % len(SERVICES)]}:List*",
            ],
            "Resource": "*",
        }
        for n in range(3 + extra)
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def change(
    module: str,
    resource_type: str,
    name: str,
    actions: list[str],
    before: Any,
    after: Any,
    unknown: Any = None,
) -> dict[str, Any]:
    return {
        "address": f"{module}.{resource_type}.{name}",
        "module_address": module,
        "mode": "managed",
        "type": resource_type,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": unknown or {}},
    }


def service_changes(index: int) -> list[dict[str, Any]]:
    module = f'module.svc["svc{index}"]'
    name = f"svc{index}"
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}-data"
    if index % 20 == 0:  # created: ARNs and the attachment's target known only after apply
        role_after = {"name": name, "path": "/service/", "arn": None, "id": None}
        return [
            change(module, "aws_iam_role", "this", ["create"], None, role_after, {"arn": True, "id": True}),
            change(
                module,
                "aws_iam_role_policy",
                "inline",
                ["create"],
                None,
                {"role": None, "policy": document(index)},
                {"role": True},
            ),
            change(
                module,
                "aws_iam_policy",
                "data",
                ["create"],
                None,
                {"name": f"{name}-data", "arn": None, "policy": document(index + 1)},
                {"arn": True},
            ),
            change(
                module,
                "aws_iam_role_policy_attachment",
                "data",
                ["create"],
                None,
                {"role": name, "policy_arn": None},
                {"policy_arn": True},
            ),
        ]
    role = {
        "name": name,
        "path": "/service/",
        "arn": f"arn:aws:iam::{ACCOUNT}:role/service/{name}",
        "id": name,
    }
    inline_before = {"role": name, "name": "inline", "policy": document(index)}
    updated = index % 5 == 0
    inline_after = {**inline_before, "policy": document(index, extra=1)} if updated else inline_before
    data = {"name": f"{name}-data", "arn": policy_arn, "policy": document(index + 1)}
    attachment = {"role": name, "policy_arn": policy_arn}
    return [
        change(module, "aws_iam_role", "this", ["no-op"], role, role),
        change(
            module,
            "aws_iam_role_policy",
            "inline",
            ["update" if updated else "no-op"],
            inline_before,
            inline_after,
        ),
        change(module, "aws_iam_policy", "data", ["no-op"], data, data),
        change(module, "aws_iam_role_policy_attachment", "data", ["no-op"], attachment, attachment),
    ]


def make_plan(changes: int) -> dict[str, Any]:
    resource_changes: list[dict[str, Any]] = []
    index = 0
    while len(resource_changes) < changes:
        resource_changes.extend(service_changes(index))
        if index % 10 == 0:
            bucket = {"bucket": f"svc{index}-data"}
            resource_changes.append(
                change(f'module.svc["svc{index}"]', "aws_s3_bucket", "data", ["no-op"], bucket, bucket)
            )
        index += 1
    references = {"references": ["aws_iam_role.this.id", "aws_iam_role.this"]}
    module = {
        "resources": [
            {"address": "aws_iam_role_policy.inline", "expressions": {"role": references}},
            {
                "address": "aws_iam_role_policy_attachment.data",
                "expressions": {
                    "policy_arn": {"references": ["aws_iam_policy.data.arn", "aws_iam_policy.data"]}
                },
            },
        ]
    }
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {}},
        "resource_changes": resource_changes[:changes],
        "configuration": {"root_module": {"module_calls": {"svc": {"module": module}}}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5000)
    args = parser.parse_args()
    text = json.dumps(make_plan(args.changes))
    started = time.perf_counter()
    plan = json.loads(text)
    loaded = time.perf_counter()
    result = read_plan(plan, "plan.json", None)
    read = time.perf_counter()
    granted = sum(len(p.grants or ()) for p in result.principals)
    print(f"{args.changes} resource changes, {len(text) / 1e6:.1f} MB of JSON")
    print(f"json.loads  {loaded - started:6.3f} s")
    print(f"read_plan   {read - loaded:6.3f} s  ({len(result.principals)} principals, {granted} grants)")


if __name__ == "__main__":
    main()
