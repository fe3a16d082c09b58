"""`iam-lastused plan` and `wrap`, as a user runs them: the console script, with a
stand-in terraform (providers cannot be downloaded here) that prints a recorded plan."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PLAN = ROOT / "examples" / "plan" / "plan.json"
PLAN_TEXT = ROOT / "examples" / "plan" / "plan.txt"
COLOUR_TEXT = Path(__file__).parent / "data" / "plan" / "plan-colour.txt"
ACCESS = ROOT / "examples" / "access-data.json"
STAND_IN = Path(__file__).parent / "stand_in" / "terraform"
CONFIG = ROOT / "examples" / "terraform"
IAM_LASTUSED = shutil.which("iam-lastused") or "iam-lastused"


def by_address(run) -> dict[str, dict]:
    return {p["address"]: p for p in run.json["principals"]}


def test_plan_json_reports_change_added_services_and_granting_lines(cli):
    run = cli("plan", str(PLAN), "--access-data", str(ACCESS), "--chdir", str(CONFIG), "--format", "json")
    assert run.code == 0
    found = by_address(run)
    worker = found["module.orders.aws_iam_role.worker"]
    assert worker["change"] == "no-op" and worker["source"] == "terraform-plan"
    assert worker["arn"] == "arn:aws:iam::111122223333:role/service/orders-worker"
    assert worker["added_services"] == ["ses"] and worker["removed_services"] == []
    assert worker["unused_services"] == ["dynamodb", "sns"]
    assert "ses" not in worker["unused_services"]
    [sns] = [s for s in worker["services"] if s["namespace"] == "sns"]
    assert sns["granted_by"] == [{"file": str(CONFIG / "modules/service-role/main.tf"), "line": 30}]
    reporter = found["module.orders.aws_iam_role.reporter"]
    assert reporter["change"] == "create" and reporter["status"] == "not-deployed"
    assert reporter["granted_services"] == ["athena", "s3"]


def test_plan_text_is_annotated_after_iam_headers_and_otherwise_unchanged(cli):
    run = cli("plan", str(PLAN), "--access-data", str(ACCESS), "--chdir", str(CONFIG),
              "--format", "plan", "--plan-text", str(PLAN_TEXT))
    original = PLAN_TEXT.read_text()
    added = [line for line in run.out.splitlines() if "iam-lastused:" in line]
    assert added, "no annotation was added"
    text, section = run.out.split("\niam-lastused: principals with findings that this plan does not show:\n")
    unannotated = [line for line in text.splitlines() if "iam-lastused:" not in line]
    assert unannotated == original.rstrip("\n").splitlines()
    assert section.startswith("  # aws_iam_role.ci_deployer (not changed by this plan)\n")
    lines = run.out.splitlines()
    header = lines.index("  # module.orders.aws_iam_role.reporter will be created")
    assert lines[header + 1] == "  #   iam-lastused: this change adds athena, s3 (no usage history yet)"


def test_format_plan_without_text_is_a_usage_error(cli):
    run = cli("plan", str(PLAN), "--access-data", str(ACCESS), "--format", "plan")
    assert run.code == 2 and "--plan-text" in run.err


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not"),
    ('{"format_version": "2.0", "resource_changes": []}', "format_version"),
])
def test_bad_plan_is_one_line_and_exit_2(cli, tmp_path, content, message):
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    run = cli("plan", str(plan), "--access-data", str(ACCESS))
    assert run.code == 2 and run.out == ""
    assert message in run.err and run.err.count("\n") == 1


def test_binary_plan_without_terraform_is_one_line_error(cli, tmp_path, monkeypatch):
    import zipfile

    plan = tmp_path / "tfplan"
    with zipfile.ZipFile(plan, "w") as archive:
        archive.writestr("tfplan", "x")
    monkeypatch.setenv("TERRAFORM_BINARY", str(tmp_path / "no-terraform-here"))
    run = cli("plan", str(plan), "--access-data", str(ACCESS))
    assert run.code == 2 and run.err.count("\n") == 1


@pytest.fixture
def wrapped_env(tmp_path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        STAND_IN_PLAN_TEXT=str(COLOUR_TEXT), STAND_IN_PLAN_JSON=str(PLAN), STAND_IN_LOG=str(tmp_path / "log"),
        PATH=f"{STAND_IN.parent}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}",
    )
    return env


def wrap(env: dict[str, str], *args: str, exit_code: int = 0) -> subprocess.CompletedProcess[bytes]:
    env = {**env, "STAND_IN_EXIT": str(exit_code)}
    command = [IAM_LASTUSED, "wrap", "--access-data", str(ACCESS), "--chdir", str(CONFIG), *args]
    return subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)


@pytest.mark.parametrize(("flags", "exit_code"), [((), 0), (("-detailed-exitcode",), 0),
                                                  (("-detailed-exitcode",), 2)])
def test_wrapper_keeps_terraform_bytes_and_exit_code(wrapped_env, flags, exit_code):
    done = wrap(wrapped_env, "--", str(STAND_IN), "plan", *flags, exit_code=exit_code)
    assert done.returncode == exit_code
    original = COLOUR_TEXT.read_bytes()
    assert done.stdout.startswith(original), "terraform's output was not passed through byte for byte"
    report = done.stdout[len(original):].decode()
    assert report.startswith("\nrole ")  # a blank line between terraform's output and the report
    assert "role module.orders.aws_iam_role.worker" in report and "unused  dynamodb" in report
    assert b"stand-in: a warning on stderr" in done.stderr


def test_failing_terraform_is_passed_through_untouched(wrapped_env):
    done = wrap(wrapped_env, "--", str(STAND_IN), "plan", "-detailed-exitcode", exit_code=1)
    assert done.returncode == 1
    assert done.stdout == COLOUR_TEXT.read_bytes()


def test_fail_on_raises_a_clean_plan_exit_code(wrapped_env):
    done = wrap(wrapped_env, "--fail-on", "unused", "--", str(STAND_IN), "plan")
    assert done.returncode == 1
    assert done.stdout.startswith(COLOUR_TEXT.read_bytes())


def test_wrapper_with_format_plan_prints_the_plan_again_annotated(wrapped_env, tmp_path):
    """As the README says: terraform's output as it came, a blank line, then terraform's
    plan again with the notes under each IAM resource's header; to --output when given."""
    done = wrap(wrapped_env, "--format", "plan", "--", str(STAND_IN), "plan")
    original = COLOUR_TEXT.read_bytes()
    assert done.returncode == 0 and done.stdout.startswith(original + b"\n")
    again = done.stdout[len(original) + 1:].decode()
    assert "#   iam-lastused: this change adds athena, s3 (no usage history yet)" in again
    assert "# aws_iam_role.ci_deployer (not changed by this plan)" in again
    without_notes = "".join(
        line for line in again.splitlines(keepends=True)
        if "iam-lastused" not in line and "(not changed by this plan)" not in line
    )
    assert without_notes.rstrip("\n").encode() == original.rstrip(b"\n")
    annotated = tmp_path / "annotated.txt"
    to_file = wrap(wrapped_env, "--format", "plan", "--output", str(annotated), "--", str(STAND_IN), "plan")
    assert to_file.stdout == original  # terraform's own, once; the annotated copy in the file
    assert annotated.read_text() == again
    saved = re.search(rb"the plan is saved as (\S+), as terraform says above", to_file.stderr)
    assert saved and Path(saved[1].decode()).exists()


