"""A hostile pull request: files the code names are read only inside the repository's
root and only when regular, no file's content reaches a message, and the config file
cannot steer where the report goes. Each test runs the CLI as a user would."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ACCESS = str(ROOT / "examples" / "access-data.json")
SECRET = "s3cr3t-value-9f8e7d6c"
ROLE = 'resource "aws_iam_role" "{name}" {{\n  name = {value}\n  assume_role_policy = "{{}}"\n}}\n'
FORMATS = ("text", "json", "markdown", "sarif", "github")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pull request's checkout: a git work tree, with a secret next door and in the environment."""
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (tmp_path / "outside.txt").write_text(SECRET)
    (tmp_path / "outside.json").write_text(json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Sid": SECRET, "Effect": "Allow", "Action": "s3:*",
                                                 "Resource": "*"}]}))
    monkeypatch.setenv("IAM_LASTUSED_TEST_SECRET", SECRET)
    monkeypatch.chdir(checkout)
    return checkout


def run_all_formats(cli, *argv: str):
    return {name: cli("scan", *argv, "--access-data", ACCESS, "--account-id", "111122223333",
                      "--format", name) for name in FORMATS}


def assert_no_secret(runs, cache: Path | None = None) -> None:
    for name, run in runs.items():
        assert SECRET not in run.out and SECRET not in run.err, name
    if cache is not None:
        for file in cache.rglob("*"):
            if file.is_file():
                assert SECRET not in file.read_text(errors="replace"), file


def test_file_of_proc_environ_is_refused_and_the_rest_is_reported(cli, repo):
    (repo / "main.tf").write_text(
        ROLE.format(name="leak", value='file("/proc/self/environ")')
        + ROLE.format(name="fine", value='"fine"')
    )
    runs = run_all_formats(cli, ".")
    assert_no_secret(runs, Path(os.environ["IAM_LASTUSED_CACHE_DIR"]))
    errors = runs["json"].json["errors"]
    assert {"file": "main.tf", "line": 2,
            "message": "cannot read /proc/self/environ: outside the repository root"} in errors
    addresses = {p["address"]: p for p in runs["json"].json["principals"]}
    assert addresses["aws_iam_role.leak"]["status"] == "unresolved"
    assert addresses["aws_iam_role.fine"]["arn"] == "arn:aws:iam::111122223333:role/fine"


def test_file_outside_the_repository_is_refused_however_it_is_named(cli, repo):
    (repo / "app").mkdir()
    (repo / "app" / "main.tf").write_text(
        ROLE.format(name="up", value='file("${path.module}/../../outside.txt")')
        + ROLE.format(name="absolute", value=f'file("{repo.parent / "outside.txt"}")')
        + 'resource "aws_iam_role_policy" "p" {\n  role = aws_iam_role.up.id\n'
        '  policy = file("../../outside.json")\n}\n'
    )
    (repo / "app" / "linked.json").symlink_to(repo.parent / "outside.json")
    (repo / "app" / "more.tf").write_text(
        'resource "aws_iam_role_policy" "q" {\n  role = aws_iam_role.up.id\n'
        '  policy = file("linked.json")\n}\n'
    )
    runs = run_all_formats(cli, "app")
    for suggest in ("--suggest", "--suggest=patch"):
        runs[suggest] = cli("scan", "app", "--access-data", ACCESS, "--account-id", "111122223333", suggest)
    assert_no_secret(runs)
    messages = [e["message"] for e in runs["json"].json["errors"]]
    assert sum("outside the repository root" in m for m in messages) == 4


def test_symlinked_tf_to_proc_is_not_read_and_its_target_not_echoed(cli, repo):
    (repo / "main.tf").write_text(ROLE.format(name="fine", value='"fine"'))
    (repo / "environ.tf").symlink_to("/proc/self/environ")
    runs = run_all_formats(cli, ".")
    assert_no_secret(runs, Path(os.environ["IAM_LASTUSED_CACHE_DIR"]))
    assert {"file": "environ.tf", "line": None, "message": "not read: outside the repository root"} in (
        runs["json"].json["errors"]
    )
    assert [p["address"] for p in runs["json"].json["principals"]] == ["aws_iam_role.fine"]


