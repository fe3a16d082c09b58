"""The Atlantis workflows in docs/atlantis/, run step by step as Atlantis runs them:
`init` and `plan` as Atlantis's built-in steps (terraform init, terraform plan -out
$PLANFILE, here the stand-in terraform), each `run` step with bash in the project's
directory and the environment Atlantis gives custom run steps. What a run step prints
is what Atlantis puts in the plan comment; its exit code is whether the plan failed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs" / "atlantis"
STAND_IN = Path(__file__).parent / "stand_in" / "terraform"
PLAN_JSON = ROOT / "examples" / "plan" / "plan.json"
PLAN_TEXT = ROOT / "examples" / "plan" / "plan.txt"


def steps(workflow: str) -> list:
    config = yaml.safe_load((DOCS / "repos.yaml").read_text())
    return config["workflows"][workflow]["plan"]["steps"]


@pytest.fixture
def project(tmp_path) -> Path:
    """A checkout as Atlantis clones it: the example Terraform as one project, with the
    access data (offline) named by the server's config file (IAM_LASTUSED_CONFIG): a
    repository's config may not choose its usage data."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    shutil.copytree(ROOT / "examples" / "terraform", repo / "terraform")
    (tmp_path / "server.toml").write_text(f'access-data = "{ROOT / "examples" / "access-data.json"}"\n')
    return repo / "terraform"


def atlantis_env(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAND_IN")}
    env.update(
        PATH=f"{STAND_IN.parent}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}",
        STAND_IN_PLAN_TEXT=str(PLAN_TEXT), STAND_IN_PLAN_JSON=str(PLAN_JSON),
        STAND_IN_LOG=str(project.parent / "terraform.log"),
        # What Atlantis sets for custom run steps.
        WORKSPACE="default", ATLANTIS_TERRAFORM_VERSION="1.9.8", DIR=str(project),
        PLANFILE=str(project / "default.tfplan"), SHOWFILE=str(project / "default.json"),
        POLICYCHECKFILE=str(project / "default-policyout.json"),
        BASE_REPO_NAME="infra", BASE_REPO_OWNER="acme", HEAD_REPO_NAME="infra", HEAD_REPO_OWNER="acme",
        HEAD_BRANCH_NAME="orders-queue", HEAD_COMMIT="0" * 40, BASE_BRANCH_NAME="main",
        PROJECT_NAME="orders", PULL_NUM="42", PULL_URL="https://github.com/acme/infra/pull/42",
        PULL_AUTHOR="dana", REPO_REL_DIR="terraform", USER_NAME="dana", COMMENT_ARGS="",
        IAM_LASTUSED_CONFIG=str(project.parent.parent / "server.toml"),
    )
    return env


def run_workflow(workflow: str, project: Path) -> list[subprocess.CompletedProcess[str]]:
    """Each step in order, as Atlantis runs them, stopping at the first that fails."""
    env = atlantis_env(project)
    done = []
    for step in steps(workflow):
        if step == "init":
            continue  # terraform init: nothing to download for the stand-in
        if step == "plan":
            command = ["terraform", "plan", "-input=false", "-refresh", "-out", env["PLANFILE"]]
        else:
            run = step["run"]
            command = ["bash", "-c", run if isinstance(run, str) else run["command"]]
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120,
                                check=False)
        done.append(result)
        if result.returncode != 0:
            break
    return done


def test_the_workflows_are_init_plan_then_iam_lastused_on_the_planfile():
    for workflow in ("iam-lastused", "iam-lastused-gate"):
        *builtin, run = steps(workflow)
        assert builtin == ["init", "plan"]
        assert run["run"].startswith('iam-lastused plan "$PLANFILE"')
    repo = yaml.safe_load((DOCS / "atlantis.yaml").read_text())
    allowed = yaml.safe_load((DOCS / "repos.yaml").read_text())["repos"][0]["allowed_workflows"]
    assert repo["version"] == 3 and "workflows" not in repo
    assert {p["workflow"] for p in repo["projects"]} <= set(allowed)


def test_the_report_follows_the_plan_in_the_comment_and_never_fails_the_plan(project):
    plan, report = run_workflow("iam-lastused", project)
    assert plan.returncode == 0 and Path(project / "default.tfplan").exists()
    assert report.returncode == 0, report.stderr
    assert "role aws_iam_role.ci_deployer" in report.stdout
    assert "unused  lambda" in report.stdout
    assert "(granted at main.tf:" in report.stdout  # file:line from the project's directory
    assert "module.orders.aws_iam_role.worker" in report.stdout


def test_the_gate_fails_the_plan_on_a_never_used_service(project):
    plan, report = run_workflow("iam-lastused-gate", project)
    assert plan.returncode == 0
    assert report.returncode == 1
    assert "unused  lambda" in report.stdout


def test_a_plan_that_cannot_be_read_is_one_clear_line(project):
    env = atlantis_env(project)
    [*_, step] = steps("iam-lastused")
    result = subprocess.run(["bash", "-c", step["run"]], cwd=project, env=env, capture_output=True, text=True,
                            timeout=60, check=False)  # no plan step ran: there is no $PLANFILE
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "default.tfplan" in result.stderr
