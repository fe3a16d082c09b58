"""A second scan of an unchanged tree gives the first one's result without reading the
code again; any change to what the first one read makes it read again."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from iam_lastused.model import SourceResult
from iam_lastused.sources.terraform import reader
from iam_lastused.sources.terraform import scan as terraform
from iam_lastused.sources.terraform.scan import scan_terraform
from iam_lastused.store import scan_memo

TREE = {
    "infra/main.tf": """\
        module "app" {
          source = "../modules/app"
        }
        resource "aws_iam_role" "ci" {
          name = "ci"
          inline_policy {
            policy = file("${path.module}/ci.json")
          }
        }
    """,
    "infra/ci.json": '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}',
    "modules/app/main.tf": """\
        variable "name" {
          default = "app"
        }
        resource "aws_iam_role" "this" {
          name = var.name
        }
    """,
}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_LASTUSED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test count as settled at once (not within the racy second)."""
    monkeypatch.setattr(scan_memo, "_RACY_NS", 0)


def write(files: dict[str, str]) -> None:
    for name, content in files.items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))


def scan() -> SourceResult:
    return scan_terraform([Path("infra")])


def names(result: SourceResult) -> list[str | None]:
    return sorted(principal.name or "" for principal in result.principals)


class Reads:
    """Counts the files parsed and the scans evaluated."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.scans = 0
        real = terraform._read

        def counted(*args: Any) -> SourceResult:
            self.scans += 1
            return real(*args)

        monkeypatch.setattr(terraform, "_read", counted)


@pytest.mark.usefixtures("settled")
def test_an_unchanged_tree_is_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    write(TREE)
    reads = Reads(monkeypatch)
    first = scan()
    assert (reads.scans, names(first)) == (1, ["app", "ci"])
    assert scan() == first
    assert reads.scans == 1
    assert scan_terraform([Path("infra")], use_cache=False) == first
    assert reads.scans == 2


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("change", [
    "edit in place, same size and mtime",
    "new file in a called module",
    "file() target",
    "file() target appears",
    "environment",
    "link retargeted",
    "linked file edited",
])
def test_any_change_to_what_was_read_is_seen(monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    write(TREE)
    if change == "file() target appears":
        Path("infra/ci.json").unlink()
    if change in ("link retargeted", "linked file edited"):
        Path("modules/other").mkdir()
        Path("modules/other/main.tf").write_text('resource "aws_iam_role" "this" {\n  name = "other"\n}\n')
        Path("modules/app/main.tf").rename("modules/app.tf.real")
        Path("modules/app/main.tf").symlink_to(Path("../app.tf.real"))
    reads = Reads(monkeypatch)
    first = scan()
    assert (scan(), reads.scans) == (first, 1)
    if change == "edit in place, same size and mtime":
        path = Path("modules/app/main.tf")
        status = path.stat()
        path.write_text(path.read_text().replace('"app"', '"ppa"'))
        os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
        expected = ["ci", "ppa"]
    elif change == "new file in a called module":
        Path("modules/app/more.tf").write_text('resource "aws_iam_user" "u" {\n  name = "more"\n}\n')
        expected = ["app", "ci", "more"]
    elif change == "file() target":
        Path("infra/ci.json").write_text(TREE["infra/ci.json"].replace("s3:GetObject", "sqs:*"))
        expected = ["app", "ci"]
    elif change == "file() target appears":
        assert not next(p for p in first.principals if p.name == "ci").grants[0].known
        write({"infra/ci.json": TREE["infra/ci.json"]})
        expected = ["app", "ci"]
    elif change == "environment":
        monkeypatch.setenv("TF_VAR_name", "from-env")
        expected = ["app", "ci"]  # the variable is the module's, not the root's: same names
    elif change == "linked file edited":
        real = Path("modules/app.tf.real")
        real.write_text(real.read_text().replace('"app"', '"ppa"'))
        expected = ["ci", "ppa"]
    else:
        Path("modules/app/main.tf").unlink()
        Path("modules/app/main.tf").symlink_to(Path("../other/main.tf"))
        expected = ["ci", "other"]
    second = scan()
    assert reads.scans == 2
    assert names(second) == expected
    if change == "file() target":
        ci = next(p for p in second.principals if p.name == "ci")
        assert ci.grants[0].statements[0].actions == ("sqs:*",)


def test_a_scan_of_files_changed_within_a_second_of_it_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    write(TREE)
    reads = Reads(monkeypatch)
    first = scan()
    assert scan() == first
    assert reads.scans == 2
    assert not list((Path("cache") / scan_memo.NAMESPACE).glob("*"))


@pytest.mark.usefixtures("settled")
def test_a_scan_with_a_file_over_its_budget_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    write(TREE)
    monkeypatch.setattr(reader, "map_bounded", lambda function, items: [
        reader.OverBudget("not read: took over 10 s") for _ in items
    ])
    reads = Reads(monkeypatch)
    scan()
    scan()
    assert reads.scans == 2


@pytest.mark.usefixtures("settled")
def test_a_damaged_entry_is_a_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    write(TREE)
    reads = Reads(monkeypatch)
    first = scan()
    for entry in (Path("cache") / scan_memo.NAMESPACE).glob("*.json"):
        entry.write_bytes(entry.read_bytes()[:-20])
    assert scan() == first
    assert reads.scans == 2
