"""The `exclude` globs are gitignore's (pathspec), matched in time linear in the path:
a repository's config file and its tree both come from a pull request."""

from __future__ import annotations

import time
from pathlib import Path, PurePath

import pytest
from iam_lastused.files import excluded


def role(name: str) -> str:
    return f'resource "aws_iam_role" "{name}" {{\n  name = "{name}"\n  assume_role_policy = "{{}}"\n}}\n'


@pytest.mark.parametrize(("glob", "path"), [
    ("*a*a*a*a*b", "a" * 200),  # Python's regular expressions: about 8 s (bench/exclude_globs.py)
    ("**/a/**/a/**/a/**/b", "/".join(["a"] * 2000)),  # over a minute
])
def test_a_hostile_glob_over_a_hostile_path_is_matched_at_once(glob, path):
    start = time.perf_counter()
    assert not excluded(PurePath(path), [glob])
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(("path", "directory", "glob", "left_out"), [
    ("legacy/old/main.tf", False, "legacy/", True),  # a file below an excluded directory
    ("legacy", False, "legacy/", False),  # a file of that name is no directory
    ("legacy", True, "legacy/", True),
    ("a/b/node_modules", True, "node_modules/", True),
    ("examples", True, "examples/**", True),
    ("live/old", True, "/old", False),  # anchored at the walked directory
    ("live/x_test.tf", False, "**/*_test.tf", True),
    ("live/X_TEST.TF", False, "**/*_test.tf", False),  # case-sensitive
])
def test_globs_read_as_gitignore_reads_them(path, directory, glob, left_out):
    assert excluded(PurePath(path), [glob], directory) is left_out


def test_a_later_negated_glob_takes_a_file_back():
    assert not excluded(PurePath("examples/keep.tf"), ["examples/*", "!examples/keep.tf"])


def test_the_hook_leaves_out_a_changed_file_below_an_excluded_directory(cli, tmp_path, monkeypatch):
    """`--exclude legacy/`, as its help says, and node_modules/ always: pre-commit passes files."""
    monkeypatch.chdir(tmp_path)
    for name in ("legacy/old/main.tf", "node_modules/pkg/main.tf", "live/main.tf"):
        (tmp_path / name).parent.mkdir(parents=True)
        (tmp_path / name).write_text(role(name.split("/")[0]))
    run = cli("hook", "--offline", "--format", "json", "legacy/old/main.tf", "node_modules/pkg/main.tf",
              "live/main.tf", "--exclude", "legacy/")
    assert [p["address"] for p in run.json["principals"]] == ["aws_iam_role.live"]
    assert Path("live/main.tf").is_file()


def test_a_name_of_undecodable_bytes_is_matched_too():
    name = PurePath(b"caf\xe9\xff/r.tf".decode("utf-8", "surrogateescape"))
    assert excluded(name, ["caf*/"]) and not excluded(name, ["*.yaml"])
