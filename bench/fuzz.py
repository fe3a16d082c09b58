"""The mutation fuzz of tests/test_fuzz_mutations.py at a large size, at random (CI runs
a few derandomized examples per input): every internal error it finds is a bug to fix
with a test. Prints pytest's report and how long it took.

    python bench/fuzz.py [--examples 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests" / "test_fuzz_mutations.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per input (default 2000)")
    args = parser.parse_args()
    env = {**os.environ, "IAM_LASTUSED_FUZZ_EXAMPLES": str(args.examples)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TESTS)],
                          env=env, check=False)
    print(f"{args.examples} examples per input in {time.monotonic() - started:.0f} s")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
