"""What the reports show beyond whole services: with `--granularity action`, the never-used
actions of each used service; and the services the code grants that IAM's report does
not list (`not-in-report`, or `unknown-service` for a prefix no catalogue knows)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import make_role
from iam_lastused.analysis.analyze import analyze_principal
from iam_lastused.model import (
    AccessReport,
    ActionAccess,
    Grant,
    Location,
    Principal,
    RunResult,
    ServiceAccess,
    Statement,
)
from iam_lastused.render.plan_text import principal_notes
from iam_lastused.render.text import render_text
from test_hostile_input import check_renderers

NOW = datetime.now(timezone.utc)
RECENT = NOW - timedelta(days=3)
SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
EXAMPLES = Path(__file__).parent.parent / "examples"
ADDRESS = "aws_iam_role.app"

MAIN_TF = """\
resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "app" {
  name = "app"
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = "*"
      },
      {
        Effect   = "Allow"
        Action   = ["sqs:SendMessage", "EXTRA"]
        Resource = "*"
      },
    ]
  })
}
"""
S3_LINE = 12
SQS_LINE = 17


def tree(tmp_path: Path, extra: str = "") -> Path:
    """One role: s3 (three actions) at line 12; sqs and `extra` actions at line 17."""
    root = tmp_path / "infra"
    root.mkdir()
    actions = '"sqs:SendMessage"' + "".join(f', "{action}"' for action in extra.split() if action)
    (root / "main.tf").write_text(MAIN_TF.replace('"sqs:SendMessage", "EXTRA"', actions), encoding="utf-8")
    return root


def access_data(tmp_path: Path, services: dict[str, Any]) -> Path:
    """An access-data file with one report for role/app: `services` maps each namespace to
    its last use (None: never), or to (last use, {ActionName: last use}) at action level."""
    entries = []
    for namespace, value in services.items():
        when, actions = value if isinstance(value, tuple) else (value, None)
        entry: dict[str, Any] = {"ServiceNamespace": namespace, "ServiceName": namespace.upper()}
        if when is not None:
            entry["LastAuthenticated"] = when.isoformat()
        if actions is not None:
            entry["TrackedActionsLastAccessed"] = [
                {"ActionName": name, **({"LastAccessedTime": at.isoformat()} if at else {})}
                for name, at in actions.items()
            ]
        entries.append(entry)
    report = {"JobStatus": "COMPLETED", "ServicesLastAccessed": entries}
    path = tmp_path / "access-data.json"
    path.write_text(json.dumps({"arn:aws:iam::111122223333:role/app": report}), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs from tmp_path, so that the tree is `infra` and its file `infra/main.tf`."""
    monkeypatch.chdir(tmp_path)


def offline(cli: Any, root: Path, data: Path, *options: str) -> Any:
    return cli("scan", root.name, "--access-data", str(data), "--account-id", "111122223333", *options)


def services_of(run: Any) -> dict[str, dict[str, Any]]:
    [principal] = run.json["principals"]
    return {s["namespace"]: s for s in principal["services"]}


S3_ACTIONS = {"GetObject": RECENT, "PutObject": None, "DeleteObject": None, "ListBucket": None}


# ---------------------------------------------------------------------------
# A. Never-used actions of used services, with --granularity action
# ---------------------------------------------------------------------------


@pytest.fixture
def live(iam: Any, last_accessed: Any, tmp_path: Path) -> str:
    """The role deployed in moto, with action-level activity for s3 and none for sqs."""
    arn = make_role(iam, "app")
    last_accessed.activity[arn] = {"s3": RECENT, "sqs": RECENT}
    last_accessed.actions[arn] = {"s3": S3_ACTIONS}
    tree(tmp_path)
    return arn


def test_live_action_level_json_lists_the_unused_actions_the_code_grants(cli: Any, live: str) -> None:
    run = cli("scan", "infra", "--granularity", "action", "--format", "json", "--fail-on", "unused")
    assert run.code == 0  # never-used actions of a used service do not fail --fail-on
    s3 = services_of(run)["s3"]
    assert s3["state"] == "used" and s3["unused_actions"] == ["s3:DeleteObject", "s3:PutObject"]
    states = {a["name"]: a["state"] for a in s3["actions"]}
    assert states == {"GetObject": "used", "PutObject": "unused", "DeleteObject": "unused",
                      "ListBucket": "not-granted"}  # the code is the future: it grants no ListBucket
    assert services_of(run)["sqs"]["unused_actions"] is None
    assert run.json["notes"] == [
        "--granularity action: IAM does not track sqs at action level: its actions are not judged"
    ]


