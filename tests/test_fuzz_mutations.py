"""No input reaches an internal error: grammar-aware mutations of the real examples
(Terraform, CloudFormation templates, plans, access data) through the command line.

Each example is a copy of a real input with a few mutations of its structure: a block
label dropped or added, a value's type swapped, a value nested, a huge value, a line or
an object member gone. Whatever comes of it, the run ends with a report or one clear
line (exit 0, 1 or 2), never "internal error".

In CI a few examples per input, derandomized (the same each run); bench/fuzz.py runs
many, at random: IAM_LASTUSED_FUZZ_EXAMPLES sets how many.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from iam_lastused.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ACCESS = EXAMPLES / "access-data.json"
ACCOUNT = "111122223333"
EXAMPLES_PER_INPUT = int(os.environ.get("IAM_LASTUSED_FUZZ_EXAMPLES", "12"))
FUZZ = settings(
    max_examples=EXAMPLES_PER_INPUT,
    derandomize="IAM_LASTUSED_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
HUGE = "a" * 200_000


def run_cli(*argv: str | Path) -> tuple[int, str]:
    """The command line in this process, stdout and stderr captured: (exit code, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return code, err.getvalue()


def assert_no_internal_error(code: int, err: str) -> None:
    assert code in (0, 1, 2), err
    assert "internal error" not in err and "Traceback" not in err, err


@contextlib.contextmanager
def work_tree(source: Path | None = None) -> Iterator[Path]:
    """A fresh checkout (a git work tree) for one example, the current directory while it runs."""
    with tempfile.TemporaryDirectory(prefix="iam-lastused-fuzz-") as top:
        tree = Path(top) / "tree"
        if source is not None:
            shutil.copytree(source, tree)
        (tree / ".git").mkdir(parents=True)
        before = os.getcwd()
        os.chdir(tree)
        try:
            yield tree
        finally:
            os.chdir(before)


# Terraform: mutations of the text, block by block and attribute by attribute -------------

BLOCK = re.compile(r'^(\s*)([A-Za-z_][\w-]*)((?:\s+"[^"]*")*)\s*\{\s*$')
ATTRIBUTE = re.compile(r"^(\s*)([A-Za-z_][\w-]*)\s*=\s*(.+?)\s*$")
VALUES = ('"x"', "42", "-1.5e300", "true", "null", "[]", "{}", '["a", 1, null]', "{ a = 1, b = [true] }",
          "var.nope", "local.nope", "aws_iam_role.nope.arn", "each.key", "count.index", "module.nope.out",
          'data.aws_iam_policy_document.nope.json', '"${var.nope}"', "self", f'"{HUGE}"',
          '"arn:aws:iam::111122223333:role/x"', 'jsonencode({Statement = "*"})', '"*"')
WRAPPERS = ("[{}]", "{{ k = {} }}", "jsonencode({})", "tolist({})", "({})", "{} == null ? 1 : 2",
            "[for x in {} : x]", "{{ for k, v in {} : k => v }}", "try({}, null)", '"${{{}}}"')


@st.composite
def hcl_mutation(draw: st.DrawFn, lines: list[str]) -> list[str]:
    lines = list(lines)
    index = draw(st.integers(0, len(lines) - 1))
    line = lines[index]
    kind = draw(st.sampled_from(["label", "swap", "nest", "drop", "duplicate", "huge-label"]))
    block, attribute = BLOCK.match(line), ATTRIBUTE.match(line)
    if kind == "label" and block:
        labels = re.findall(r'"[^"]*"', block[3])
        labels = draw(st.sampled_from([labels[1:], labels[:-1], [*labels, '"extra"'], []]))
        lines[index] = f"{block[1]}{block[2]} {' '.join(labels)} {{"
    elif kind == "huge-label" and block and block[3]:
        lines[index] = f'{block[1]}{block[2]} "{HUGE[:5000]}" {{'
    elif kind == "swap" and attribute:
        lines[index] = f"{attribute[1]}{attribute[2]} = {draw(st.sampled_from(VALUES))}"
    elif kind == "nest" and attribute and not attribute[3].endswith(("{", "[", "(", "<<EOF", "<<-EOF")):
        wrapper = draw(st.sampled_from(WRAPPERS))
        lines[index] = f"{attribute[1]}{attribute[2]} = {wrapper.format(attribute[3])}"
    elif kind == "drop":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, line)
    return lines


TERRAFORM_FILES = sorted(path.relative_to(EXAMPLES / "terraform")
                         for path in (EXAMPLES / "terraform").rglob("*.tf"))


