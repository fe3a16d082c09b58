"""Suggested fixes: per-statement verdicts, statements rewritten in their own syntax, and a
patch that `git apply` and `patch -p1` accept and after which nothing unused is left."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from iam_lastused import catalog
from iam_lastused.analysis.analyze import analyze
from iam_lastused.aws.managed_policies import documents_from_access_data, with_documents
from iam_lastused.environment import Environment
from iam_lastused.model import RunResult
from iam_lastused.render.suggestions import render_patch, render_suggestions, suggestions_json
from iam_lastused.resolve import with_arns
from iam_lastused.sources import scan_paths
from iam_lastused.store.access_data import load_access_data, report_from_response
from iam_lastused.suggest.edits import suggest
from iam_lastused.suggest.verdicts import StatementSuggestion, Suggestions

DATA = Path(__file__).parent / "data" / "suggest"
ACCOUNT = "111122223333"
NOW = datetime.now(timezone.utc)
USED = NOW - timedelta(days=2)
STALE = NOW - timedelta(days=200)
ACTIVITY: dict[str, datetime | None] = {
    "s3": USED, "logs": USED, "sqs": USED, "ecr": USED, "glue": STALE,
    "sns": None, "dynamodb": None, "kms": None, "ec2": None, "lambda": None, "cloudwatch": None,
    "athena": None,
}
ROLES = [
    "document-app", "jsonencode-app", "heredoc-app", "file-app", "template-app",
    "cfn-yaml-app", "cfn-json-app",
]


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def report(activity: dict[str, datetime | None], actions: dict[str, dict[str, datetime | None]] | None = None
           ) -> dict:
    """One get-service-last-accessed-details response, as the access-data file holds it."""
    services = []
    for namespace, last in activity.items():
        entry: dict = {"ServiceName": catalog.service_name(namespace), "ServiceNamespace": namespace,
                       "TotalAuthenticatedEntities": 0 if last is None else 1}
        if last is not None:
            entry.update(LastAuthenticated=last.isoformat(), LastAuthenticatedRegion="eu-west-1")
        if actions and namespace in actions:
            entry["TrackedActionsLastAccessed"] = [
                {"ActionName": name, **({"LastAccessedTime": when.isoformat()} if when else {})}
                for name, when in actions[namespace].items()
            ]
        services.append(entry)
    return {"JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL" if actions else "SERVICE_LEVEL",
            "JobCompletionDate": NOW.isoformat(), "IsTruncated": False, "ServicesLastAccessed": services}


def write_access_data(path: Path, reports: dict[str, dict]) -> Path:
    path.write_text(json.dumps(reports, indent=2), encoding="utf-8")
    return path


def scan(tree: Path, access_data: Path) -> RunResult:
    """What `iam-lastused scan TREE --access-data FILE` analyses, as a RunResult."""
    found = scan_paths([tree])
    data = load_access_data(access_data)
    principals = with_arns(found.principals, Environment(ACCOUNT), "")
    principals = with_documents(principals, documents_from_access_data(data))
    outcomes = {arn: report_from_response(arn, raw) for arn, raw in data.items() if "JobStatus" in raw}
    return RunResult(90, NOW, analyze(principals, outcomes, NOW, 90), found.errors, found.notes)


def git(tree: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=tree, input=stdin, text=True, capture_output=True, check=True)


def tree_of(tmp_path: Path, form: str) -> Path:
    """A copy of one fixture tree in a fresh git repository."""
    tree = tmp_path / "repo"
    shutil.copytree(DATA / form, tree)
    git(tree, "init", "-q")
    git(tree, "add", "-A")
    return tree


def apply_patch(tree: Path, patch: str) -> None:
    """Check the patch with `patch -p1 --dry-run` (when installed) and `git apply --check`, then apply it."""
    if shutil.which("patch"):
        subprocess.run(["patch", "-p1", "--dry-run"], cwd=tree, input=patch, text=True, capture_output=True,
                       check=True)
    git(tree, "apply", "--check", "-", stdin=patch)
    git(tree, "apply", "-", stdin=patch)


def allow_actions(run: RunResult) -> set[tuple[str, ...]]:
    return {
        statement.actions
        for result in run.principals
        for grant in result.principal.grants or ()
        for statement in grant.statements
        if statement.effect == "Allow" and not statement.not_actions
    }


def by_line(suggestions: Suggestions) -> dict[int | None, StatementSuggestion]:
    return {s.location.line: s for s in suggestions.statements}


@pytest.fixture
def access_data(tmp_path: Path) -> Path:
    reports = {role_arn(name): report(ACTIVITY) for name in ROLES}
    return write_access_data(tmp_path / "access-data.json", reports)


FORMS = {
    "policy-document": {("s3:GetObject",)},
    "jsonencode": {("logs:PutLogEvents", "logs:CreateLogStream"), ("sqs:SendMessage",)},
    "heredoc": {("sqs:SendMessage",), ("sqs:ReceiveMessage",)},
    "file-json": {("ecr:GetAuthorizationToken", "ecr:BatchGetImage")},
    "templatefile-json": {("s3:GetObject",)},
    "cloudformation-yaml": {("s3:GetObject",), ("logs:PutLogEvents",)},
    "cloudformation-json": {("s3:GetObject",), ("logs:PutLogEvents",)},
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_patch_applies_and_leaves_nothing_unused(tmp_path: Path, access_data: Path, form: str) -> None:
    tree = tree_of(tmp_path, form)
    before = scan(tree, access_data)
    assert not before.errors
    assert any(result.findings() for result in before.principals)

    suggestions = suggest(before, "service")
    patch = render_patch(suggestions, tree)
    assert patch.startswith("--- a/") and "\n+++ b/" in patch
    apply_patch(tree, patch)

    after = scan(tree, access_data)
    assert not after.errors
    assert all(result.status == "analyzed" for result in after.principals)
    assert [r.namespaces_in("unused") + r.namespaces_in("stale") for r in after.principals] == [[]]
    assert allow_actions(after) == FORMS[form]
    again = suggest(after, "service")
    assert {s.verdict for s in again.statements} == {"all-used"} and not again.files


def test_each_file_is_changed_once_in_the_patch(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    suggestions = suggest(scan(tree, access_data), "service")
    patch = render_patch(suggestions, tree)
    assert patch.count("--- a/main.tf\n") == 1
    assert [len(s.files) for s in [suggestions]] == [1]


def test_statement_edits_keep_the_layout(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "heredoc")
    apply_patch(tree, render_patch(suggest(scan(tree, access_data), "service"), tree))
    text = (tree / "main.tf").read_text(encoding="utf-8")
    assert '          "Action": [\n            "sqs:ReceiveMessage"\n          ],' in text
    assert '"athena:*"' not in text and "cloudwatch" not in text
    assert '"Resource": "*"\n        }\n      ]' in text


def test_deny_statement_is_never_touched(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "policy-document")
    suggestions = suggest(scan(tree, access_data), "service")
    assert all("ec2" not in s.removable_services for s in suggestions.statements)
    apply_patch(tree, render_patch(suggestions, tree))
    text = (tree / "main.tf").read_text(encoding="utf-8")
    assert 'effect    = "Deny"\n    actions   = ["ec2:*"]' in text and 'values   = ["eu-west-1"]' in text
    assert 'sid       = "Gone"' not in text and "\n\n\n" not in text


def test_resource_and_condition_are_left_as_written(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "templatefile-json")
    apply_patch(tree, render_patch(suggest(scan(tree, access_data), "service"), tree))
    text = (tree / "policy.json.tpl").read_text(encoding="utf-8")
    assert '"Action": ["s3:GetObject"],\n      "Resource": "arn:aws:s3:::${bucket}/*"' in text


def test_verdicts_name_what_is_unused_and_what_is_kept(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    statements = by_line(suggest(scan(tree, access_data), "service"))
    logs, kms, sqs = statements[12], statements[18], statements[26]
    assert (logs.verdict, logs.removable_services) == ("partly-unused", ("dynamodb",))
    assert [(k.namespace, k.reason) for k in logs.kept] == [("logs", "used by aws_iam_role.app")]
    assert logs.suggested_actions == ("logs:PutLogEvents", "logs:CreateLogStream")
    assert 'Action   = ["logs:PutLogEvents", "logs:CreateLogStream"]' in (logs.rewritten or "")
    assert (kms.verdict, kms.suggested_actions, kms.rewritten) == ("unused", (), "")
    assert (sqs.verdict, sqs.rewrites) == ("all-used", None)
    assert logs.principals == ("aws_iam_role.app",)


def test_text_output_shows_file_line_verdict_and_the_rewritten_statement(
    tmp_path: Path, access_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tree_of(tmp_path, "cloudformation-yaml")
    monkeypatch.chdir(tree)
    text = render_suggestions(suggest(scan(Path("."), access_data), "service"))
    assert "template.yaml:18  partly-unused  (AppRole)" in text
    assert "  remove services: sns" in text
    mixed = "    - Sid: Mixed\n      Effect: Allow\n      Action:\n        - s3:GetObject\n      Resource:"
    assert mixed in text
    kms = "template.yaml:24  unused  (AppRole)\n  remove services: kms\n  suggested: remove this statement"
    assert kms in text
    assert "template.yaml:27  partly-unused" in text and 'Action: [logs:PutLogEvents]' in text
    assert text.endswith("3 Allow statements: 0 all used, 2 partly unused, 1 unused, 0 not judged\n")


def test_json_fields(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "file-json")
    document = suggestions_json(suggest(scan(tree, access_data), "service"))
    glue = next(s for s in document["statements"] if s["removable_services"] == ["glue"])  # type: ignore[index]
    assert glue["verdict"] == "unused" and glue["suggested_actions"] == [] and glue["edited"] is True
    assert glue["file"].endswith("policy.json") and glue["line"] == 4
    assert json.dumps(document)


def test_a_file_without_a_final_newline_still_patches(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "file-json")
    policy = tree / "policy.json"
    policy.write_text(
        '{"Version": "2012-10-17", "Statement": [\n'
        '  {"Effect": "Allow", "Action": "glue:GetTable", "Resource": "*"},\n'
        '  {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "kms:Decrypt"], "Resource": "*"}]}',
        encoding="utf-8",
    )
    patch = render_patch(suggest(scan(tree, access_data), "service"), tree)
    assert patch.count("\\ No newline at end of file\n") == 2
    apply_patch(tree, patch)
    assert policy.read_text(encoding="utf-8") == (
        '{"Version": "2012-10-17", "Statement": [\n'
        '  {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"}]}'
    )
    assert not scan(tree, access_data).errors


def changed_lines(patch: str) -> list[str]:
    return [line for line in patch.splitlines() if line.startswith(("-", "+"))]


def shared_policy_data(tmp_path: Path, reader: dict, auditor: dict) -> Path:
    """Reports for the shared-policy tree's two roles, and for the policy itself (whose
    report follows the reader's use)."""
    return write_access_data(tmp_path / "data.json", {
        role_arn("shared-reader"): report(reader),
        role_arn("shared-auditor"): report(auditor),
        f"arn:aws:iam::{ACCOUNT}:policy/shared": report(reader),
    })


