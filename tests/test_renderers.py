"""The Markdown, SARIF and GitHub-command renderers, on runs built in code and on the
example run through the CLI."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from iam_lastused.cli import main as cli
from iam_lastused.model import (
    InputError,
    Location,
    Principal,
    PrincipalResult,
    RunResult,
    ServiceResult,
    State,
    Status,
)
from iam_lastused.render.github import escape_data, escape_property, render_github
from iam_lastused.render.markdown import MARKER, MAX_LENGTH, blob_base, render_markdown
from iam_lastused.render.sarif import FINGERPRINT_KEY, render_sarif
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
HOSTILE = "<img src=x onerror=alert(1)>**bold** @octocat [link](http://evil) | pipe #12 `tick`"
GITHUB_ENV = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/infra",
    "GITHUB_SHA": "abc123",
}


@pytest.fixture(autouse=True)
def outside_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in GITHUB_ENV:
        monkeypatch.delenv(name, raising=False)


def service(
    namespace: str, state: State, *lines: int, file: str = "main.tf", days: int = 200
) -> ServiceResult:
    last = None if state == "unused" else NOW - timedelta(days=days)
    return ServiceResult(
        namespace=namespace,
        name=f"Amazon {namespace}",
        state=state,
        last_accessed=last,
        granted_by=tuple(Location(file, line) for line in lines),
    )


def principal(
    address: str,
    *services: ServiceResult,
    status: Status = "analyzed",
    line: int | None = 1,
    file: str | None = "main.tf",
    error: str | None = None,
    added: tuple[str, ...] = (),
) -> PrincipalResult:
    return PrincipalResult(
        principal=Principal(
            address=address,
            source="terraform",
            kind="role",
            location=Location(file, line) if file else None,
            arn=None if status == "unresolved" else f"arn:aws:iam::111122223333:role/{address}",
        ),
        status=status,
        error=error,
        services=services,
        granted=tuple(s.namespace for s in services if s.state != "not-granted"),
        added=added,
    )


def run_of(
    *principals: PrincipalResult, errors: tuple[InputError, ...] = (), notes: tuple[str, ...] = ()
) -> RunResult:
    return RunResult(stale_days=90, now=NOW, principals=principals, errors=errors, notes=notes)


def mixed_run() -> RunResult:
    return run_of(
        principal(
            "aws_iam_role.app",
            service("s3", "used", 10),
            service("sns", "unused", 12, 30),
            service("sqs", "stale", 14),
            service("ec2", "not-granted"),
        ),
        principal("aws_iam_role.prefixed", status="unresolved", error="name_prefix is only known at apply"),
        principal("aws_iam_role.denied", status="error", error="AccessDenied", line=None),
        principal("arn:aws:iam::111122223333:role/bare", service("kms", "unused"), file=None),
        principal("aws_iam_role.new", status="not-deployed", added=("lambda", "s3")),
        errors=(
            InputError("cannot parse: unexpected token", "broken.tf", 3),
            InputError("no such file", None),
        ),
        notes=("count noted on aws_iam_role.many",),
    )


def cli_output(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], format: str) -> str:
    """The example rendered through the CLI, as a user runs it."""
    monkeypatch.chdir(ROOT)
    argv = ["scan", "examples/terraform", "--access-data", "examples/access-data.json", "--format", format]
    cli.main(argv)
    return capsys.readouterr().out


# SARIF


def sarif_of(run: RunResult) -> dict[str, Any]:
    document = json.loads(render_sarif(run))
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    return document


def test_sarif_of_the_example_validates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(cli_output(monkeypatch, capsys, "sarif"))
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    results = document["runs"][0]["results"]
    assert sorted((r["ruleId"], r["properties"].get("service")) for r in results) == [
        ("IAMLU001", "dynamodb"),
        ("IAMLU001", "dynamodb"),
        ("IAMLU001", "lambda"),
        ("IAMLU001", "sns"),
        ("IAMLU002", "cloudformation"),
        ("IAMLU005", None),
        ("IAMLU008", "ses"),
    ]
    [broad] = [r for r in results if r["ruleId"] == "IAMLU005"]
    assert broad["message"]["text"] == (
        "role aws_iam_role.ci_deployer: grants every cloudformation action on every resource "
        '("cloudformation:*").'
    )
    assert broad["locations"][0]["physicalLocation"]["region"] == {"startLine": 50}
    lambda_result = next(r for r in results if r["properties"]["service"] == "lambda")
    location = lambda_result["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {"uri": "examples/terraform/main.tf"},
        "region": {"startLine": 38},
    }


def test_sarif_of_an_empty_run_validates() -> None:
    document = sarif_of(run_of())
    assert document["runs"][0]["results"] == []
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["name"] == "iam-lastused"
    assert [rule["id"] for rule in driver["rules"]] == [f"IAMLU00{n}" for n in range(1, 10)]


def test_sarif_results_per_finding_and_unresolved_principal() -> None:
    document = sarif_of(mixed_run())
    results = document["runs"][0]["results"]
    by_rule = [(r["ruleId"], r["level"], r["properties"]["principal"]) for r in results]
    assert by_rule == [
        ("IAMLU001", "warning", "aws_iam_role.app"),
        ("IAMLU002", "note", "aws_iam_role.app"),
        ("IAMLU003", "note", "aws_iam_role.prefixed"),
        ("IAMLU003", "note", "aws_iam_role.denied"),
        ("IAMLU001", "warning", "arn:aws:iam::111122223333:role/bare"),
    ]
    sns, _, prefixed, denied, bare = results
    assert [loc["physicalLocation"]["region"]["startLine"] for loc in sns["locations"]] == [12, 30]
    assert "aws_iam_role.app" in sns["message"]["text"] and "sns" in sns["message"]["text"]
    assert "name_prefix" in prefixed["message"]["text"] and "arn" not in prefixed["properties"]
    assert denied["locations"] == [{"physicalLocation": {"artifactLocation": {"uri": "main.tf"}}}]
    assert "locations" not in bare
    notifications = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [(n["level"], n["message"]["text"]) for n in notifications] == [
        ("error", "cannot parse: unexpected token"),
        ("error", "no such file"),
        ("note", "count noted on aws_iam_role.many"),
    ]


def test_sarif_falls_back_to_the_principal_and_makes_uris_relative() -> None:
    result = principal("r", service("sns", "unused"), file=".\\infra dir\\main.tf", line=7)
    location = sarif_of(run_of(result))["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "infra%20dir/main.tf"}, "region": {"startLine": 7}}


def test_sarif_fingerprints_do_not_depend_on_lines() -> None:
    def fingerprints(offset: int) -> list[str]:
        run = run_of(
            principal("a", service("sns", "unused", 10 + offset), service("sqs", "stale", 20 + offset)),
            principal("b", service("sns", "unused", 30 + offset), line=1 + offset),
            principal("c", status="unresolved", error="prefix", line=5 + offset),
        )
        return [r["partialFingerprints"][FINGERPRINT_KEY] for r in sarif_of(run)["runs"][0]["results"]]

    first, moved = fingerprints(0), fingerprints(40)
    assert first == moved
    assert len(set(first)) == len(first)


# Markdown


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.strong: list[str] = []
        self._in_strong = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_strong = self._in_strong or tag == "strong"

    def handle_endtag(self, tag: str) -> None:
        self._in_strong = self._in_strong and tag != "strong"

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_strong:
            self.strong.append(data)


def rendered(markdown: str) -> _Html:
    """As GitHub would show it: GFM with raw HTML passed through and bare URLs linked."""
    parser = _Html()
    parser.feed(MarkdownIt("gfm-like").render(markdown))
    return parser


ALLOWED_TAGS = {
    "details",
    "summary",
    "code",
    "p",
    "strong",
    "ul",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def test_markdown_of_the_example(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = cli_output(monkeypatch, capsys, "markdown")
    assert out.splitlines()[0] == MARKER
    assert out.splitlines()[1] == (
        "**iam-lastused**: 4 never-used and 1 stale service grants across 3 principals "
        "(stale: not used in 90 days); 1 broad grant in the code; 1 principal not analysed"
    )
    assert out.count("<details>") == 4
    assert "examples\\/terraform\\/main\\.tf\\:38" in out
    assert {tag for tag, _ in rendered(out).tags} <= ALLOWED_TAGS


def test_markdown_links_to_the_commit_in_github_actions() -> None:
    html = rendered(render_markdown(mixed_run(), links=blob_base(GITHUB_ENV)))
    hrefs = [attrs["href"] for tag, attrs in html.tags if tag == "a"]
    assert "https://github.com/acme/infra/blob/abc123/main.tf#L12" in hrefs
    assert "https://github.com/acme/infra/blob/abc123/broken.tf#L3" in hrefs
    assert all(str(href).startswith("https://github.com/acme/infra/blob/abc123/") for href in hrefs)


def test_markdown_shows_everything_a_principal_has_to_show() -> None:
    out = render_markdown(mixed_run())
    text = "".join(rendered(out).text)
    assert "never used: sns (Amazon sns), granted at main.tf:12, main.tf:30" in text
    assert "stale: sqs (Amazon sqs), last used 200 days ago (2026-05-08), granted at main.tf:14" in text
    assert "added by this change, no usage history yet: lambda, s3" in text
    assert "unresolved: name_prefix is only known at apply" in text
    assert "error: AccessDenied" in text
    assert "broken.tf:3: cannot parse: unexpected token" in text
    assert "count noted on aws_iam_role.many" in text
    assert "ec2" not in text
    assert "2 never-used and 1 stale service grants across 2 principals" in out.splitlines()[1]
    assert "3 principals not analysed" in out.splitlines()[1]


def test_markdown_with_no_findings() -> None:
    out = render_markdown(run_of(principal("r", service("s3", "used", 3))))
    assert (
        out.splitlines()[1]
        == "✅ **iam-lastused**: no never-used or stale service grants in 1 analysed principal"
    )
    assert "<details>" not in out


def test_markdown_cannot_be_injected() -> None:
    hostile = principal(HOSTILE, service(HOSTILE, "unused", 4, file=HOSTILE), status="analyzed", file=HOSTILE)
    run = run_of(hostile, errors=(InputError(HOSTILE, HOSTILE, 2),), notes=(HOSTILE,))
    out = render_markdown(run)
    html = rendered(out)
    assert {tag for tag, _ in html.tags} <= ALLOWED_TAGS
    assert not any("bold" in text for text in html.strong)
    text = "".join(html.text)
    assert not re.search(r"(?<!\w)@[A-Za-z0-9]", text)
    assert not re.search(r"#\d", text)
    assert text.replace("\u200d", "").count(HOSTILE) >= 6
    rows = [tag for tag, _ in html.tags if tag == "tr"]
    cells = [tag for tag, _ in html.tags if tag in ("th", "td")]
    assert len(rows) == 2 and len(cells) == 12


def test_markdown_keeps_names_on_one_line() -> None:
    out = render_markdown(run_of(principal("evil\n\n# heading\n<script>", service("sns", "unused", 1))))
    html = rendered(out)
    assert {tag for tag, _ in html.tags} <= ALLOWED_TAGS
    assert "evil\\x0a\\x0a# heading\\x0a<script>" in "".join(html.text).replace("\u200d", "")


def test_markdown_cuts_details_first_and_says_how_many() -> None:
    services = [service(f"service{n:02}", "unused", n) for n in range(1, 40)]
    run = run_of(*(principal(f"module.app.aws_iam_role.role_{n:03}", *services) for n in range(200)))
    out = render_markdown(run)
    assert len(out.encode()) <= MAX_LENGTH
    shown = out.count("<details>")
    assert 0 < shown < 200
    assert f"_{200 - shown} more principals left out" in out
    assert len([tag for tag, _ in rendered(out).tags if tag == "tr"]) == 201


def test_markdown_cuts_the_table_too_when_it_alone_is_too_long() -> None:
    run = run_of(
        *(
            principal(f"module.team.aws_iam_role.worker_{n:04}", service("sns", "unused", n))
            for n in range(3000)
        ),
        errors=(InputError("cannot parse", "broken.tf", 1),),
        notes=("a note",),
    )
    out = render_markdown(run)
    assert len(out) <= MAX_LENGTH and len(out.encode()) <= MAX_LENGTH
    assert out.startswith(MARKER + "\n**iam-lastused**: 3000 never-used and 0 stale")
    shown = len([tag for tag, _ in rendered(out).tags if tag == "tr"]) - 1
    assert 0 < shown < 3000
    assert f"_{3000 - shown} more principals left out" in out
    assert "_3000 more principals left out" in out
    assert "- broken\\.tf\\:1: cannot parse\n" in out and "- a note\n" in out
    assert "\n\n**Errors**\n\n" in out


# GitHub workflow commands


def test_github_commands_for_the_example(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = cli_output(monkeypatch, capsys, "github").splitlines()
    assert (
        "::warning file=examples/terraform/main.tf,line=38,title=Unused AWS service%3A lambda::"
        "role aws_iam_role.ci_deployer is granted lambda (AWS Lambda) "
        "but has not used it in IAM's tracking period."
    ) in lines
    assert [line.split(" ")[0] for line in lines].count("::notice") == 2
    assert [line.split(" ")[0] for line in lines].count("::warning") == 5
    assert (
        "::notice file=examples/terraform/modules/service-role/main.tf,line=57,"
        "title=Not in IAM's report%3A ses::role module.orders.aws_iam_role.worker is granted ses "
        "(Amazon Pinpoint Email Service) by the code, but IAM's report does not list it yet."
    ) in lines
    assert (
        "::warning file=examples/terraform/main.tf,line=50,title=Broad IAM grant::"
        "role aws_iam_role.ci_deployer "
        'grants every cloudformation action on every resource ("cloudformation:*")'
    ) in lines


def test_github_command_levels_and_places() -> None:
    lines = render_github(mixed_run()).splitlines()
    assert lines[0].startswith("::warning file=main.tf,line=12,title=Unused AWS service%3A sns::")
    assert lines[0].endswith("Also granted at main.tf:30.")
    assert lines[1].startswith("::notice file=main.tf,line=14,title=Stale AWS service%3A sqs::")
    assert lines[2].startswith("::notice file=main.tf,line=1,title=Principal not analysed::")
    assert lines[3].startswith("::error file=main.tf,title=Principal not analysed::No last-accessed report")
    assert lines[4].startswith("::warning title=Unused AWS service%3A kms::")
    assert lines[5] == "::error file=broken.tf,line=3,title=Input skipped::cannot parse: unexpected token"
    assert lines[6] == "::error title=Input skipped::no such file"
    assert lines[7] == "::notice::count noted on aws_iam_role.many"
    assert len(lines) == 8


def test_github_escaping() -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("dir,x/a:b%\n") == "dir%2Cx/a%3Ab%25%0A"


def test_github_commands_cannot_be_injected() -> None:
    name = "evil\n::set-output name=x::y\r\n::error::pwned"
    result = principal(name, service("sns", "unused", 3, file="a,b:c.tf\n::warning::x"))
    lines = render_github(run_of(result, notes=(name,))).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(("::warning ", "::notice::")) for line in lines)
    assert lines[0].startswith("::warning file=a%2Cb%3Ac.tf\\x0a%3A%3Awarning%3A%3Ax,line=3,")
    assert "role evil\\x0a::set-output name=x::y\\x0d\\x0a::error::pwned is granted" in lines[0]
    assert [name for name, _ in workflow_commands("\n".join(lines))] == ["warning", "notice"]


# What GitHub's runner takes for a workflow command (actions/runner: ActionCommand's
# TryParseV2, else the legacy TryParse, and ActionCommandManager's stop-commands).
RUNNER_COMMANDS = {
    "add-mask", "add-matcher", "add-path", "debug", "echo", "endgroup", "error", "group", "notice",
    "remove-matcher", "save-state", "set-env", "set-output", "stop-commands", "warning",
}
RUNNER_DATA_ESCAPES = {"%0D": "\r", "%0A": "\n", "%25": "%"}


def _runner_parse(line: str, registered: set[str]) -> tuple[str, str] | None:
    message = line.lstrip()
    if message.startswith("::") and (end := message.find("::", 2)) >= 0:  # ::name props::data
        name = message[2:end].split(" ", 1)[0]
        if name.lower() in registered:
            data = re.sub("%0D|%0A|%25", lambda m: RUNNER_DATA_ESCAPES[m[0]], message[end + 2 :])
            return name.lower(), data
    start = line.find("##[")  # the legacy form, found anywhere in the line: ##[name props]data
    end = line.find("]", start)
    if start >= 0 and end >= 0:
        name = line[start + 3 : end].split(" ", 1)[0]
        if name.lower() in registered:
            return name.lower(), line[end + 1 :]
    return None


def workflow_commands(log: str) -> list[tuple[str, str]]:
    """Each (command, data) the runner would act on in `log`, in order; while commands
    are stopped, only the resume token counts (and is listed)."""
    registered, token = set(RUNNER_COMMANDS), None
    found = []
    for line in re.split(r"\r\n|\r|\n", log):
        parsed = _runner_parse(line, registered)
        if parsed is None or (token is not None and parsed[0] != token):
            continue
        name, data = parsed
        if token is not None:
            registered.discard(token)
            token = None
        elif name == "stop-commands":
            token = data.lower()
            registered.add(token)
        found.append((name, data))
    return found


def test_the_runner_model_finds_commands_anywhere_the_runner_does() -> None:
    log = (
        "::add-mask::x\n  ::error file=a::boom\nrole a ##[error]legacy\n"
        "::stop-commands::T0k\n::error::no\n##[warning]no\n::t0k::\n::debug::d"
    )
    assert workflow_commands(log) == [
        ("add-mask", "x"), ("error", "boom"), ("error", "legacy"), ("stop-commands", "T0k"), ("t0k", ""),
        ("debug", "d"),
    ]


COMMAND_PAYLOADS = [
    "x\n::add-mask::x",
    "##[error]boom",
    "::error::x",
    "a:::b ##[add-mask]c",
    "%0A::error::x\r##[set-output name=a]b",
    "###[error]x ::::y",
]


def test_github_escaping_breaks_command_delimiters() -> None:
    """A message is never at the start of a line, where `::` would start a command, so
    only the legacy `##[`, which the runner finds anywhere, is broken there; an ARN reads
    as it is."""
    assert escape_data("\n::add-mask::x") == "%0A::add-mask::x"
    assert escape_data("##[error]boom") == "#%23[error]boom"
    assert escape_data("arn:aws:iam::111122223333:role/x") == "arn:aws:iam::111122223333:role/x"
    assert escape_data(":::, ::::, ###[") == ":::, ::::, ##%23["
    assert escape_data("50%3A") == "50%253A"  # a literal %3A stays distinguishable
    assert escape_property("##[error]a::b") == "#%23[error]a%3A%3Ab"
    for payload in COMMAND_PAYLOADS:
        assert "##[" not in escape_data(payload) and "\n" not in escape_data(payload)
        assert "::" not in escape_property(payload) and "##[" not in escape_property(payload)


@pytest.mark.parametrize("payload", COMMAND_PAYLOADS)
def test_github_commands_from_hostile_names_are_only_ours(payload: str) -> None:
    """Every place a name reaches (message, file, title's service, reason, note): the
    runner sees exactly the renderer's commands, none a name started."""
    run = run_of(
        principal(payload, service(payload, "unused", 3, file=payload), service("sqs", "stale", 4)),
        principal(f"{payload}.denied", status="error", error=payload, file=payload),
        errors=(InputError(payload, payload, 2),),
        notes=(payload,),
    )
    lines = render_github(run).splitlines()
    assert [name for name, _ in workflow_commands("\n".join(lines))] == [
        line[2:].split(" ", 1)[0].split(":", 1)[0] for line in lines
    ]
    assert len(lines) == 5
    assert all("##[" not in line for line in lines)