@pytest.mark.parametrize("command", [["apply"], ["-chdir=infra", "destroy"], ["show", "-json", "x"]])
def test_wrapper_refuses_anything_but_plan(wrapped_env, command):
    done = wrap(wrapped_env, "--", str(STAND_IN), *command)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().startswith("iam-lastused: error: wrap runs plan only, not ")
    assert done.stderr.count(b"\n") == 1 and not Path(wrapped_env["STAND_IN_LOG"]).exists()


def test_analysis_error_never_loses_the_plan_or_exit_code(wrapped_env, tmp_path):
    broken = tmp_path / "state.json"
    broken.write_text(json.dumps({"format_version": "1.0", "values": {}}))
    env = {**wrapped_env, "STAND_IN_PLAN_JSON": str(broken)}
    done = wrap(env, "--", str(STAND_IN), "plan", "-detailed-exitcode", exit_code=2)
    assert done.returncode == 2
    assert done.stdout == COLOUR_TEXT.read_bytes()
    assert b"plan not analysed" in done.stderr


def test_hook_script_is_a_drop_in_for_terraform_plan(wrapped_env):
    env = {**wrapped_env, "TERRAFORM_BINARY": str(STAND_IN), "STAND_IN_EXIT": "2"}
    done = subprocess.run(
        ["sh", str(ROOT / "hooks" / "terraform-plan"), "-detailed-exitcode"],
        env=env, capture_output=True, timeout=60, check=False, cwd=tmp_cwd(env),
    )
    assert done.returncode == 2
    assert done.stdout.startswith(COLOUR_TEXT.read_bytes())


def tmp_cwd(env: dict[str, str]) -> str:
    return str(Path(env["STAND_IN_LOG"]).parent)


def test_missing_terraform_is_one_clear_error(wrapped_env):
    done = wrap(wrapped_env, "--", "no-such-terraform-binary", "plan")
    assert done.returncode == 127
    assert b"no-such-terraform-binary" in done.stderr


def test_the_annotated_plan_shows_every_finding_the_json_has(cli):
    """Principals the plan leaves alone have no header in terraform's text: their
    findings come in a section after it, never dropped."""
    common = ("--chdir", str(CONFIG), "--access-data", str(ACCESS))
    report = cli("plan", str(PLAN), *common, "--format", "json").json
    annotated = cli("plan", str(PLAN), *common, "--plan-text", str(PLAN_TEXT), "--format", "plan").out
    notes = [line for line in annotated.splitlines() if "iam-lastused" in line or "(not changed" in line]
    checked = 0
    for principal in report["principals"]:
        for namespace in principal["unused_services"] + principal["stale_services"]:
            assert any(principal["address"] in line or namespace in line for line in notes), namespace
            assert any(namespace in line for line in notes), (principal["address"], namespace)
            checked += 1
        for finding in principal.get("static_findings", []):
            assert any(finding["message"] in line for line in notes), finding
            checked += 1
    assert checked >= 5
    assert "# aws_iam_role.ci_deployer (not changed by this plan)" in annotated
