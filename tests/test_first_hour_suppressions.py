"""Suppressions as a new user writes them (issue 25), through the CLI: config principals
written as the report prints addresses, `*` over instance keys, an ignore comment
anywhere inside a statement, and a note for one that applies to nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ACCOUNT = "111122223333"
MODULE_CALL = """\
module "svc" {
  for_each = toset(["alpha", "beta"])
  source   = "./mod"
  name     = each.key
}
"""
MODULE = """\
variable "name" {}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "this" {
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = "*"
    }]
  })
}
"""


def _report() -> dict:
    return {"JobStatus": "COMPLETED", "JobType": "SERVICE_LEVEL",
            "JobCreationDate": "2026-11-24T08:00:03+00:00", "ServicesLastAccessed": [
                {"ServiceName": "Amazon SQS", "ServiceNamespace": "sqs", "TotalAuthenticatedEntities": 0}
            ]}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "mod").mkdir()
    (tmp_path / "main.tf").write_text(MODULE_CALL)
    (tmp_path / "mod" / "main.tf").write_text(MODULE)
    access = {f"arn:aws:iam::{ACCOUNT}:role/{name}": _report() for name in ("alpha", "beta")}
    (tmp_path / "access.json").write_text(json.dumps(access))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def scan(cli) -> dict[str, list[str]]:
    run = cli("scan", ".", "--access-data", "access.json", "--account-id", ACCOUNT, "--format", "json")
    found = {p["address"]: p["suppressed_services"] for p in run.json["principals"]}
    return found | {"notes": run.json["notes"]}


def config(project: Path, principal: str) -> None:
    (project / ".iam-lastused.toml").write_text(
        f"[[suppress]]\nprincipal = '{principal}'\nservices = [\"sqs\"]\nreason = \"accepted\"\n"
    )


ALPHA, BETA = 'module.svc["alpha"].aws_iam_role.this', 'module.svc["beta"].aws_iam_role.this'


@pytest.mark.parametrize(("principal", "suppressed"), [
    ('module.svc["alpha"].*', {ALPHA}),  # as the report prints it: brackets and quotes literal
    ('module.svc["alpha"].aws_iam_role.this', {ALPHA}),
    ("module.svc.*", {ALPHA, BETA}),  # a module call without its key stands for all its instances
    ("module.svc.aws_iam_role.this", {ALPHA, BETA}),
    ("*.aws_iam_role.this", {ALPHA, BETA}),
    ('module.svc["a*"].*', {ALPHA}),
    ("module.sv.*", set()),  # segments are whole names
    ('module.svc["gamma"].*', set()),
])
def test_config_principals_match_addresses_as_printed(cli, project, principal, suppressed):
    config(project, principal)
    found = scan(cli)
    assert {address for address in (ALPHA, BETA) if found[address] == ["sqs"]} == suppressed
    unmatched = [note for note in found["notes"] if "matches no principal" in note]
    assert bool(unmatched) == (not suppressed)


def test_a_config_entry_that_matches_nothing_is_a_note_at_its_line(cli, project):
    (project / ".iam-lastused.toml").write_text(
        "stale-days = 30\n\n[[suppress]]\nprincipal = 'module.svc.*'\nservices = [\"sqs\"]\n\n"
        "[[suppress]]\nprincipal = 'module.orders.*'\nservices = [\"sqs\"]\n"
    )
    assert scan(cli)["notes"] == [
        ".iam-lastused.toml:7: the [[suppress]] entry for principal = 'module.orders.*' matches no principal"
    ]


@pytest.mark.parametrize("before", ['      Action   = ["sqs:SendMessage"]', '      Resource = "*"', "    }]"])
def test_an_ignore_comment_anywhere_inside_a_statement_applies_to_it(cli, project, before):
    module = project / "mod" / "main.tf"
    module.write_text(module.read_text().replace(
        before + "\n", "      # iam-lastused:ignore=sqs the queue is new\n" + before + "\n", 1
    ))
    found = scan(cli)
    assert (found[ALPHA], found[BETA]) == (["sqs"], ["sqs"])
    assert found["notes"] == []


def test_an_ignore_comment_that_applies_to_nothing_is_a_note_at_its_line(cli, project):
    module = project / "mod" / "main.tf"
    module.write_text(module.read_text() + "\n# iam-lastused:ignore=sqs left over\n")
    found = scan(cli)
    assert (found[ALPHA], found[BETA]) == ([], [])
    assert found["notes"] == [
        f"{Path('mod') / 'main.tf'}:20: iam-lastused:ignore applies to nothing here: put it on or above "
        "a resource or statement, or inside a statement"
    ]
