"""One HCL tree (issue 24, item 7): the Terraform source and the suggestions' rewriter read
HCL through the one parser of `sources/terraform/hcl.py`, so the rewriter edits every file
the source reads, and python-hcl2 is imported in that one module only."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import iam_lastused

PACKAGE = Path(iam_lastused.__file__).parent
HCL_READER = PACKAGE / "sources" / "terraform" / "hcl.py"


def _imported(path: Path) -> set[str]:
    """The top-level names of the modules `path` imports, anywhere in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_hcl_reader_imports_python_hcl2() -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if "hcl2" in _imported(path)
    )
    assert importers == [str(HCL_READER.relative_to(PACKAGE))]


ROLE = """\
resource "aws_iam_role" "app" {
  name = "app"
  assume_role_policy = <<EOF
{}
EOF   \n}

resource "aws_iam_role_policy" "app" {
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:GetObject", "sqs:SendMessage"], Resource = "*" }]
  })
}
"""


def test_a_file_the_source_reads_but_python_hcl2_refuses_is_patched(cli, tmp_path, monkeypatch) -> None:
    """Blanks after a heredoc's closing marker: Terraform reads the file, python-hcl2 alone
    refuses all of it; the source reads it, and so now does the rewriter."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.tf").write_text(ROLE)
    services = [
        {"ServiceName": "Amazon S3", "ServiceNamespace": "s3", "TotalAuthenticatedEntities": 1,
         "LastAuthenticated": "2026-11-22T11:05:31+00:00"},
        {"ServiceName": "Amazon SQS", "ServiceNamespace": "sqs", "TotalAuthenticatedEntities": 0},
    ]
    report = {"JobStatus": "COMPLETED", "JobType": "SERVICE_LEVEL",
              "JobCreationDate": "2026-11-24T08:00:03+00:00", "ServicesLastAccessed": services}
    (tmp_path / "access.json").write_text(json.dumps({"arn:aws:iam::111122223333:role/app": report}))
    monkeypatch.chdir(tmp_path)
    run = cli("scan", "code", "--access-data", "access.json", "--account-id", "111122223333",
              "--suggest=patch")
    assert run.code == 0
    changed = [line for line in run.out.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    statement = '    Statement = [{{ Effect = "Allow", Action = [{}], Resource = "*" }}]'
    assert changed == [
        "-" + statement.format('"s3:GetObject", "sqs:SendMessage"'),
        "+" + statement.format('"s3:GetObject"'),
    ]
