"""Render the examples as the README and docs/ show them.

    python docs/generate.py          # rewrite the rendered files
    python docs/generate.py --check  # exit 1, naming each file, where one is out of date

Every rendered file is the output of one command run on `examples/` offline, with the
shipped access-data file, from the repository's top: the README's sample (the first two
principals of the text report, between its `sample` markers), the terminal report, the
pull-request comment and the examples' patch. tests/test_docs.py runs the check, so the
README cannot drift from what the quick start prints. Day counts ("last used N days
ago") change with the date, and the access-data file's date ("written ...") with the
checkout; the check takes any value for them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from iam_lastused.cli.main import main

TOP = Path(__file__).resolve().parent.parent
SCAN = ("scan", "examples", "--access-data", "examples/access-data.json", "--no-cache")
SAMPLE_START = "<!-- sample: iam-lastused scan examples --access-data examples/access-data.json -->\n```\n"
SAMPLE_END = "```\n<!-- end of sample -->"
SAMPLE_PRINCIPALS = 2
# what changes with the date and the checkout, as text and as escaped Markdown shows it
VARYING = re.compile(r"\d+ days? ago|written \d{4}\\?-\d\d\\?-\d\d \d\d\\?:\d\d UTC")


def run(*argv: str) -> str:
    """What the command line prints for `argv`, run from the repository's top."""
    output = io.StringIO()
    here = Path.cwd()
    os.chdir(TOP)
    try:
        with contextlib.redirect_stdout(output):
            main(list(argv))
    finally:
        os.chdir(here)
    return output.getvalue()


def readme_sample(readme: str, text_report: str) -> str:
    """The README with its sample replaced by the report's first principals."""
    start = readme.index(SAMPLE_START) + len(SAMPLE_START)
    end = readme.index(SAMPLE_END, start)
    blocks = text_report.split("\n\n")[:SAMPLE_PRINCIPALS]
    return readme[:start] + "\n\n".join(blocks).rstrip("\n") + "\n" + readme[end:]


def rendered() -> dict[Path, str]:
    """Each rendered file as the tool makes it now."""
    text = run(*SCAN)
    return {
        TOP / "README.md": readme_sample((TOP / "README.md").read_text(encoding="utf-8"), text),
        TOP / "docs" / "text-report.txt": text,
        TOP / "docs" / "pr-comment.md": run(*SCAN, "--format", "markdown"),
        TOP / "docs" / "suggest.patch": run(*SCAN, "--suggest=patch"),
    }


def out_of_date(files: dict[Path, str], same: Callable[[str, str], bool]) -> list[Path]:
    return [path for path, text in files.items() if not same(path.read_text(encoding="utf-8"), text)]


def same_but_for_what_varies(a: str, b: str) -> bool:
    return VARYING.sub("(varies)", a) == VARYING.sub("(varies)", b)


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which files are out of date")
    options = parser.parse_args(argv)
    files = rendered()
    if options.check:
        stale = out_of_date(files, same_but_for_what_varies)
        for path in stale:
            print(f"{path.relative_to(TOP)} is out of date: run python docs/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
