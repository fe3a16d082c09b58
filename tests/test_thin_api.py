"""The plan's ways in, now that the command line and the wrapper reach the plan source
only through the library API (`api.load_plan`, `api.plan`): what users see is what it was."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from iam_lastused import api
from iam_lastused.files import root_for
from iam_lastused.sources import Inputs, Plan, Source

ROOT = Path(__file__).resolve().parent.parent
ACCESS = str(ROOT / "examples" / "access-data.json")
PLAN = ROOT / "examples" / "plan" / "plan.json"


@pytest.mark.parametrize(
    ("piped", "message"),
    [
        (b"{not json", "stdin: not a JSON plan: Expecting property name enclosed in double quotes"),
        (b'{"format_version": "1.0", "values": {}}',
         "stdin: not a Terraform plan (a state?): no planned_values or resource_changes"),
        (b"\xff\xfe\x00", "stdin: not a JSON plan: "),
    ],
)
def test_a_piped_plan_that_is_none_is_a_usage_error(cli, monkeypatch, piped, message):
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(piped)))
    done = cli("plan", "-", "--access-data", ACCESS)
    assert done.code == 2 and done.out == ""
    assert done.err.startswith(f"iam-lastused: error: {message}")
    assert done.err.count("\n") == 1


def test_a_piped_plan_reads_as_the_same_plan_from_its_file(cli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(PLAN.read_bytes())))
    config = str(ROOT / "examples" / "terraform")
    piped = cli("plan", "-", "--chdir", config, "--access-data", ACCESS, "--format", "json")
    named = cli("plan", str(PLAN), "--chdir", config, "--access-data", ACCESS, "--format", "json")
    assert piped.code == named.code == 0
    assert piped.json["principals"] == named.json["principals"] != []


def test_a_plan_in_a_directory_that_does_not_exist_is_a_usage_error(cli, tmp_path, monkeypatch):
    """Where the plan was made is guessed beside its file: a missing directory is the
    plan file's own error, not a crash."""
    monkeypatch.chdir(tmp_path)
    done = cli("plan", "no-such-directory/plan.json", "--access-data", ACCESS)
    assert (done.code, done.out) == (2, "")
    missing = "no-such-directory/plan.json: cannot read: No such file or directory"
    assert done.err == f"iam-lastused: error: {missing}\n"


def test_a_wrapped_terraform_that_cannot_show_its_plan_keeps_its_exit_code(cli, tmp_path):
    """The plan command ran (and saved its plan), but the same binary cannot run again to
    show it: terraform's exit code stands, and a warning names the command."""
    binary = tmp_path / "vanishing-terraform"
    binary.write_text(
        "#!/bin/sh\n"
        'for argument in "$@"; do case "$argument" in -out=*) : > "${argument#-out=}";; esac; done\n'
        'rm -- "$0"\necho "Plan: 1 to add"\n'
    )
    binary.chmod(0o755)
    done = cli("wrap", "--access-data", ACCESS, "--", str(binary), "plan")
    assert done.code == 0
    assert done.out == "Plan: 1 to add\n"
    warnings = done.err.splitlines()
    assert warnings[0].startswith("iam-lastused: the plan is saved as ")
    assert warnings[1:] == [
        f"iam-lastused: plan not analysed: {binary} show: cannot run: No such file or directory"
    ]


def test_a_plan_is_a_source_like_the_others():
    """Read through the Source protocol, a plan gives what `api.plan` analyses; a
    directory is never taken for a plan (a scan does not meet plans)."""
    config = ROOT / "examples" / "terraform"
    source: Source = Plan()
    inputs = Inputs(root_for([config]), configuration=config)
    assert source.found_in(ROOT / "examples" / "plan", inputs) == []
    found = source.read([PLAN], inputs)
    analysed = api.plan(PLAN, chdir=config, access_data=ACCESS)
    assert [p.address for p in found.principals] == [p.principal.address for p in analysed.principals]
    assert {Path(p.location.file).name for p in found.principals} == {"main.tf"}  # located in the HCL