def test_live_action_level_text_shows_the_partly_used_service(cli: Any, live: str) -> None:
    run = cli("scan", "infra", "--granularity", "action")
    assert (
        f"  partly  s3                     Amazon S3  (2 of 3 tracked actions never used: "
        f"s3:DeleteObject, s3:PutObject; granted at infra/main.tf:{S3_LINE})"
    ) in run.out.splitlines()
    assert "1 used service with never-used actions" in run.out
    assert "note: --granularity action: IAM does not track sqs at action level" in run.out


def test_service_level_shows_no_actions(cli: Any, live: str) -> None:
    run = cli("scan", "infra", "--format", "json")
    assert services_of(run)["s3"]["unused_actions"] is None and run.json["notes"] == []
    assert "partly" not in cli("scan", "infra").out


def test_offline_service_level_data_at_action_level_is_said_once(cli: Any, tmp_path: Path) -> None:
    data = access_data(tmp_path, {"s3": RECENT, "sqs": RECENT})
    root = tree(tmp_path)
    run = offline(cli, root, data, "--granularity", "action", "--format", "json")
    assert [s["unused_actions"] for s in services_of(run).values()] == [None, None]
    [note] = run.json["notes"]
    assert note.startswith("--granularity action: the report of 1 principal has no action-level data")
    text = offline(cli, root, data, "--granularity", "action").out
    assert text.count("note: --granularity action:") == 1 and "partly" not in text


