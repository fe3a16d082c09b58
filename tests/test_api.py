"""The library API gives what the command line prints, for every command that reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from iam_lastused import api

ROOT = Path(__file__).resolve().parent.parent
ACCESS = str(ROOT / "examples" / "access-data.json")
PLAN = str(ROOT / "examples" / "plan" / "plan.json")


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("format", ["json", "text", "markdown", "sarif", "github"])
def test_scan_renders_as_the_cli_prints(cli, format):
    result = api.scan(["examples"], access_data="examples/access-data.json")
    printed = cli("scan", "examples", "--access-data", "examples/access-data.json", "--format", format).out
    assert api.render(result, format) == printed


def test_plan_and_check_render_as_the_cli_prints(cli):
    result = api.plan(PLAN, chdir="examples/terraform", access_data=ACCESS)
    printed = cli("plan", PLAN, "--chdir", "examples/terraform", "--access-data", ACCESS, "--format", "json")
    assert api.render(result, "json") == printed.out
    arns = ["arn:aws:iam::111122223333:role/ci-deployer"]
    assert api.render(api.check(arns, access_data=ACCESS), "json") == (
        cli("check", *arns, "--access-data", ACCESS, "--format", "json").out
    )


def test_plan_text_and_suggestions_render_as_the_cli_prints(cli):
    text = (ROOT / "examples" / "plan" / "plan.txt").read_text()
    result = api.plan(PLAN, chdir="examples/terraform", access_data=ACCESS)
    printed = cli("plan", PLAN, "--chdir", "examples/terraform", "--access-data", ACCESS,
                  "--plan-text", "examples/plan/plan.txt", "--format", "plan")
    assert api.render(result, "plan", plan_text=text) == printed.out
    scanned = api.scan(["examples/terraform"], access_data=ACCESS)
    patch = cli("scan", "examples/terraform", "--access-data", ACCESS, "--suggest=patch").out
    assert patch.startswith("--- a/examples/terraform/")
    assert api.render(scanned, "patch", suggestions=api.suggest(scanned)) == patch


def test_bad_options_are_usage_errors():
    with pytest.raises(api.UsageError, match="stale_dayz"):
        api.scan(["examples"], stale_dayz=3)
    with pytest.raises(api.UsageError, match="plan text"):
        api.render(api.check([], access_data=ACCESS), "plan")
    with pytest.raises(api.UsageError, match="cannot read"):
        api.scan(["examples"], access_data="no-such-file.json")