def test_module_source_outside_the_repository_is_not_followed(cli, repo):
    outside = repo.parent / "evil-module"
    outside.mkdir()
    (outside / "main.tf").write_text(ROLE.format(name="evil", value=f'"{SECRET}"'))
    (repo / "main.tf").write_text('module "m" {\n  source = "../evil-module"\n}\n'
                                  + ROLE.format(name="fine", value='"fine"'))
    run = cli("scan", ".", "--access-data", ACCESS, "--account-id", "111122223333", "--format", "json")
    assert SECRET not in run.out
    message = "module.m: module source ../evil-module is outside the repository root; not followed"
    assert {"file": "main.tf", "line": 1, "message": message} in run.json["errors"]


def test_monorepo_modules_inside_the_work_tree_are_followed(cli, repo):
    (repo / "modules" / "app").mkdir(parents=True)
    (repo / "modules" / "app" / "main.tf").write_text(ROLE.format(name="worker", value='"worker"'))
    (repo / "envs" / "prod").mkdir(parents=True)
    (repo / "envs" / "prod" / "main.tf").write_text('module "app" {\n  source = "../../modules/app"\n}\n')
    run = cli("scan", "envs/prod", "--access-data", ACCESS, "--account-id", "111122223333",
              "--format", "json")
    assert run.json["errors"] == []
    assert [p["address"] for p in run.json["principals"]] == ["module.app.aws_iam_role.worker"]


def test_root_option_narrows_the_boundary(cli, repo):
    (repo / "modules" / "app").mkdir(parents=True)
    (repo / "modules" / "app" / "main.tf").write_text(ROLE.format(name="worker", value='"worker"'))
    (repo / "envs" / "prod").mkdir(parents=True)
    (repo / "envs" / "prod" / "main.tf").write_text('module "app" {\n  source = "../../modules/app"\n}\n')
    run = cli("scan", "envs/prod", "--root", "envs", "--access-data", ACCESS, "--account-id",
              "111122223333", "--format", "json")
    assert [e["message"] for e in run.json["errors"]] == [
        "module.app: module source ../../modules/app is outside the repository root; not followed"
    ]


def test_a_link_to_a_directory_is_not_walked(cli, repo):
    (repo / "main.tf").write_text(ROLE.format(name="fine", value='"fine"'))
    (repo / "everything").symlink_to("/")
    run = cli("scan", ".", "--access-data", ACCESS, "--account-id", "111122223333", "--format", "json")
    assert [p["address"] for p in run.json["principals"]] == ["aws_iam_role.fine"]
    assert "everything: a link to a directory; not followed" in run.json["notes"]


def test_a_link_to_a_file_inside_the_root_is_read(cli, repo):
    (repo / "shared").mkdir()
    (repo / "shared" / "role.tf").write_text(ROLE.format(name="shared", value='"shared"'))
    (repo / "app").mkdir()
    (repo / "app" / "role.tf").symlink_to(repo / "shared" / "role.tf")
    run = cli("scan", "app", "--access-data", ACCESS, "--account-id", "111122223333", "--format", "json")
    assert run.json["errors"] == []
    assert [p["address"] for p in run.json["principals"]] == ["aws_iam_role.shared"]


@pytest.mark.parametrize("name", ["pipe.tf", "pipe.yaml"])
def test_a_fifo_is_not_opened_for_reading(cli, repo, name):
    os.mkfifo(repo / name)
    (repo / "main.tf").write_text(ROLE.format(name="fine", value='"fine"'))
    done: list[object] = []
    worker = threading.Thread(
        target=lambda: done.append(cli("scan", ".", "--access-data", ACCESS, "--account-id",
                                       "111122223333", "--format", "json")),
        daemon=True,
    )
    worker.start()
    worker.join(30)
    assert done, "the scan blocked on a FIFO"
    run = done[0]
    assert [p["address"] for p in run.json["principals"]] == ["aws_iam_role.fine"]  # type: ignore[attr-defined]
    if name.endswith(".tf"):
        assert {"file": name, "line": None, "message": "not read: not a regular file"} in run.json["errors"]  # type: ignore[attr-defined]


def test_a_parse_error_quotes_only_a_short_excerpt(cli, repo):
    long_value = "x" * 30 + SECRET + "y" * 200
    (repo / "main.tf").write_text(f'resource "aws_iam_role" "r" {{\n  name = "a"\n  oops = {long_value}\n')
    runs = run_all_formats(cli, ".")
    assert_no_secret(runs, Path(os.environ["IAM_LASTUSED_CACHE_DIR"]))
    [error] = runs["json"].json["errors"]
    assert error["file"] == "main.tf" and error["message"].startswith("cannot parse: ")
    assert len(error["message"]) < 120