def test_shared_managed_policy_loses_only_what_no_holder_uses(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, "shared-policy")
    reader = {"s3": USED, "sns": None, "iam": None}
    auditor = {"s3": None, "sns": None, "iam": None}
    data = shared_policy_data(tmp_path, reader, auditor)
    suggestions = suggest(scan(tree, data), "service")
    statement = by_line(suggestions)[16]
    assert statement.principals == ("aws_iam_policy.shared", "aws_iam_role.auditor", "aws_iam_role.reader")
    assert statement.removable_services == ("sns",) and statement.suggested_actions == ("s3:GetObject",)
    [kept] = statement.kept
    assert kept.namespace == "s3" and kept.needed_by == ("aws_iam_role.reader",)
    assert any(
        "s3 is still needed by aws_iam_role.reader" in note and "aws_iam_role.auditor" in note
        and "separate policy" in note for note in statement.notes
    )
    apply_patch(tree, render_patch(suggestions, tree))
    assert allow_actions(scan(tree, data)) == {("s3:GetObject",)}


def test_not_action_statement_gets_a_note_and_no_edit(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, "shared-policy")
    quiet = {"s3": None, "sns": None, "iam": None}
    data = shared_policy_data(tmp_path, quiet, quiet)
    suggestions = suggest(scan(tree, data), "service")
    statement = by_line(suggestions)[21]
    assert statement.verdict == "partly-unused" and "s3" in statement.removable_services
    assert statement.rewrites is None and statement.rewritten is None
    assert any("rewrite it as an Action list" in note for note in statement.notes)
    assert "NotAction" in (tree / "main.tf").read_text(encoding="utf-8")
    assert not any("NotAction" in line for line in changed_lines(render_patch(suggestions, tree)))