def test_the_examples_service_level_data_at_action_level_is_one_note(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    run = cli("scan", "examples", "--access-data", "examples/access-data.json", "--granularity", "action",
              "--format", "json")
    [note] = [note for note in run.json["notes"] if note.startswith("--granularity action")]
    using = sum(any(s["state"] == "used" for s in p["services"]) for p in run.json["principals"])
    assert using > 1 and note.startswith(f"--granularity action: the reports of {using} principals have no")


def test_offline_action_level_sarif_markdown_and_lint(cli: Any, tmp_path: Path) -> None:
    data = access_data(tmp_path, {"s3": (RECENT, S3_ACTIONS), "sqs": (RECENT, {"SendMessage": RECENT})})
    root = tree(tmp_path)
    sarif = json.loads(offline(cli, root, data, "--granularity", "action", "--format", "sarif").out)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    [result] = sarif["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("IAMLU007", "note")
    assert result["properties"]["actions"] == ["s3:DeleteObject", "s3:PutObject"]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": S3_LINE}
    assert sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"] == []  # sqs is tracked
    markdown = offline(cli, root, data, "--granularity", "action", "--format", "markdown").out
    assert (
        "- **partly used**: <code>s3</code> (S3), 2 of 3 tracked actions never used: "
        "<code>s3\\:DeleteObject</code>, <code>s3\\:PutObject</code>, granted at infra\\/main\\.tf\\:12"
    ) in markdown
    lint = offline(cli, root, data, "--granularity", "action", "--format", "lint").out
    assert f"main.tf:{S3_LINE}: [unused-actions] role {ADDRESS} uses s3 (S3) but has not used 2 of" in lint


# ---------------------------------------------------------------------------
# B. Services the code grants that IAM's report does not list
# ---------------------------------------------------------------------------


def test_a_granted_service_missing_from_the_report_is_shown(cli: Any, tmp_path: Path) -> None:
    data = access_data(tmp_path, {"s3": RECENT})
    root = tree(tmp_path)
    run = offline(cli, root, data, "--format", "json", "--fail-on", "unused")
    assert run.code == 0
    sqs = services_of(run)["sqs"]
    assert (sqs["state"], sqs["last_accessed"], sqs["granted_by"]) == (
        "not-in-report", None, [{"file": "infra/main.tf", "line": SQS_LINE}]
    )
    text = offline(cli, root, data).out
    assert "  2 services granted: 1 used, 0 never used, 0 stale, 1 not in IAM's report" in text
    assert (
        "  no data sqs                    Amazon SQS  "
        f"(not yet in IAM's report; granted at infra/main.tf:{SQS_LINE})"
    ) in text.splitlines()


def test_an_unknown_service_prefix_is_named_and_does_not_fail(cli: Any, tmp_path: Path) -> None:
    data = access_data(tmp_path, {"s3": RECENT, "sqs": RECENT})
    root = tree(tmp_path, "sqss:SendMessage")
    run = offline(cli, root, data, "--format", "json", "--fail-on", "static")
    assert run.code == 0
    assert services_of(run)["sqss"]["state"] == "unknown-service"
    text = offline(cli, root, data).out
    assert "  unknown sqss                   sqss  (not a known IAM service: check the prefix; " in text
    sarif = json.loads(offline(cli, root, data, "--format", "sarif").out)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    [result] = sarif["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("IAMLU009", "warning")
    assert result["properties"]["service"] == "sqss"
    markdown = offline(cli, root, data, "--format", "markdown").out
    assert "- **not a known IAM service** (check the prefix): <code>sqss</code>, granted at infra" in markdown


def test_not_in_report_is_a_sarif_note_and_no_junit_failure(cli: Any, tmp_path: Path) -> None:
    data = access_data(tmp_path, {"s3": RECENT})
    root = tree(tmp_path)
    sarif = json.loads(offline(cli, root, data, "--format", "sarif").out)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    [result] = sarif["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("IAMLU008", "note")
    assert result["properties"]["service"] == "sqs"
    junit = offline(cli, root, data, "--format", "junit").out
    assert 'failures="0"' in junit and "[service-not-in-report]" in junit


APP = "arn:aws:iam::1:role/app"
S3_REPORT = AccessReport(APP, (ServiceAccess("s3", "Amazon S3", RECENT),))


def principal_with(actions: tuple[str, ...], *, change: str | None = None) -> Principal:
    statement = Statement(Location("main.tf", 3), actions=actions, resources=("*",))
    return Principal(ADDRESS, "terraform", "role", Location("main.tf", 1), arn=APP,
                     grants=(Grant(Location("main.tf", 2), (statement,)),), change=change)


def test_plan_notes_name_what_the_report_does_not_list() -> None:
    principal = principal_with(("s3:GetObject", "sqs:SendMessage", "sqss:Send"))
    result = analyze_principal(principal, S3_REPORT, NOW, 90)
    assert principal_notes(result, 90) == [
        "iam-lastused: all 3 granted services used in the last 90 days",
        "iam-lastused: sqs: not yet in IAM's report",
        "iam-lastused: sqss: not a known IAM service: check the prefix",
    ]


def test_a_service_the_change_adds_is_said_once_in_text() -> None:
    before = (Grant(Location("main.tf", 2), (Statement(Location("main.tf", 3), actions=("s3:GetObject",)),)),)
    principal = principal_with(("s3:GetObject", "sqs:SendMessage"), change="update")
    result = analyze_principal(replace(principal, grants_before=before), S3_REPORT, NOW, 90)
    assert result.added == ("sqs",) and [s.state for s in result.unreported] == ["not-in-report"]
    text = render_text(RunResult(90, NOW, (result,)))
    assert text.count("sqs") == 1 and "this change grants sqs: no usage history yet" in text


def test_hostile_prefixes_and_actions_are_escaped_in_every_format() -> None:
    hostile = "\x1b[31m<img src=x>@octocat#1"
    actions = (ActionAccess(f"Get{hostile}"), ActionAccess("GetObject", RECENT))
    report = AccessReport(APP, (ServiceAccess("s3", "Amazon S3", RECENT, actions=actions),))
    principal = principal_with(("s3:*", f"{hostile}:Get*"))
    result = analyze_principal(principal, report, NOW, 90, granularity="action")
    assert [s.state for s in result.unreported] == ["unknown-service"]
    assert result.services[0].unused_actions == (f"s3:Get{hostile}",)
    check_renderers(RunResult(90, NOW, (result,)))