def test_config_cannot_set_output_or_name_files_outside(cli, repo):
    (repo / "main.tf").write_text(ROLE.format(name="fine", value='"fine"'))
    for line in (f'output = "{repo.parent / "report.txt"}"', 'suggest = "patch"',
                 'also-write = ["markdown=/tmp/x.md"]', 'root = "/"'):
        (repo / ".iam-lastused.toml").write_text(line + "\n")
        run = cli("scan", ".", "--access-data", ACCESS)
        assert run.code == 2 and "on the command line only" in run.err and run.out == ""
    for line in ('var-file = ["/proc/self/environ"]', f'stack-from-file = "{repo.parent / "outside.txt"}"',
                 f'parameters = "{repo.parent / "outside.json"}"'):
        (repo / ".iam-lastused.toml").write_text(line + "\n")
        run = cli("scan", ".")
        assert run.code == 2 and "outside the repository root; not read" in run.err and SECRET not in run.err
    assert not (repo.parent / "report.txt").exists()


def test_a_refusal_names_the_path_as_the_report_names_files_not_where_the_runner_keeps_them(cli, repo):
    (repo / "app").mkdir()
    (repo / "app" / "main.tf").write_text(
        ROLE.format(name="up", value='file("${path.module}/../../outside.txt")')
    )
    run = cli("scan", "app", "--access-data", ACCESS, "--account-id", "111122223333", "--format", "json")
    assert [e["message"] for e in run.json["errors"]] == [
        "cannot read app/../../outside.txt: outside the repository root"
    ]
    assert str(repo) not in run.out


@pytest.mark.parametrize("target", ["..", "/"])
def test_a_scanned_path_that_is_a_link_out_does_not_move_the_root(cli, repo, target):
    """The Action scans a path the pull request controls: `infra -> ..` must not make
    the directory above the checkout the root, from where file() reads anything."""
    (repo / "evil").mkdir()
    leak = ROLE.format(name="leak", value='file("${path.module}/../../outside.txt")')
    (repo / "evil" / "main.tf").write_text(leak)
    (repo / "infra").symlink_to(target)
    run = cli("scan", "infra", "--access-data", ACCESS, "--account-id", "111122223333", "--format", "json")
    assert SECRET not in run.out and SECRET not in run.err
    assert run.json["principals"] == []
    message = "not read: outside the repository root (a link to outside it)"
    assert run.json["errors"] == [{"file": "infra", "line": None, "message": message}]


def test_proc_is_never_read_even_inside_the_root(cli, repo):
    (repo / "main.tf").write_text(ROLE.format(name="leak", value='file("/proc/self/environ")'))
    run = cli("scan", ".", "--root", "/", "--access-data", ACCESS, "--account-id", "111122223333",
              "--format", "json")
    assert SECRET not in run.out
    assert {"file": "main.tf", "line": 2,
            "message": "cannot read /proc/self/environ: not a regular file"} in run.json["errors"]


def test_a_module_through_a_link_is_shown_where_it_really_is(cli, repo):
    (repo / "a" / "b").mkdir(parents=True)
    (repo / "x").mkdir()
    (repo / "x" / "main.tf").write_text(ROLE.format(name="worker", value='"worker"'))
    (repo / "infra").mkdir()
    (repo / "infra" / "link").symlink_to(repo / "a" / "b")
    (repo / "infra" / "main.tf").write_text('module "m" {\n  source = "./link/../../x"\n}\n')
    run = cli("scan", "infra", "--access-data", ACCESS, "--account-id", "111122223333", "--format", "json")
    [principal] = run.json["principals"]
    assert principal["address"] == "module.m.aws_iam_role.worker" and principal["file"] == "x/main.tf"


def test_locals_that_double_a_string_are_not_evaluated_past_a_size(cli, repo):
    """Parsing has a budget (workers); evaluating has a size cap: 40 locals that each
    double the one before would need terabytes."""
    lines = ["locals {", '  l0 = "xxxxxxxxxxxxxxxx"']
    lines += [f'  l{i} = "${{local.l{i - 1}}}${{local.l{i - 1}}}"' for i in range(1, 41)]
    lines += ["}", ROLE.format(name="r", value="local.l40")]
    (repo / "main.tf").write_text("\n".join(lines) + "\n")
    run = cli("scan", ".", "--access-data", ACCESS, "--account-id", "111122223333", "--format", "json")
    [principal] = run.json["principals"]
    assert principal["status"] == "unresolved" and "is not evaluated" in principal["error"]
