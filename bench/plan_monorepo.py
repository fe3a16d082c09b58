"""How long `plan` takes from the top of a monorepo against from the plan's own folder
(target: within +10%): `plan` reads only the root module the plan was made from, and
the modules it calls, never the other roots below the working directory.

Generates bench/parse.py's tree of --files .tf files, and a plan JSON, beside one of its
stacks, of that stack's roles; then times `iam-lastused plan` (through the API, an
empty parse cache, offline) from the stack's folder and from the top, interleaved,
each the best of --runs.

    python bench/plan_monorepo.py [--files 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from iam_lastused import api
from parse import FILES_PER_MODULE, MODULES_PER_STACK, generate

ACCOUNT = "111122223333"
ACCESS_DATA = Path(__file__).resolve().parents[1] / "examples" / "access-data.json"


def plan_of_stack() -> dict[str, Any]:
    """A plan creating the roles of one generated stack (module.svcN.aws_iam_role.worker_M)."""
    changes = [
        {
            "address": f"module.svc{module}.aws_iam_role.worker_{index}",
            "module_address": f"module.svc{module}",
            "mode": "managed",
            "type": "aws_iam_role",
            "name": f"worker_{index}",
            "change": {"actions": ["create"], "before": None,
                       "after": {"name": f"svc{module}-prod-part{index}", "path": "/service/"},
                       "after_unknown": {"arn": True}},
        }
        for module in range(MODULES_PER_STACK)
        for index in range(FILES_PER_MODULE - 1)
    ]
    return {"format_version": "1.2", "resource_changes": changes, "planned_values": {}}


def timed(plan: Path, where: Path, caches: Path) -> tuple[float, int]:
    """One `plan` from `where`, with an empty parse cache (a CI job's first plan): its
    time, and how many principals got a file:line."""
    os.chdir(where)
    os.environ["IAM_LASTUSED_CACHE_DIR"] = tempfile.mkdtemp(dir=caches)
    start = time.perf_counter()
    result = api.plan(plan, access_data=ACCESS_DATA, account_id=ACCOUNT)
    took = time.perf_counter() - start
    return took, sum(1 for p in result.principals if p.principal.location and p.principal.location.line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        generate(tree, args.files)
        (tree / ".git").mkdir()
        stack = tree / "stack7"
        (stack / "plan.json").write_text(json.dumps(plan_of_stack()))
        plan = stack / "plan.json"
        timed(plan, stack, Path(tmp))  # imports and the first workers, outside the timings
        folder, top = [], []
        for _ in range(args.runs):  # interleaved: the machine's load falls on both alike
            folder.append(timed(plan, stack, Path(tmp)))
            top.append(timed(plan, tree, Path(tmp)))
        os.chdir(here)
    (folder_time, located_folder), (top_time, located_top) = min(folder), min(top)
    roles = len(plan_of_stack()["resource_changes"])
    print(f"tree:              {args.files} .tf files; the plan: {roles} roles")
    print(f"from its folder:   {folder_time:6.2f} s  ({located_folder} principals with file:line)")
    print(f"from the top:      {top_time:6.2f} s  ({located_top} principals with file:line)")
    print(f"top / folder:      {top_time / folder_time:6.2f}x (target <= 1.10x)")


if __name__ == "__main__":
    main()
