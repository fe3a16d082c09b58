"""What a new user meets on the command line (issue 25): usage errors as one line with
the command's own usage, exit 2, nothing on stdout; AWS failures said in one line
without the endpoint's answer."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import make_role
from fake_last_accessed import xml_response

ROOT = Path(__file__).parent.parent
EXAMPLES = str(ROOT / "examples")
ACCESS = str(ROOT / "examples/access-data.json")


@pytest.mark.parametrize(("argv", "usage", "error"), [
    (["scan", EXAMPLES, "--format", "plan"], "usage: iam-lastused scan ",
     "iam-lastused scan: error: --format plan annotates a Terraform plan: use it with plan or wrap"),
    (["scan", EXAMPLES, "--stale-days", "-5"], "usage: iam-lastused scan ",
     "iam-lastused scan: error: --stale-days must be 0 or more"),
    (["check", "arn:aws:iam::123456789012:role/x", "--timeout", "0"], "usage: iam-lastused check ",
     "iam-lastused check: error: --timeout must be more than 0 seconds"),
])
def test_usage_errors_show_the_commands_own_usage(capsys, argv, usage, error):
    from iam_lastused.cli.main import main

    with pytest.raises(SystemExit):
        main(argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(usage)
    assert captured.err.endswith(error + "\n")


def test_check_with_a_malformed_arn_is_a_usage_error_not_a_report(cli):
    run = cli("check", "notanarn", "--access-data", ACCESS)
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "iam-lastused: error: not an IAM role, user, group or managed policy ARN: 'notanarn' "
        "(expected arn:aws:iam::123456789012:role/NAME)\n"
    )


HTML = """<!DOCTYPE HTML>
<html lang="en"><head><meta charset="utf-8"><title>Error response</title></head>
<body><h1>Error response</h1><p>Error code: 501</p><p>Message: Unsupported method ('POST').</p></body>
</html>
"""


def test_an_endpoint_answering_html_is_one_line_without_its_body(cli, iam, aws_hooks, monkeypatch):
    """A proxy or a wrong endpoint: the reason in one line, no page of HTML."""
    monkeypatch.setattr(random, "uniform", lambda low, high: 0.0)  # the retries' waits: none

    def html(request, **_):
        if "iam." not in request.url:
            return None
        response = xml_response(501, HTML)
        response.headers["content-type"] = "text/html"
        return response

    aws_hooks.append(html)
    role = make_role(iam, "app")
    run = cli("check", role, "--no-cache")
    assert run.code == 2
    assert "DOCTYPE" not in run.out + run.err and "Unsupported method" not in run.out + run.err
    assert run.err == (
        "iam-lastused: GenerateServiceLastAccessedDetails failed: the response could not be read "
        "(not an AWS answer, or cut short) (1 principal not analysed)\n"
    )


def test_fetch_of_a_policy_iam_cannot_give_says_so_without_findings_talk(cli, iam, tmp_path):
    """`fetch` has no findings: a policy it cannot read is said as what it is."""
    arn = "arn:aws:iam::aws:policy/NoSuchPolicyAtAll"
    run = cli("fetch", arn, "--output", str(tmp_path / "access.json"), "--no-cache")
    assert run.code == 2
    assert "findings" not in run.err
    assert f"{arn}: cannot read the policy (NoSuchEntity): what it grants is not known\n" in run.err


def test_a_scan_with_no_iam_asks_aws_nothing_and_warns_of_no_credentials(cli, tmp_path, monkeypatch):
    """Nothing to look up: no account wanted, so no word about credentials."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    run = cli("scan", str(tmp_path), "--no-cache")
    assert (run.code, run.out, run.err) == (0, "no IAM principal found\n", "")
