"""What a hostile `exclude` glob costs: pathspec's default (Python regular expressions,
which backtrack) against RE2 (linear in the path), the backend files.excluded uses.

The globs and the tree walked may both come from a pull request (a repository's config
file, its directories), so the worst pair of the two is what counts. Each case is one
match of one path; the default backend runs in a process of its own, stopped after
--limit seconds.

    python bench/exclude_globs.py [--limit 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from pathspec import GitIgnoreSpec

CASES = (
    ("stars in one name", "*a*a*a*b", "a" * 200),
    ("stars in one name", "*a*a*a*a*b", "a" * 200),
    ("** three times", "**/a/**/a/**/b", "/".join(["a"] * 500)),
    ("** three times", "**/a/**/a/**/b", "/".join(["a"] * 2000)),
    ("** four times", "**/a/**/a/**/a/**/b", "/".join(["a"] * 2000)),
    ("a usual glob", "**/*_test.tf", "/".join(["modules"] * 400) + "/main.tf"),
)

_ONE = """
import sys, time
from pathspec import GitIgnoreSpec
glob, path, backend = sys.argv[1:]
spec = GitIgnoreSpec.from_lines([glob], backend=backend)
start = time.perf_counter()
spec.match_file(path)
print(time.perf_counter() - start)
"""


def timed(glob: str, path: str, backend: str, limit: float) -> str:
    if backend == "re2":  # in this process: nothing to stop
        spec = GitIgnoreSpec.from_lines([glob], backend=backend)
        start = time.perf_counter()
        spec.match_file(path)
        return f"{time.perf_counter() - start:.6f} s"
    try:
        done = subprocess.run([sys.executable, "-c", _ONE, glob, path, backend], capture_output=True,
                              text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return f"> {limit:g} s (stopped)"
    return f"{float(done.stdout):.6f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=20.0, help="seconds a default-backend case may take")
    limit = parser.parse_args().limit
    print(f"{'case':<18} {'glob':<22} {'path chars':>10}  {'python re (simple)':>20}  {'re2':>12}")
    for name, glob, path in CASES:
        simple, re2 = timed(glob, path, "simple", limit), timed(glob, path, "re2", limit)
        print(f"{name:<18} {glob:<22} {len(path):>10}  {simple:>20}  {re2:>12}")


if __name__ == "__main__":
    main()