@FUZZ
@given(data=st.data())
def test_mutated_terraform_never_reaches_an_internal_error(data: st.DataObject) -> None:
    with work_tree(EXAMPLES / "terraform") as tree:
        for _ in range(data.draw(st.integers(1, 4))):
            file = tree / data.draw(st.sampled_from(TERRAFORM_FILES))
            lines = file.read_text().splitlines()
            file.write_text("\n".join(data.draw(hcl_mutation(lines))) + "\n")
        assert_no_internal_error(*run_cli("scan", ".", "--access-data", ACCESS, "--account-id", ACCOUNT,
                                          "--no-cache", "--format", "json"))


# JSON documents: mutations of the tree ----------------------------------------------------

LEAVES = st.sampled_from([None, True, 0, -1, 10**30, 1.5, "", "*", "x:y", HUGE, [], {},
                          "arn:aws:iam::111122223333:role/x", "2026-13-45T99:99:99Z"])


def nodes(document: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(document, dict):
        for key, value in document.items():
            yield from nodes(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from nodes(value, (*path, index))


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


@st.composite
def json_mutation(draw: st.DrawFn, document: Any) -> Any:
    paths = list(nodes(document))
    path = draw(st.sampled_from(paths[1:] or paths))
    if not path:
        return draw(LEAVES)
    parent, last = _at(document, path[:-1]), path[-1]
    value = parent[last]
    kind = draw(st.sampled_from(["swap", "nest", "drop", "deep", "flip"]))
    if kind == "swap":
        parent[last] = draw(LEAVES)
    elif kind == "nest":
        parent[last] = draw(st.sampled_from([[value], {"Nested": value}, [value, value]]))
    elif kind == "drop":
        del parent[last]
    elif kind == "deep":
        deep: Any = value
        for _ in range(draw(st.integers(20, 400))):
            deep = [deep]
        parent[last] = deep
    elif kind == "flip":
        parent[last] = list(value.values()) if isinstance(value, dict) else (
            dict(enumerate(value)) if isinstance(value, list) else str(value))
    return document


def mutated_json(source: Path) -> st.SearchStrategy[str]:
    @st.composite
    def strategy(draw: st.DrawFn) -> str:
        document = json.loads(source.read_text())
        for _ in range(draw(st.integers(1, 4))):
            document = draw(json_mutation(document))
        plain = {str(k): v for k, v in document.items()} if isinstance(document, dict) else document
        return json.dumps(plain, default=str)
    return strategy()


JSON_CASES: dict[str, tuple[Path, Callable[[Path], list[str | Path]]]] = {
    "cloudformation": (EXAMPLES / "cdk" / "cdk.out" / "MyStack.template.json",
                       lambda file: ["scan", file.name, "--access-data", ACCESS, "--account-id", ACCOUNT]),
    "plan": (EXAMPLES / "plan" / "plan.json", lambda file: ["plan", file.name, "--access-data", ACCESS]),
    "access-data": (ACCESS, lambda file: ["scan", "terraform", "--access-data", file.name, "--account-id",
                                          ACCOUNT]),
}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_mutated_json_inputs_never_reach_an_internal_error(case: str) -> None:
    source, command = JSON_CASES[case]

    @FUZZ
    @given(text=mutated_json(source))
    def property(text: str) -> None:
        with work_tree() as tree:
            shutil.copytree(EXAMPLES / "terraform", tree / "terraform")
            (tree / f"input-{source.name}").write_text(text)
            assert_no_internal_error(*run_cli(*command(tree / f"input-{source.name}"), "--no-cache",
                                              "--format", "json"))

    property()


def test_a_module_block_without_a_label_is_one_error_line(cli) -> None:
    """What the fuzz found first: Terraform's own words at the line, and the run goes on."""
    with work_tree() as tree:
        (tree / "main.tf").write_text('module {\n  source = "./m"\n}\n')
        (tree / "role.tf").write_text('resource "aws_iam_role" "r" {\n  name = "r"\n}\n')
        run = cli("scan", ".", "--access-data", str(ACCESS), "--account-id", ACCOUNT, "--no-cache",
                  "--format", "json")
        assert_no_internal_error(run.code, run.err)
        [error] = run.json["errors"]
        assert (error["file"].endswith("main.tf"), error["line"]) == (True, 1)
        assert error["message"].startswith("Missing name for module")
        assert [p["address"] for p in run.json["principals"]] == ["aws_iam_role.r"]
