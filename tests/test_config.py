"""The config file: found walking up, overridden by the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "access-data.json"
DEPLOYER = "arn:aws:iam::111122223333:role/ci-deployer"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    nested = tmp_path / "infra" / "live"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    return tmp_path


def test_config_file_found_walking_up_sets_defaults(cli, project):
    (project / ".iam-lastused.toml").write_text('stale-days = 400\nformat = "json"\nfail-on = "unused"\n')
    run = cli("check", DEPLOYER, "--access-data", str(EXAMPLE))
    assert run.json["stale_days"] == 400
    assert run.json["principals"][0]["stale_services"] == []
    assert run.code == 1


def test_command_line_overrides_config(cli, project):
    (project / ".iam-lastused.toml").write_text('stale-days = 400\nformat = "json"\n')
    run = cli("check", DEPLOYER, "--access-data", str(EXAMPLE), "--stale-days", "30")
    assert run.json["stale_days"] == 30


def test_pyproject_tool_table(cli, project):
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.iam-lastused]\nformat = "json"\n')
    assert cli("check", DEPLOYER, "--access-data", str(EXAMPLE)).json["schema_version"] == 1


@pytest.mark.parametrize(("content", "message"), [
    ("stale-dayz = 3\n", "unknown option 'stale-dayz'"),
    ('fail-on = "sometimes"\n', "fail-on must be one of"),
    ("stale-days = [\n", "not valid TOML"),
    ('no-cache = "yes"\n', "no-cache must be true or false"),
    ('stale-days = "abc"\n', "stale-days = 'abc' is not a valid value"),
    ("stale-days = true\n", "stale-days must be a number"),
    ("var-file = 3\n", "var-file must be a string or a list of strings"),
    ('[[suppress]]\nprincipal = "x"\nservices = [1]\n', "each [[suppress]] needs"),
])
def test_bad_config_is_one_line_error(cli, project, content, message):
    (project / ".iam-lastused.toml").write_text(content)
    run = cli("check", DEPLOYER, "--access-data", str(EXAMPLE))
    assert run.code == 2
    assert message in run.err and ".iam-lastused.toml" in run.err
    assert run.err.count("\n") == 1
