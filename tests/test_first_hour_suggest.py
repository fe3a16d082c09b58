"""`--suggest` text as a new user reads it (issue 25): the suggested statement indented
as it is written, and a note that reads as English."""

from __future__ import annotations

import json
from pathlib import Path

ROLE = 'resource "aws_iam_role" "{name}" {{\n  name = "{name}"\n  assume_role_policy = "{{}}"\n}}\n'
INLINE = """\
resource "aws_iam_role_policy" "app" {
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject", "sqs:SendMessage"]
      Resource = "*"
    }]
  })
}
"""
SHARED = """\
resource "aws_iam_policy" "shared" {
  name   = "shared"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:GetObject", "sqs:SendMessage"], Resource = "*" }]
  })
}
resource "aws_iam_role_policy_attachment" "app" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.shared.arn
}
resource "aws_iam_role_policy_attachment" "audit" {
  role       = aws_iam_role.audit.name
  policy_arn = aws_iam_policy.shared.arn
}
"""


def _report(used: list[str], unused: list[str]) -> dict:
    services = [
        {"ServiceName": name, "ServiceNamespace": name, "TotalAuthenticatedEntities": 1,
         "LastAuthenticated": "2026-11-22T11:05:31+00:00"} for name in used
    ] + [{"ServiceName": name, "ServiceNamespace": name, "TotalAuthenticatedEntities": 0} for name in unused]
    return {"JobStatus": "COMPLETED", "JobType": "SERVICE_LEVEL",
            "JobCreationDate": "2026-11-24T08:00:03+00:00", "ServicesLastAccessed": services}


def _access(tmp_path: Path, reports: dict[str, dict]) -> str:
    path = tmp_path / "access.json"
    path.write_text(json.dumps({f"arn:aws:iam::111122223333:{name}": r for name, r in reports.items()}))
    return str(path)


def test_a_statement_opening_after_other_text_is_suggested_at_its_lines_indentation(cli, tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.tf").write_text(ROLE.format(name="app") + INLINE)
    access = _access(tmp_path, {"role/app": _report(["s3"], ["sqs"])})
    run = cli("scan", str(tmp_path / "code"), "--access-data", access, "--account-id", "111122223333",
              "--suggest")
    suggested = run.out[run.out.index("  suggested:\n"):].splitlines()[1:6]
    assert suggested == [
        "    {",
        '      Effect   = "Allow"',
        '      Action   = ["s3:GetObject"]',
        '      Resource = "*"',
        "    }",
    ]


def test_the_note_on_a_service_one_holder_still_needs_reads_right(cli, tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.tf").write_text(ROLE.format(name="app") + ROLE.format(name="audit") + SHARED)
    access = _access(tmp_path, {
        "role/app": _report(["s3"], ["sqs"]), "role/audit": _report([], ["s3", "sqs"]),
        "policy/shared": _report(["s3"], ["sqs"]),
    })
    run = cli("scan", str(tmp_path / "code"), "--access-data", access, "--account-id", "111122223333",
              "--suggest")
    assert (
        "  note: s3 is still needed by aws_iam_role.app; aws_iam_role.audit does not use it, and can lose it "
        "only through a separate policy\n"
    ) in run.out
    assert "which do not use it" not in run.out
