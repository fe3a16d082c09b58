"""`pre-commit try-repo`, as a user tries the hooks before adopting them. Its own file:
try-repo installs the hook environment afresh into a temporary store, so this case runs
on a worker of its own beside test_precommit.py's, which share one installed environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_precommit import AWS_VARIABLES, SQS_ANYWHERE, commit_all, git, run_wide, snapshot_of_this_tree

pytestmark = pytest.mark.long_running  # installs a hook environment


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This work tree, committed as it is (the same snapshot as test_precommit.py's)."""
    return run_wide(tmp_path_factory, "hook-repo", snapshot_of_this_tree)


def test_try_repo_fails_on_a_statement_granting_all_of_sqs(tmp_path: Path, hook_repo: Path) -> None:
    """The issue's own check, as a user tries the hooks before adopting them: `pre-commit
    try-repo` (which installs the hook environment afresh) in a new repository holding
    `sqs:*` on every resource: both hooks fail and show main.tf:LINE, the live one
    without credentials too, and neither errors. Without a hook id, try-repo runs every
    hook the repository has, from one install."""
    repo = tmp_path / "infra"
    repo.mkdir()
    (repo / "main.tf").write_text(SQS_ANYWHERE, encoding="utf-8")
    git(repo, "init", "--quiet")
    commit_all(repo, "infrastructure")
    env = {name: value for name, value in os.environ.items() if name not in AWS_VARIABLES}
    env.update(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               AWS_CONFIG_FILE=str(repo / "missing"), AWS_SHARED_CREDENTIALS_FILE=str(repo / "missing"),
               AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "--all-files", "--verbose"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    hooks = [hook["id"] for hook in yaml.safe_load((hook_repo / ".pre-commit-hooks.yaml").read_text())]
    assert sorted(hooks) == ["iam-lastused", "iam-lastused-offline"]
    finding = "main.tf:10: [service-wildcard] role aws_iam_role.queue_reader: grants every sqs"
    for hook in hooks:  # each hook's section: its result line, `- hook id: ID`, then its output
        section = output.split(f"- hook id: {hook}\n", 1)[1].split("- hook id: ", 1)[0]
        result = output.split(f"- hook id: {hook}\n", 1)[0].rstrip().splitlines()[-1]
        assert re.search(r"\.+Failed$", result), output
        assert finding in section, output
    assert "Traceback" not in output, output
