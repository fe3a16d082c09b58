"""The one rule registry (analysis.rules): a finding rule added there, and nowhere else,
is checked and shown by every format that lists findings, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from iam_lastused.analysis import rules
from iam_lastused.analysis.rule import BROAD_HELP, LEAST_PRIVILEGE, Rule, StatementCheck
from iam_lastused.model import Statement

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
POLICY = """
resource "aws_iam_role" "deployer" {
  name               = "ci-deployer"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "pass" {
  name = "pass"
  role = aws_iam_role.deployer.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["iam:PassRole"], Resource = "*" }]
  })
}
"""


def _pass_any_role(statement: Statement) -> list[str]:
    """A rule no release has: iam:PassRole on every resource."""
    if statement.effect != "Allow" or statement.resources is None or "*" not in statement.resources:
        return []
    if not any(action.lower() == "iam:passrole" for action in statement.actions):
        return []
    return ['grants iam:PassRole on every resource (Resource "*")']


PASS_ANY_ROLE = Rule(
    "IAMLU010", "pass-any-role", "error", "Statement passes any role",
    'An Allow statement grants iam:PassRole on Resource "*".',
    BROAD_HELP, LEAST_PRIVILEGE,
    StatementCheck(_pass_any_role),
)


@pytest.fixture
def infra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(rules, "RULES", (*rules.RULES, PASS_ANY_ROLE))
    return tmp_path


def _scan(cli, format: str) -> str:
    access = str(ROOT / "examples" / "access-data.json")
    run = cli("scan", "infra", "--access-data", access, "--format", format)
    assert run.code == 0, run.err
    return run.out


def test_a_rule_added_to_the_registry_alone_is_in_sarif_and_json(cli, infra: Path) -> None:
    document = json.loads(_scan(cli, "sarif"))
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    driver = document["runs"][0]["tool"]["driver"]
    assert [rule["id"] for rule in driver["rules"]] == [rule.id for rule in rules.RULES]
    assert driver["rules"][-1] == {
        "id": "IAMLU010",
        "name": "pass-any-role",
        "shortDescription": {"text": "Statement passes any role"},
        "fullDescription": {"text": 'An Allow statement grants iam:PassRole on Resource "*".'},
        "help": {"text": BROAD_HELP},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": list(LEAST_PRIVILEGE)},
    }
    [result] = [r for r in document["runs"][0]["results"] if r["ruleId"] == "IAMLU010"]
    assert result["ruleIndex"] == len(rules.RULES) - 1
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "infra/main.tf"
    [principal] = json.loads(_scan(cli, "json"))["principals"]
    assert [finding["rule"] for finding in principal["static_findings"]] == ["pass-any-role"]


def test_a_rule_added_to_the_registry_alone_is_in_the_ci_formats(cli, infra: Path) -> None:
    lint = _scan(cli, "lint").splitlines()
    assert lint[0].startswith("infra/main.tf:")
    assert "[pass-any-role] role aws_iam_role.deployer: grants iam:PassRole on every resource" in lint[0]
    assert lint[-1].startswith("iam-lastused: 1 finding in 1 principal of 1")
    [issue] = json.loads(_scan(cli, "gitlab"))
    assert (issue["check_name"], issue["severity"]) == ("pass-any-role", "critical")
    [failure] = ElementTree.fromstring(_scan(cli, "junit")).iter("failure")
    assert failure.get("type") == "pass-any-role"
    [command] = [line for line in _scan(cli, "github").splitlines() if "PassRole" in line]
    assert command.startswith("::error file=infra/main.tf,")


def test_rule_ids_and_names_are_unique() -> None:
    assert len({rule.id for rule in rules.RULES}) == len(rules.RULES)
    assert len({rule.name for rule in rules.RULES}) == len(rules.RULES)
