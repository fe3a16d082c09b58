"""The linter lines of the pre-commit hooks (`--format lint`), through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_hook_lines_name_file_line_rule_and_fail_by_default(cli, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples" / "terraform", tmp_path / "infra")
    (tmp_path / "infra" / "broken.tf").write_text('resource "aws_iam_role" "x" {\n  name = \n')
    monkeypatch.chdir(tmp_path)
    run = cli("hook", "--offline", "infra/main.tf")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].startswith("infra/main.tf:50: [service-wildcard] role aws_iam_role.ci_deployer: ")
    assert lines[1].startswith("infra/broken.tf:2: [input-error] cannot parse: ")
    assert lines[-1] == "iam-lastused: 1 finding in 1 principal of 4, 1 file not read"
    relaxed = cli("hook", "--offline", "--fail-on", "never", "infra/main.tf")
    assert relaxed.code == 1  # a file that cannot be read still fails the hook


def test_a_suppressed_finding_is_counted_and_does_not_fail(cli, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples" / "terraform", tmp_path / "infra")
    main = tmp_path / "infra" / "main.tf"
    lines = main.read_text().splitlines()
    lines.insert(49, "    # iam-lastused:ignore=cloudformation deploys every stack")
    main.write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    access = str(ROOT / "examples" / "access-data.json")
    run = cli("scan", "infra", "--format", "lint", "--access-data", access, "--fail-on", "unused")
    assert "[service-wildcard]" in run.out
    assert "[stale-service] role aws_iam_role.ci_deployer" not in run.out
    assert run.out.splitlines()[-1].endswith(", 1 suppressed")
