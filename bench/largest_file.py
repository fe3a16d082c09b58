"""What the largest file a scan accepts costs to read, with and without a budget.

Generates a .tf file of IAM resources just under the Terraform source's size cap
(4 MiB) and a CloudFormation YAML template just under CloudFormation's (1 MB). For
each, reads it (a) in a process of its own with no budget, and (b) through
map_bounded with the default budget, and prints the wall time, the peak memory
(resident set) of the process that parsed it, and what came of it. Then finds, by
bisection in steps of --step bytes, the largest generated .tf that is read within
the default budget. Linux only (worker memory is read from /proc).

    python bench/largest_file.py [--step 65536]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from iam_lastused.sources.cloudformation.template import MAX_TEMPLATE_BYTES, scan_template
from iam_lastused.sources.terraform.reader import MAX_FILE_BYTES, parse_file
from iam_lastused.workers import Budget, OverBudget, map_bounded
from parse import MODULE_FILE  # bench/parse.py, beside this script

# the Terraform is bench/parse.py's module file, one block of resources per index
TERRAFORM_HEAD = 'variable "name" {\n  default = "prod"\n}\n\n'


CLOUDFORMATION_HEAD = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
CLOUDFORMATION = """\
  Role{index}:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "${{AWS::StackName}}-worker-{index}"
      Path: /service/
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/ReadOnlyAccess
      Policies:
        - PolicyName: inline
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [s3:GetObject, s3:ListBucket]
                Resource: "*"
              - Sid: Queue
                Effect: Allow
                Action:
                  - sqs:SendMessage
                  - sqs:ReceiveMessage
                Resource: !Sub "arn:aws:sqs:*:*:${{AWS::StackName}}-queue"
  Policy{index}:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles: [!Ref Role{index}]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [dynamodb:GetItem, dynamodb:Query]
            Resource: "*"
"""


def repeated(head: str, body: str, size: int) -> bytes:
    """`head`, then `body` for index 0, 1, ... while the whole stays at most `size` bytes."""
    parts, total, index = [head.encode()], len(head.encode()), 0
    while True:
        part = body.format(stack="largest", module=0, index=index).encode()
        if total + len(part) > size:
            return b"".join(parts)
        parts.append(part)
        total += len(part)
        index += 1


def terraform(size: int) -> bytes:
    return repeated(TERRAFORM_HEAD, MODULE_FILE, size)


def cloudformation(size: int) -> bytes:
    return repeated(CLOUDFORMATION_HEAD, CLOUDFORMATION, size)


def arguments(kind: str, size: int) -> tuple[Any, ...]:
    if kind == "tf":
        return ("big.tf", terraform(size))
    return (Path("big.yaml"), None, cloudformation(size).decode())


def parse(kind: str, item: tuple[Any, ...]) -> Any:
    return parse_file(*item) if kind == "tf" else scan_template(*item)


def outcome(result: Any) -> str:
    if isinstance(result, OverBudget):
        return result.reason
    if isinstance(result, dict):
        return result["error"] if "error" in result else f"read, {len(result['blocks']):,} blocks"
    errors = f", {result.errors[0].message}" if result.errors else ""
    return f"read, {len(result.principals):,} principals{errors}"


def direct(kind: str, size: int) -> None:
    """(a), in this process: what came of it, its time and this process's peak RSS, as JSON."""
    import resource

    item = arguments(kind, size)
    parse(kind, arguments(kind, 4096))  # builds the parser, imports cfn-lint
    start = time.perf_counter()
    result = parse(kind, item)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak": peak, "outcome": outcome(result)}))


class DescendantsPeak:
    """The highest peak RSS (VmHWM) of this process's descendants (the workers are
    the forkserver's children) while it runs: a thread reads /proc every 20 ms. It
    only reads: the workers are forked by the forkserver, not from this process."""

    def __init__(self) -> None:
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> DescendantsPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(0.02):
            for pid in descendants(os.getpid()):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def bounded(kind: str, size: int) -> tuple[float, int, Any]:
    item = arguments(kind, size)
    function = parse_file if kind == "tf" else scan_template
    with DescendantsPeak() as peak:
        start = time.perf_counter()
        (result,) = map_bounded(function, [item])
        seconds = time.perf_counter() - start
    return seconds, peak.peak, result


def read_within_budget(result: Any) -> bool:
    return isinstance(result, dict) and "blocks" in result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--step", type=int, default=64 * 1024)
    parser.add_argument("--direct", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.direct:
        direct(args.direct[0], int(args.direct[1]))
        return

    budget = Budget()
    memory = budget.memory_bytes / 2**20
    print(f"budget: {budget.seconds:g} s and {memory:g} MB a file; {os.cpu_count()} cores")
    at_cap: dict[str, Any] = {}
    for kind, name, cap in (
        ("tf", ".tf", MAX_FILE_BYTES),
        ("yaml", "CloudFormation YAML", MAX_TEMPLATE_BYTES),
    ):
        size = len(arguments(kind, cap)[-1])
        print(f"{name}: {size:,} bytes (the cap is {cap:,})")
        command = [sys.executable, __file__, "--direct", kind, str(cap)]
        alone = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        print(
            f"  in-process, no budget:  {alone['seconds']:6.2f} s  peak {alone['peak'] / 2**20:6.0f} MB"
            f"  {alone['outcome']}"
        )
        seconds, peak, at_cap[kind] = bounded(kind, cap)
        result = outcome(at_cap[kind])
        print(f"  map_bounded, default:   {seconds:6.2f} s  peak {peak / 2**20:6.0f} MB  {result}")

    print(".tf sizes through map_bounded, by bisection:")
    low, high = 0, MAX_FILE_BYTES // args.step  # in steps: low is read within the budget, high is not
    if read_within_budget(at_cap["tf"]):
        low = high
    while high - low > 1:
        middle = (low + high) // 2
        seconds, peak, result = bounded("tf", middle * args.step)
        size = len(terraform(middle * args.step))
        print(f"  {size:>9,} bytes:  {seconds:6.2f} s  peak {peak / 2**20:6.0f} MB  {outcome(result)}")
        low, high = (middle, high) if read_within_budget(result) else (low, middle)
    largest = len(terraform(low * args.step))
    print(f"largest .tf read within the budget: {largest:,} bytes (steps of {args.step:,})")


if __name__ == "__main__":
    main()
