"""Edges a user hits: misused options, --output, the hook's scope, plan patches."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from iam_lastused.cli.parser import build_parser

ROOT = Path(__file__).parent.parent
ACCESS = str(ROOT / "examples" / "access-data.json")


def test_suggest_text_with_a_machine_format_is_a_usage_error(cli, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        cli("scan", str(ROOT / "examples"), "--access-data", ACCESS, "--format", "sarif", "--suggest")
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert "--suggest=patch" in captured.err and captured.out == ""


def test_output_is_written_with_normal_permissions_and_no_leftovers(cli, tmp_path):
    out = tmp_path / "report.txt"
    assert cli("scan", str(ROOT / "examples"), "--access-data", ACCESS, "--output", str(out)).code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    directory = tmp_path / "taken"
    directory.mkdir()
    run = cli("scan", str(ROOT / "examples"), "--access-data", ACCESS, "--output", str(directory))
    assert run.code == 2 and "cannot write" in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt", "taken"]


def test_hook_reads_the_changed_files_module_not_the_directories_below(cli, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples" / "terraform", tmp_path / "live")
    shutil.copytree(ROOT / "examples" / "terraform", tmp_path / "live" / "nested-copy")
    monkeypatch.chdir(tmp_path)
    run = cli("hook", "--offline", "live/main.tf", "--format", "json")
    addresses = [p["address"] for p in run.json["principals"]]
    assert "aws_iam_role.ci_deployer" in addresses
    assert all(not (p["file"] or "").startswith("live/nested-copy") for p in run.json["principals"])


def test_plan_patch_edits_policy_documents_whose_actions_the_plan_sorted(cli, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    run = cli("plan", "examples/plan/plan.json", "--access-data", "examples/access-data.json",
              "--chdir", "examples/terraform", "--suggest=patch")
    assert "+++ b/examples/terraform/main.tf" in run.out
    assert '-    actions   = ["s3:GetObject", "s3:PutObject", "cloudformation:*"]' in run.out


def test_also_write_gives_every_format_from_one_run(cli, tmp_path):
    markdown, sarif = tmp_path / "report.md", tmp_path / "report.sarif"
    run = cli("scan", str(ROOT / "examples"), "--access-data", ACCESS, "--format", "json",
              "--also-write", f"markdown={markdown}", "--also-write", f"sarif={sarif}")
    assert run.code == 0
    assert {p["address"] for p in run.json["principals"]} >= {"aws_iam_role.ci_deployer"}
    assert markdown.read_text().startswith("<!-- iam-lastused")
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_python_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-I", "-m", "iam_lastused", "--version"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("iam-lastused ")


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--account-id", "abc", "12 digits"), ("--timeout", "-1", "more than 0"),
    ("--min-age-days", "-3", "0 or more"), ("--stale-days", "-1", "0 or more"),
])
def test_numeric_options_are_checked(cli, capsys, option, value, says):
    with pytest.raises(SystemExit) as stop:
        cli("scan", str(ROOT / "examples"), "--access-data", ACCESS, option, value)
    assert stop.value.code == 2 and says in capsys.readouterr().err


def test_defaults_without_options_are_text_and_never_fail(cli):
    run = cli("scan", str(ROOT / "examples"), "--access-data", ACCESS)
    assert run.code == 0 and run.out.startswith("permission-set aws_ssoadmin_permission_set.orders_developer")


@pytest.mark.parametrize(("content", "says"), [
    (b"\xff\xfe", "not UTF-8 text"), (b"[" * 100_000, "nested too deeply"),
    (b'{"arn:aws:iam::111122223333:role/x\\u001b[31m": {"ServicesLastAccessed": []}}', "needs JobStatus"),
])
def test_bad_access_data_is_one_usage_error(cli, tmp_path, content, says):
    data = tmp_path / "access.json"
    data.write_bytes(content)
    run = cli("check", "arn:aws:iam::111122223333:role/x", "--access-data", str(data))
    assert run.code == 2 and says in run.err and run.err.count("\n") == 1 and "\x1b" not in run.err


def test_a_path_that_does_not_exist_is_one_error_before_any_report(cli):
    run = cli("scan", str(ROOT / "examples"), "no-such-dir", "--access-data", ACCESS)
    assert run.code == 2 and run.out == ""
    assert run.err == "iam-lastused: error: no-such-dir: no such file or directory\n"


def test_plan_json_from_stdin(cli, monkeypatch):
    import io

    plan = (ROOT / "examples" / "plan" / "plan.json").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(plan)))
    run = cli("plan", "-", "--access-data", ACCESS, "--chdir", str(ROOT / "examples" / "terraform"),
              "--format", "json")
    assert run.code == 0
    assert "module.orders.aws_iam_role.reporter" in {p["address"] for p in run.json["principals"]}


def test_no_cache_writes_no_parse_cache_either(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("IAM_LASTUSED_CACHE_DIR", str(tmp_path / "cache"))
    run = cli("scan", str(ROOT / "examples"), "--access-data", ACCESS, "--no-cache")
    assert run.code == 0 and not (tmp_path / "cache").exists()
    cli("scan", str(ROOT / "examples"), "--access-data", ACCESS)
    assert list((tmp_path / "cache").rglob("*.json"))


def test_account_id_without_credentials_is_no_internal_error(cli, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    terraform = str(ROOT / "examples" / "terraform")
    run = cli("scan", terraform, "--account-id", "111122223333", "--format", "json")
    assert "internal error" not in run.err
    assert run.err.count("no AWS credentials found") == 1
    assert {p["arn"] for p in run.json["principals"]} >= {"arn:aws:iam::111122223333:role/ci-deployer"}


def test_the_summary_line_counts_broad_grants(cli):
    run = cli("scan", str(ROOT / "examples" / "terraform"), "--access-data", ACCESS)
    summary = next(line for line in run.out.splitlines() if " principals, " in line)
    assert summary.endswith("; 1 broad grant in the code")


def test_colour_on_a_terminal_only_when_wanted(cli, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    terraform = str(ROOT / "examples" / "terraform")
    coloured = cli("scan", terraform, "--access-data", ACCESS).out
    assert "\x1b[31m  unused  lambda" in coloured
    assert "\x1b" not in cli("scan", terraform, "--access-data", ACCESS, "--no-color").out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in cli("scan", terraform, "--access-data", ACCESS).out


def test_fetch_lists_only_the_options_it_uses(cli, capsys):
    with pytest.raises(SystemExit) as stop:
        cli("fetch", "--help")
    assert stop.value.code == 0
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert "--output FILE" in usage and "--profile" in usage and "--granularity" in usage
    for unused in ("--format", "--fail-on", "--access-data", "--also-write", "--stale-days", "--root"):
        assert unused not in usage


def test_every_option_of_every_command_has_help():
    def commands(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    yield from commands(subparser, f"{name} {sub}")
        yield name, parser

    missing = [
        f"{name}: {action.option_strings or action.metavar}"
        for name, parser in commands(build_parser(), "iam-lastused")
        for action in parser._actions
        if not action.help and not isinstance(action, argparse._SubParsersAction)
    ]
    assert missing == []


def test_hook_reads_a_change_that_touches_only_a_permission_set(cli, tmp_path, monkeypatch):
    """The hook skips files that mention no IAM type; a permission set is one (issue 27)."""
    (tmp_path / "sso.tf").write_text(
        'resource "aws_ssoadmin_permission_set" "ops" {\n'
        '  name         = "Ops"\n'
        '  instance_arn = "arn:aws:sso:::instance/ssoins-1111111111111111"\n'
        "}\n"
        'resource "aws_ssoadmin_permission_set_inline_policy" "ops" {\n'
        '  instance_arn       = "arn:aws:sso:::instance/ssoins-1111111111111111"\n'
        "  permission_set_arn = aws_ssoadmin_permission_set.ops.arn\n"
        '  inline_policy      = jsonencode({Statement = [\n'
        '    {Effect = "Allow", Action = "*", Resource = "*"}]})\n'
        "}\n"
    )
    monkeypatch.chdir(tmp_path)
    run = cli("hook", "--offline", "sso.tf", "--format", "json")
    assert [(p["address"], p["kind"]) for p in run.json["principals"]] == [
        ("aws_ssoadmin_permission_set.ops", "permission-set")]
    assert run.code == 1  # its "*" is a finding in the code alone
