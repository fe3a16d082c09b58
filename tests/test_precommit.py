"""The pre-commit hooks as a user gets them, in a fresh git repository holding a copy of
the Terraform example and a `.pre-commit-config.yaml` naming this repository.

This is what `pre-commit try-repo` does, except that try-repo installs the hook
environment (from the package registry: slow) into a new temporary store on every
call; `pre-commit run` with the config keeps it in PRE_COMMIT_HOME, shared by the
whole run (every xdist worker), so it is installed once. The hooks come from a snapshot
commit of this work tree as it is, untracked new files included (pre-commit installs
from a commit). The suite's workers take whole files (`--dist loadfile`), so the cases
here run on one worker and no other waits for the install; try-repo, which installs on
its own, is in test_precommit_try_repo.py to run beside them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pre_commit  # noqa: F401  (a test dependency: missing, this module fails, never skips)
import pytest
import yaml
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "terraform"
GIT_IDENTITY = ("-c", "user.name=iam-lastused tests", "-c", "user.email=tests@example.invalid",
                "-c", "commit.gpgsign=false")
BROAD = (
    "main.tf:50: [service-wildcard] role aws_iam_role.ci_deployer: "
    "grants every cloudformation action on every resource"
)
SQS_ANYWHERE = """\
resource "aws_iam_role" "queue_reader" {
  name               = "queue-reader"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "queues" {
  role = aws_iam_role.queue_reader.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sqs:*", Resource = "*" }]
  })
}
"""
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")

pytestmark = pytest.mark.long_running  # installs a hook environment


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "-m", message)


def run_wide(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The directory `name`, shared by every xdist worker of this run (session fixtures are
    per worker) and made by `make` once: by the first worker to get here, under a lock."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    made = path.with_name(f"{name}.made")
    with FileLock(f"{path}.lock"):
        if not made.exists():
            shutil.rmtree(path, ignore_errors=True)  # left half made by a worker that failed
            path.mkdir()
            make(path)
            made.touch()
    return path


def snapshot_of_this_tree(snapshot: Path) -> None:
    """This work tree, committed as it is into `snapshot`."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, snapshot / name)
    git(snapshot, "init", "--quiet")
    commit_all(snapshot, "snapshot")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This work tree, committed as it is: the repository the hooks come from."""
    return run_wide(tmp_path_factory, "hook-repo", snapshot_of_this_tree)


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory, hook_repo: Path) -> Path:
    """A PRE_COMMIT_HOME with the hooks' environment installed (`pre-commit install-hooks`
    in a repository whose config names them)."""

    def install(home: Path) -> None:
        installer = user_repo(home / "installer", hook_repo, "main.tf")
        done = subprocess.run(
            [sys.executable, "-m", "pre_commit", "install-hooks"],
            cwd=installer, env={**os.environ, "PRE_COMMIT_HOME": str(home)},
            capture_output=True, text=True, timeout=900,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    return run_wide(tmp_path_factory, "pre-commit-home", install)


def user_repo(path: Path, hook_repo: Path, changed: str) -> Path:
    """A repository with the example and the hooks' config committed, then `changed`
    edited and staged."""
    shutil.copytree(EXAMPLE, path)
    hooks = [{"id": "iam-lastused"}, {"id": "iam-lastused-offline"}]
    rev = git(hook_repo, "rev-parse", "HEAD").strip()
    config = {"repos": [{"repo": str(hook_repo), "rev": rev, "hooks": hooks}]}
    (path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    git(path, "init", "--quiet")
    commit_all(path, "infrastructure")
    with (path / changed).open("a", encoding="utf-8") as file:
        file.write("\n# reviewed\n")
    git(path, "add", changed)
    return path


@dataclass
class HookRun:
    code: int
    output: str


NewRepo = Callable[[str], Path]
PreCommitRun = Callable[..., HookRun]


@pytest.fixture
def new_repo(tmp_path: Path, hook_repo: Path) -> NewRepo:
    return lambda changed: user_repo(tmp_path / "infra", hook_repo, changed)


@pytest.fixture
def pre_commit_run(pre_commit_home: Path) -> PreCommitRun:
    """`pre-commit run HOOK` in `repo`, with no AWS credentials anywhere."""

    def run(repo: Path, hook: str, *options: str) -> HookRun:
        env = {name: value for name, value in os.environ.items() if name not in AWS_VARIABLES}
        env.update(
            PRE_COMMIT_HOME=str(pre_commit_home),
            AWS_CONFIG_FILE=str(repo / "missing-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(repo / "missing-aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
        )
        done = subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", hook, "--verbose", *options],
            cwd=repo, env=env, capture_output=True, text=True, timeout=900,
        )
        return HookRun(done.returncode, done.stdout + done.stderr)

    return run


def test_offline_hook_fails_on_static_findings_in_linter_lines(
    new_repo: NewRepo, pre_commit_run: PreCommitRun
) -> None:
    repo = new_repo("main.tf")
    run = pre_commit_run(repo, "iam-lastused-offline", "--all-files")
    assert run.code == 1, run.output
    assert BROAD in run.output and "Failed" in run.output
    assert "iam-lastused: 1 finding in 1 principal of 4" in run.output
    assert "no-data" not in run.output and "not requested" not in run.output


def test_offline_hook_relaxed_by_config_still_shows_findings(
    new_repo: NewRepo, pre_commit_run: PreCommitRun
) -> None:
    repo = new_repo("main.tf")
    (repo / ".iam-lastused.toml").write_text('fail-on = "never"\n', encoding="utf-8")
    run = pre_commit_run(repo, "iam-lastused-offline", "--all-files")
    assert run.code == 0, run.output
    assert BROAD in run.output and "Passed" in run.output


def test_offline_hook_checks_the_staged_change(
    new_repo: NewRepo, pre_commit_run: PreCommitRun
) -> None:
    repo = new_repo("main.tf")
    run = pre_commit_run(repo, "iam-lastused-offline")
    assert run.code == 1, run.output
    assert BROAD in run.output


def test_online_hook_without_credentials_fails_on_static_findings_and_says_so_once(
    new_repo: NewRepo, pre_commit_run: PreCommitRun
) -> None:
    repo = new_repo("main.tf")
    run = pre_commit_run(repo, "iam-lastused", "--all-files")
    assert run.code == 1, run.output
    assert run.output.count("usage data skipped") == 1, run.output
    assert BROAD in run.output and "Traceback" not in run.output


def test_hook_passes_a_change_that_touches_no_iam_file(
    new_repo: NewRepo, pre_commit_run: PreCommitRun
) -> None:
    repo = new_repo("variables.tf")
    run = pre_commit_run(repo, "iam-lastused")
    assert run.code == 0, run.output
    assert "Passed" in run.output
    assert BROAD not in run.output and "no AWS credentials" not in run.output
    assert float(re.search(r"- duration: ([\d.]+)s", run.output)[1]) < 10  # type: ignore[index]
