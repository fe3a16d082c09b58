"""The hook's own level and the config's `fail-on` (issue 25): the hook's level is a
floor, so the README's `fail-on = "unused"` cannot make the offline hook check nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BROAD = "infra/main.tf:50: [service-wildcard] role aws_iam_role.ci_deployer"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples" / "terraform", tmp_path / "infra")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("fail_on", ["unused", "stale", "static"])
def test_the_configs_fail_on_cannot_narrow_the_offline_hook(cli, project, fail_on):
    (project / ".iam-lastused.toml").write_text(f'fail-on = "{fail_on}"\n')
    run = cli("hook", "--offline", "infra/main.tf")
    assert run.code == 1
    assert run.out.startswith(BROAD)


def test_a_narrower_fail_on_given_to_the_offline_hook_does_not_narrow_it(cli, project):
    run = cli("hook", "--offline", "--fail-on", "unused", "infra/main.tf")
    assert run.code == 1


def test_never_in_the_config_still_turns_the_offline_hook_off(cli, project):
    (project / ".iam-lastused.toml").write_text('fail-on = "never"\n')
    run = cli("hook", "--offline", "infra/main.tf")
    assert run.code == 0
    assert run.out.startswith(BROAD)


def test_the_live_hook_without_credentials_keeps_failing_on_the_codes_findings(cli, project, monkeypatch):
    """No usage data: the hook's own level is the code's findings, and `unused` cannot narrow it."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    (project / ".iam-lastused.toml").write_text('fail-on = "unused"\n')
    run = cli("hook", "infra/main.tf", "--no-cache")
    assert run.code == 1
    assert BROAD in run.out