def test_young_principal_gets_a_note_and_no_edit(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    created = {"aws_iam_role.app": NOW - timedelta(days=5)}
    suggestions = suggest(scan(tree, access_data), "service", min_age_days=30, created=created)
    assert not suggestions.files and render_patch(suggestions, tree) == ""
    logs = by_line(suggestions)[12]
    assert logs.verdict == "partly-unused" and logs.rewrites is None
    assert any("created 5 days ago (less than 30)" in note for note in logs.notes)
    old_enough = suggest(scan(tree, access_data), "service", min_age_days=3, created=created)
    assert old_enough.files


def test_service_added_by_the_pending_change_is_never_removed(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    run = scan(tree, access_data)
    run = replace(run, principals=tuple(replace(p, added=("dynamodb", "kms")) for p in run.principals))
    statements = by_line(suggest(run, "service"))
    logs, kms = statements[12], statements[18]
    assert logs.verdict == "all-used" and logs.rewrites is None
    assert ("dynamodb", "added by the pending change to aws_iam_role.app") in [(k.namespace, k.reason)
                                                                                for k in logs.kept]
    assert kms.verdict == "all-used"


def test_principal_not_analysed_is_never_edited(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    data = write_access_data(tmp_path / "data.json", {role_arn("someone-else"): report(ACTIVITY)})
    suggestions = suggest(scan(tree, data), "service")
    assert {s.verdict for s in suggestions.statements} == {"unknown"} and not suggestions.files
    assert all("was not analysed (no-data)" in s.notes[0] for s in suggestions.statements)


def test_last_statement_of_a_shared_policy_is_not_deleted(tmp_path: Path) -> None:
    """A managed policy defined in the code, attached to two roles: removing it would take
    its attachments too, so the note says so and nothing is edited."""
    tree = tree_of(tmp_path, "shared-policy")
    main = tree / "main.tf"
    text = main.read_text(encoding="utf-8")
    main.write_text(text.replace(text[text.index("      {\n        Effect    = \"Allow\"\n        NotAction"):
                                      text.index("    ]\n  })")], ""), encoding="utf-8")
    quiet = {"s3": None, "sns": None}
    data = shared_policy_data(tmp_path, quiet, quiet)
    suggestions = suggest(scan(tree, data), "service")
    [statement] = suggestions.statements
    assert statement.verdict == "unused" and not suggestions.files and not suggestions.policies
    assert "remove the policy" in statement.notes[-1]


NOTHING_USED = {namespace: None for namespace in ACTIVITY}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_policy_with_nothing_used_is_removed_whole(tmp_path: Path, form: str) -> None:
    """Every Allow statement unused: the inline policy goes whole (a policy that also has a
    Deny statement keeps it), the patch applies, and the tree still parses."""
    tree = tree_of(tmp_path, form)
    data = write_access_data(tmp_path / "data.json", {role_arn(name): report(NOTHING_USED) for name in ROLES})
    suggestions = suggest(scan(tree, data), "service")
    has_deny = "Deny" in "".join(p.read_text(encoding="utf-8") for p in tree.iterdir() if p.is_file())
    assert [p.removed for p in suggestions.policies] == ([] if has_deny else [True])
    assert all(s.policy is not None for s in suggestions.statements) != has_deny
    apply_patch(tree, render_patch(suggestions, tree))
    after = scan(tree, data)
    assert after.errors == () and allow_actions(after) == set()
    assert all(not p.findings() for p in after.principals)
    assert (after.principals[0].principal.grants == ()) != has_deny


def test_removing_a_cloudformation_policy_entry_keeps_the_others(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, "cloudformation-yaml")
    template = tree / "template.yaml"
    text = template.read_text(encoding="utf-8")
    second = (
        "        - PolicyName: queue\n          PolicyDocument:\n            Statement:\n"
        "              - Effect: Allow\n                Action: sqs:SendMessage\n"
        "                Resource: \"*\"\n"
    )
    template.write_text(text.replace("        - PolicyName: app\n", second + "        - PolicyName: app\n"),
                        encoding="utf-8")
    nothing = write_access_data(tmp_path / "nothing.json", {role_arn("cfn-yaml-app"): report(NOTHING_USED)})
    suggestions = suggest(scan(tree, nothing), "service")
    assert sorted(p.location.line for p in suggestions.policies if p.removed) == [14, 20]
    queue_unused = report({**ACTIVITY, "sqs": None})
    data = write_access_data(tmp_path / "data.json", {role_arn("cfn-yaml-app"): queue_unused})
    suggestions = suggest(scan(tree, data), "service")
    [policy] = suggestions.policies
    assert (policy.location.line, policy.removable_services, policy.removed) == (14, ("sqs",), True)
    apply_patch(tree, render_patch(suggestions, tree))
    assert "Policies:" in template.read_text(encoding="utf-8")
    assert all(not p.findings() for p in scan(tree, data).principals)


def test_an_inline_policy_block_goes_and_a_role_keeps_its_empty_block(tmp_path: Path) -> None:
    """The AWS provider leaves deployed inline policies alone when a role has no
    `inline_policy` block, so a role's last one becomes `inline_policy {}`."""
    tree = tree_of(tmp_path, "inline-policy-block")
    data = write_access_data(tmp_path / "data.json", {
        role_arn("inline-one"): report({"sqs": None}),
        role_arn("inline-two"): report({"sqs": USED, "sns": None}),
    })
    suggestions = suggest(scan(tree, data), "service")
    assert sorted((p.principals, p.location.line, p.removed) for p in suggestions.policies) == [
        (("aws_iam_role.one",), 5, True), (("aws_iam_role.two",), 26, True),
    ]
    apply_patch(tree, render_patch(suggestions, tree))
    text = (tree / "main.tf").read_text(encoding="utf-8")
    assert text.count("inline_policy {}") == 1 and text.count('name = "topic"') == 0
    assert text.count('name = "queue"') == 1
    after = scan(tree, data)
    assert allow_actions(after) == {("sqs:SendMessage",)}
    assert all(not p.findings() for p in after.principals)


SQS_READ_ONLY = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"
LOGS_READ_ONLY = "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess"


def policy_version(*statements: dict) -> dict:
    """What `aws iam get-policy-version` prints for an AWS managed policy."""
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return {"PolicyVersion": {"Document": document, "VersionId": "v1", "IsDefaultVersion": True}}


def managed_data(tmp_path: Path, activity: dict[str, datetime | None], with_documents: bool = True) -> Path:
    entries = {role_arn("managed-app"): report(activity)}
    if with_documents:
        entries[SQS_READ_ONLY] = policy_version(
            {"Effect": "Allow", "Action": ["sqs:GetQueueAttributes", "sqs:ListQueues"], "Resource": "*"})
        entries[LOGS_READ_ONLY] = policy_version(
            {"Effect": "Allow", "Action": ["logs:Describe*", "logs:Get*"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["cloudwatch:GetMetricData"], "Resource": "*"})
    return write_access_data(tmp_path / "data.json", entries)


def test_an_aws_managed_policy_nothing_uses_is_detached(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, "aws-managed")
    data = managed_data(tmp_path, {"sqs": None, "logs": USED, "cloudwatch": USED, "ec2": None})
    run = scan(tree, data)
    services = {s.namespace: s for s in run.principals[0].services}
    assert services["sqs"].state == "unused" and services["sqs"].granted_by[0].line == 6
    assert services["ec2"].state == "not-granted"  # granted by neither policy: the report is older
    suggestions = suggest(run, "service")
    [policy] = suggestions.policies
    assert (policy.policy_arn, policy.location.line, policy.removed) == (SQS_READ_ONLY, 6, True)
    assert "remove this attachment" in render_suggestions(suggestions)
    apply_patch(tree, render_patch(suggestions, tree))
    assert "AmazonSQSReadOnlyAccess" not in (tree / "main.tf").read_text(encoding="utf-8")
    assert all(not p.findings() for p in scan(tree, data).principals)


def test_an_aws_managed_policy_partly_used_is_not_edited_and_the_note_says_what_to_keep(tmp_path):
    tree = tree_of(tmp_path, "aws-managed")
    data = managed_data(tmp_path, {"sqs": USED, "logs": USED, "cloudwatch": None})
    suggestions = suggest(scan(tree, data), "service")
    [policy] = suggestions.policies
    assert (policy.policy_arn, policy.verdict, policy.removed) == (LOGS_READ_ONLY, "partly-unused", False)
    assert policy.removable_services == ("cloudwatch",) and policy.kept_services == ("logs",)
    assert "attach a policy of your own instead, granting only logs" in policy.notes[0]
    assert not suggestions.files
    policies = suggestions_json(suggestions)["policies"]
    assert policies[0]["policy_arn"] == LOGS_READ_ONLY and policies[0]["edited"] is False


def test_without_its_document_an_aws_managed_policy_keeps_the_report_services(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, "aws-managed")
    data = managed_data(tmp_path, {"sqs": None, "ec2": None}, with_documents=False)
    run = scan(tree, data)
    services = {s.namespace: s for s in run.principals[0].services}
    assert services["ec2"].state == "unused"
    assert [location.line for location in services["ec2"].granted_by] == [6, 11]
    suggestions = suggest(run, "service")
    assert not suggestions.policies and not suggestions.files


def test_action_list_that_is_not_literal_is_not_edited(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "policy-document")
    main = tree / "main.tf"
    text = main.read_text(encoding="utf-8").replace('["s3:GetObject", "sns:Publish"]', "var.actions")
    main.write_text('variable "actions" {\n  default = ["s3:GetObject", "sns:Publish"]\n}\n\n' + text,
                    encoding="utf-8")
    suggestions = suggest(scan(tree, access_data), "service")
    mixed = by_line(suggestions)[11]
    assert mixed.verdict == "partly-unused" and mixed.rewritten is None
    assert "not written literally" in mixed.notes[-1]
    changed = changed_lines(render_patch(suggestions, tree))[2:]
    assert '-    sid       = "Gone"' in changed and not any("var.actions" in line for line in changed)


def s3_actions() -> list[str]:
    return sorted(action.split(":")[1] for action in catalog.actions_matching("s3:*"))


def app_data(tmp_path: Path, app_report: dict) -> Path:
    return write_access_data(tmp_path / "data.json", {role_arn("jsonencode-app"): app_report})


def wildcard_tree(tmp_path: Path) -> Path:
    tree = tree_of(tmp_path, "jsonencode")
    main = tree / "main.tf"
    main.write_text(main.read_text(encoding="utf-8").replace('"sqs:SendMessage"', '"s3:*"'), encoding="utf-8")
    git(tree, "add", "-A")
    return tree


def test_action_level_replaces_a_wildcard_by_the_used_actions(tmp_path: Path) -> None:
    tree = wildcard_tree(tmp_path)
    tracked = {name: (USED if name in ("GetObject", "PutObject") else None) for name in s3_actions()}
    data = app_data(tmp_path, report(ACTIVITY, {"s3": tracked}))
    suggestions = suggest(scan(tree, data), "action")
    statement = by_line(suggestions)[26]
    assert statement.level == "action" and statement.verdict == "partly-unused"
    assert statement.suggested_actions == ("s3:GetObject", "s3:PutObject")
    assert "s3:DeleteBucket" in statement.removable_actions
    assert "s3:GetObject" not in statement.removable_actions
    logs_notes = by_line(suggestions)[12].notes
    assert any("logs: no action-level data; judged at service level" in note for note in logs_notes)
    apply_patch(tree, render_patch(suggestions, tree))
    assert 'Action = ["s3:GetObject", "s3:PutObject"]' in (tree / "main.tf").read_text(encoding="utf-8")
    assert ("s3:GetObject", "s3:PutObject") in allow_actions(scan(tree, data))


def test_action_level_keeps_actions_iam_does_not_track(tmp_path: Path) -> None:
    tree = wildcard_tree(tmp_path)
    tracked = {"GetObject": USED, "DeleteBucket": None, "PutBucketPolicy": None}
    data = app_data(tmp_path, report(ACTIVITY, {"s3": tracked}))
    statement = by_line(suggest(scan(tree, data), "action"))[26]
    suggested = statement.suggested_actions or ()
    assert "s3:GetObject" in suggested and "s3:ListBucket" in suggested
    assert "s3:DeleteBucket" not in suggested and "s3:PutBucketPolicy" not in suggested
    assert len(suggested) == len(s3_actions()) - 2
    assert any("that IAM does not track" in note for note in statement.notes)


def test_service_level_leaves_a_used_wildcard_alone(tmp_path: Path) -> None:
    tree = wildcard_tree(tmp_path)
    tracked = {name: (USED if name == "GetObject" else None) for name in s3_actions()}
    data = app_data(tmp_path, report(ACTIVITY, {"s3": tracked}))
    statement = by_line(suggest(scan(tree, data), "service"))[26]
    assert (statement.verdict, statement.rewrites) == ("all-used", None)


def test_a_multi_service_wildcard_is_split_per_kept_service(tmp_path: Path) -> None:
    tree = wildcard_tree(tmp_path)
    main = tree / "main.tf"
    main.write_text(main.read_text(encoding="utf-8").replace('"s3:*"', '"s*:*"'), encoding="utf-8")
    covered = catalog.services_for_actions(("s*:*",))
    activity = {namespace: None for namespace in covered} | {"s3": USED, "sqs": USED}
    data = app_data(tmp_path, report(ACTIVITY | activity))
    statement = by_line(suggest(scan(tree, data), "service"))[26]
    assert statement.suggested_actions == ("s3:*", "sqs:*")
    assert "sns" in statement.removable_services


WILDCARD_FORMS = {
    "policy-document": "main.tf",
    "templatefile-json": "policy.json.tpl",
    "cloudformation-yaml": "template.yaml",
    "cloudformation-json": "template.json",
}


@pytest.mark.parametrize("form", sorted(WILDCARD_FORMS))
def test_action_level_patch_in_every_syntax(tmp_path: Path, form: str) -> None:
    tree = tree_of(tmp_path, form)
    source = tree / WILDCARD_FORMS[form]
    source.write_text(source.read_text(encoding="utf-8").replace("s3:GetObject", "s3:*"), encoding="utf-8")
    tracked = {name: (USED if name in ("GetObject", "PutObject") else None) for name in s3_actions()}
    data = write_access_data(
        tmp_path / "data.json", {role_arn(name): report(ACTIVITY, {"s3": tracked}) for name in ROLES}
    )
    apply_patch(tree, render_patch(suggest(scan(tree, data), "action"), tree))
    after = scan(tree, data)
    assert not after.errors
    assert ("s3:GetObject", "s3:PutObject") in allow_actions(after)
    assert [r.namespaces_in("unused") + r.namespaces_in("stale") for r in after.principals] == [[]]


def test_two_statements_on_one_line_are_told_apart(tmp_path: Path, access_data: Path) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    main = tree / "main.tf"
    one_line = (
        '      { Effect = "Allow", Action = "sqs:SendMessage", Resource = "*" }, '
        '{ Effect = "Allow", Action = ["athena:GetQueryResults", "sqs:ReceiveMessage"], Resource = "*" },'
    )
    text = main.read_text(encoding="utf-8")
    main.write_text(
        text.replace('      { Effect = "Allow", Action = "sqs:SendMessage", Resource = "*" },', one_line),
        encoding="utf-8",
    )
    suggestions = suggest(scan(tree, access_data), "service")
    on_line = [s for s in suggestions.statements if s.location.line == 26]
    assert sorted(s.verdict for s in on_line) == ["all-used", "partly-unused"]
    apply_patch(tree, render_patch(suggestions, tree))
    assert ("sqs:ReceiveMessage",) in allow_actions(scan(tree, access_data))


def test_text_output_shortens_long_action_lists(tmp_path: Path) -> None:
    tree = wildcard_tree(tmp_path)
    tracked = {name: (USED if name == "GetObject" else None) for name in s3_actions()}
    data = app_data(tmp_path, report(ACTIVITY, {"s3": tracked}))
    text = render_suggestions(suggest(scan(tree, data), "action"))
    [line] = [line for line in text.splitlines() if line.startswith("  remove actions: ")]
    assert line.endswith(f" and {len(s3_actions()) - 1 - 8} more") and line.count(",") == 7


def test_action_level_drops_unused_explicit_actions(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    main = tree / "main.tf"
    text = main.read_text(encoding="utf-8").replace('"sqs:SendMessage"', '"s3:PutBucketPolicy"')
    main.write_text(text.replace('"logs:CreateLogStream"]', '"logs:CreateLogStream", "s3:DeleteBucket"]'),
                    encoding="utf-8")
    tracked = {"GetObject": USED, "DeleteBucket": None, "PutBucketPolicy": None}
    data = app_data(tmp_path, report(ACTIVITY | {"s3": USED}, {"s3": tracked}))
    suggestions = suggest(scan(tree, data), "action")
    logs, s3 = by_line(suggestions)[12], by_line(suggestions)[26]
    assert logs.suggested_actions == ("logs:PutLogEvents", "logs:CreateLogStream")
    assert logs.removable_actions == ("s3:DeleteBucket",)
    assert (s3.verdict, s3.removable_services, s3.suggested_actions) == ("unused", (), ())
    apply_patch(tree, render_patch(suggestions, tree))
    assert allow_actions(scan(tree, data)) == {("logs:PutLogEvents", "logs:CreateLogStream")}


@pytest.mark.parametrize("example", ["terraform", "cloudformation"])
def test_the_examples_patch_applies_and_leaves_no_unused_service(tmp_path, monkeypatch, capsys, example):
    """The issue's done-when, as a new user would try it: the example's patch passes
    `git apply --check`, and once applied the scan finds nothing unused or stale (the
    AWS managed policies' statements come from the access-data file)."""
    from iam_lastused.cli.main import main

    root = Path(__file__).parent.parent
    shutil.copytree(root / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    scan = ["scan", f"examples/{example}", "--access-data", "examples/access-data.json"]
    assert main([*scan, "--fail-on", "stale"]) == 1
    capsys.readouterr()
    assert main([*scan, "--suggest=patch"]) == 0
    patch = capsys.readouterr().out
    assert patch.startswith(f"--- a/examples/{example}/")
    subprocess.run(["git", "apply", "--check"], input=patch.encode(), check=True)
    subprocess.run(["git", "apply"], input=patch.encode(), check=True)
    assert main([*scan, "--format", "json", "--fail-on", "stale"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == []
    analysed = [p for p in report["principals"] if p["status"] == "analyzed"]
    assert len(analysed) == {"terraform": 3, "cloudformation": 4}[example]
    assert all(p["unused_services"] == p["stale_services"] == [] for p in analysed)


def test_suggestion_text_escapes_what_the_code_wrote() -> None:
    """Actions and addresses come from the code: a terminal escape in one is shown, not run."""
    from iam_lastused.model import Location
    from iam_lastused.suggest.verdicts import PolicySuggestion

    statement = StatementSuggestion(Location("main.tf", 3), ("aws_iam_role.x\x1b[2J",), "unused", "service",
                                    ("s3:Get\x1b]8;;evil\x07",), ("s3",), rewrites=((),))
    policy = PolicySuggestion(Location("main.tf", 9), ("aws_iam_role.\u202ex",), "unused", removed=True)
    text = render_suggestions(Suggestions((statement,), policies=(policy,)))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "aws_iam_role.x\\x1b[2J" in text and "aws_iam_role.\\u202ex" in text


S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
READ_ONLY_DOCUMENTS = {
    SQS_READ_ONLY: policy_version({"Effect": "Allow", "Action": ["sqs:ListQueues"], "Resource": "*"}),
    S3_READ_ONLY: policy_version({"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}),
}


def test_an_attachment_other_module_instances_use_is_not_removed(tmp_path: Path) -> None:
    """One attachment resource, two module instances, two policies: the one whose policy is
    unused cannot lose the resource the other's needs."""
    tree = tree_of(tmp_path, "module-instances")
    data = write_access_data(tmp_path / "data.json", {
        role_arn("one"): report({"sqs": None}), role_arn("two"): report({"s3": USED}), **READ_ONLY_DOCUMENTS,
    })
    suggestions = suggest(scan(tree, data), "service")
    [policy] = suggestions.policies
    assert (policy.policy_arn, policy.removed) == (SQS_READ_ONLY, False)
    assert "another module instance" in policy.notes[0]
    assert not suggestions.files


def cloudformation_tree(tmp_path: Path, template: str) -> Path:
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "template.yaml").write_bytes(template.encode())
    git(tree, "init", "-q")
    return tree


ROLE_HEAD = """\
Resources:
  App:
    Type: AWS::IAM::Role
    Properties:
      RoleName: cfn-yaml-app
      AssumeRolePolicyDocument: {}
"""


def test_two_entries_on_one_line_are_left_alone(tmp_path: Path) -> None:
    """A finding's line cannot say which entry of `[A, B]` it means: neither is removed."""
    one_line = f"      ManagedPolicyArns: [{SQS_READ_ONLY}, {S3_READ_ONLY}]\n"
    tree = cloudformation_tree(tmp_path, ROLE_HEAD + one_line)
    data = write_access_data(tmp_path / "data.json", {
        role_arn("cfn-yaml-app"): report({"sqs": None, "s3": USED}), **READ_ONLY_DOCUMENTS,
    })
    suggestions = suggest(scan(tree, data), "service")
    assert [(p.policy_arn, p.removed) for p in suggestions.policies] == [(SQS_READ_ONLY, False)]
    assert not suggestions.files


def test_neighbouring_policies_at_the_end_of_a_file_go_together(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, "jsonencode")
    main = tree / "main.tf"
    text = main.read_text(encoding="utf-8")
    for name, action in (("queue", "sqs:SendMessage"), ("topic", "sns:Publish")):
        text += (
            f'\nresource "aws_iam_role_policy" "{name}" {{\n  role = aws_iam_role.app.id\n'
            f'  policy = jsonencode({{ Statement = [{{ Effect = "Allow", Action = "{action}", '
            'Resource = "*" }] })\n'
            "}\n"
        )
    main.write_text(text, encoding="utf-8")
    quiet_queue = report(ACTIVITY | {"sqs": None})
    data = write_access_data(tmp_path / "data.json", {role_arn("jsonencode-app"): quiet_queue})
    suggestions = suggest(scan(tree, data), "service")
    assert sorted(p.location.line for p in suggestions.policies if p.removed) == [31, 36]
    apply_patch(tree, render_patch(suggestions, tree))
    after = main.read_text(encoding="utf-8")
    assert "queue" not in after and "topic" not in after and after.endswith("})\n}\n")


def test_a_block_scalar_before_a_removed_statement_keeps_its_layout(tmp_path: Path) -> None:
    policy = """\
      Policies:
        - PolicyName: app
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: s3:GetObject
                Resource: >-
                  arn:aws:s3:::bucket/*
              - Effect: Allow
                Action: sqs:SendMessage
                Resource: "*"
          Other: 1
"""
    tree = cloudformation_tree(tmp_path, ROLE_HEAD + policy)
    queue_unused = report({"s3": USED, "sqs": None})
    data = write_access_data(tmp_path / "data.json", {role_arn("cfn-yaml-app"): queue_unused})
    apply_patch(tree, render_patch(suggest(scan(tree, data), "service"), tree))
    after = (tree / "template.yaml").read_text(encoding="utf-8")
    assert "arn:aws:s3:::bucket/*\n          Other: 1\n" in after


def test_a_file_with_crlf_line_endings_patches(tmp_path: Path) -> None:
    tree = cloudformation_tree(tmp_path, (ROLE_HEAD + f"      ManagedPolicyArns:\n        - {SQS_READ_ONLY}\n"
                                          f"        - {S3_READ_ONLY}\n").replace("\n", "\r\n"))
    data = write_access_data(tmp_path / "data.json", {
        role_arn("cfn-yaml-app"): report({"sqs": None, "s3": USED}), **READ_ONLY_DOCUMENTS,
    })
    apply_patch(tree, render_patch(suggest(scan(tree, data), "service"), tree))
    after = (tree / "template.yaml").read_bytes()
    assert SQS_READ_ONLY.encode() not in after and after.count(b"\r\n") == after.count(b"\n") == 8
