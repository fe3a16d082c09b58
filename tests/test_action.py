"""The pull-request comment and the composite action, against a local stand-in for
GitHub's API (issue comments, `GET /user` and GraphQL's viewer), and the action's steps
run with bash the way the runner runs them."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml
from api_stand_in import Answer, serving
from github import Github
from iam_lastused.integrations import github_comment
from iam_lastused.integrations.github_comment import publish
from iam_lastused.render.markdown import MARKER
from test_renderers import workflow_commands

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
SARIF_SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
REPOSITORY = "octo/infra"
PULL = 7
TOKEN = "ghs_test-token-0123456789"
COMMENTS_PATH = f"/repos/{REPOSITORY}/issues/{PULL}/comments"
COMMENT_PATH = re.compile(rf"^/repos/{REPOSITORY}/issues/comments/(\d+)$")
GRAPHQL_PATH = "/graphql"
PAGE_SIZE = 30
BOT = "github-actions[bot]"  # who GITHUB_TOKEN's comments are by


@dataclass
class Request:
    method: str
    path: str
    authorization: str


@dataclass
class FakeGitHub:
    """Issue comments of one pull request, as GitHub's REST API serves them, and who
    the token is. By default the token is like GITHUB_TOKEN: `GET /user` answers 403,
    GraphQL's viewer is `github-actions`, and its comments are by `github-actions[bot]`."""

    url: str = ""
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    read_only: bool = False
    next_id: int = 1
    user: str | None = None  # GET /user's login; None: 403, as for an installation token
    viewer: str | None = "github-actions"  # GraphQL's viewer; None: the query fails
    author: str = BOT  # the login on the comments the token creates

    def add(self, body: str, login: str = "someone") -> dict[str, Any]:
        """A comment by `login` (someone else, unless it is `author`)."""
        comment = {
            "id": self.next_id,
            "body": body,
            "url": f"{self.url}/repos/{REPOSITORY}/issues/comments/{self.next_id}",
            "user": {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"},
        }
        self.next_id += 1
        self.comments.append(comment)
        return comment

    def bodies(self) -> list[str]:
        return [c["body"] for c in self.comments]

    def calls(self) -> list[str]:
        """Each request as `METHOD path`, without the query."""
        return [f"{r.method} {urlsplit(r.path).path}" for r in self.requests]

    def answer(self, method: str, target: str, payload: Any) -> tuple[int, dict[str, str], Any]:
        path = urlsplit(target).path
        found = COMMENT_PATH.match(path)
        if path == "/user" and method == "GET":
            if self.user is None:
                return 403, {}, {"message": "Resource not accessible by integration"}
            return 200, {}, {"login": self.user, "id": 1, "type": "User"}
        if path == GRAPHQL_PATH and method == "POST":
            return self.graphql(payload)
        if self.read_only and method != "GET":
            return 403, {}, {"message": "Resource not accessible by integration"}
        if path == COMMENTS_PATH and method == "GET":
            return self.page(int(parse_qs(urlsplit(target).query).get("page", ["1"])[0]))
        if path == COMMENTS_PATH and method == "POST":
            return 201, {}, self.add(payload["body"], self.author)
        comment = next((c for c in self.comments if found and c["id"] == int(found[1])), None)
        if comment is not None and method == "PATCH":
            comment["body"] = payload["body"]
            return 200, {}, comment
        if comment is not None and method == "DELETE":
            self.comments.remove(comment)
            return 204, {}, None
        return 404, {}, {"message": "Not Found"}

    def graphql(self, payload: Any) -> tuple[int, dict[str, str], Any]:
        query = " ".join(str(payload.get("query", "")).split()) if isinstance(payload, dict) else ""
        if query != "query { viewer { login } }":
            return 200, {}, {"errors": [{"message": f"query not understood by the stand-in: {query}"}]}
        if self.viewer is None:
            return 200, {}, {"data": None, "errors": [{"type": "FORBIDDEN", "message": "viewer unavailable"}]}
        return 200, {}, {"data": {"viewer": {"login": self.viewer}}}

    def page(self, number: int) -> tuple[int, dict[str, str], Any]:
        last = max(1, -(-len(self.comments) // PAGE_SIZE))
        pages = f"{self.url}{COMMENTS_PATH}?page="
        link = f'<{pages}{number + 1}>; rel="next", <{pages}{last}>; rel="last"'
        start = (number - 1) * PAGE_SIZE
        return 200, {"Link": link} if number < last else {}, self.comments[start : start + PAGE_SIZE]


def authorised(fake: FakeGitHub) -> Answer:
    """The stand-in's answers, each request recorded, and 401 without the token."""

    def answer(method: str, target: str, headers: Any, payload: Any) -> tuple[int, dict[str, str], Any]:
        authorization = headers.get("Authorization", "")
        fake.requests.append(Request(method, target, authorization))
        if authorization not in (f"token {TOKEN}", f"Bearer {TOKEN}"):
            return 401, {}, {"message": "Bad credentials"}
        return fake.answer(method, target, payload)

    return answer


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """The stand-in; in this process PyGithub does not space its requests (a quarter
    second, and a second between writes, as GitHub asks of clients): here it is all sleep."""
    unpaced = functools.partial(Github, seconds_between_requests=None, seconds_between_writes=None)
    monkeypatch.setattr(github_comment, "Github", unpaced)
    fake = FakeGitHub()
    with serving(authorised(fake)) as url:
        fake.url = url
        yield fake


def post(fake: FakeGitHub, body: str, mode: str = "update") -> str:
    return publish(body, REPOSITORY, PULL, TOKEN, mode, fake.url)


# publish()


def test_publish_creates_then_updates_a_single_comment(github: FakeGitHub) -> None:
    github.add("looks good to me")
    assert post(github, f"{MARKER}\nfirst") == "created"
    assert github.calls() == [f"GET {COMMENTS_PATH}", f"POST {COMMENTS_PATH}"]  # nothing marked: no lookup
    assert post(github, f"{MARKER}\nsecond") == "updated"
    assert github.bodies() == ["looks good to me", f"{MARKER}\nsecond"]
    assert github.calls()[2:] == [
        f"GET {COMMENTS_PATH}", "GET /user", f"POST {GRAPHQL_PATH}",
        f"PATCH /repos/{REPOSITORY}/issues/comments/2",
    ]
    assert {r.authorization for r in github.requests} == {f"token {TOKEN}"}


def test_publish_updates_the_comment_found_on_the_second_page(github: FakeGitHub) -> None:
    for n in range(PAGE_SIZE + 2):
        github.add(f"comment {n}")
    ours = github.add(f"{MARKER}\nold", BOT)
    github.add("after ours")
    assert post(github, f"{MARKER}\nnew") == "updated"
    assert ours["body"] == f"{MARKER}\nnew"
    assert len(github.comments) == PAGE_SIZE + 4
    pages = [r.path for r in github.requests if r.method == "GET" and r.path.startswith(COMMENTS_PATH)]
    assert pages == [COMMENTS_PATH, f"{COMMENTS_PATH}?page=2"]


def test_publish_new_always_creates(github: FakeGitHub) -> None:
    github.add(f"{MARKER}\nold")
    assert post(github, f"{MARKER}\nnew", "new") == "created"
    assert github.bodies() == [f"{MARKER}\nold", f"{MARKER}\nnew"]
    assert github.calls() == [f"POST {COMMENTS_PATH}"]


def test_publish_delete_and_new_replaces_all_of_ours(github: FakeGitHub) -> None:
    github.add(f"{MARKER}\none", BOT)
    github.add(f"quoting {MARKER} is not ours", BOT)
    github.add(f"{MARKER}\ntwo", BOT)
    assert post(github, f"{MARKER}\nthree", "delete-and-new") == "deleted-and-created"
    assert github.bodies() == [f"quoting {MARKER} is not ours", f"{MARKER}\nthree"]
    assert post(github, f"{MARKER}\nfour", "delete-and-new") == "deleted-and-created"
    assert github.bodies() == [f"quoting {MARKER} is not ours", f"{MARKER}\nfour"]


def test_publish_delete_and_new_without_a_comment_creates(github: FakeGitHub) -> None:
    assert post(github, f"{MARKER}\nfirst", "delete-and-new") == "created"
    assert github.bodies() == [f"{MARKER}\nfirst"]


def test_publish_off_makes_no_request(github: FakeGitHub) -> None:
    assert post(github, f"{MARKER}\nbody", "off") == "skipped"
    assert github.requests == []


def test_publish_rejects_an_unknown_mode(github: FakeGitHub) -> None:
    with pytest.raises(ValueError, match="unknown comment mode 'sticky'"):
        post(github, "body", "sticky")
    assert github.requests == []


@pytest.mark.parametrize("mode", ["update", "delete-and-new"])
def test_publish_never_edits_or_deletes_someone_elses_marked_comment(github: FakeGitHub, mode: str) -> None:
    """Anyone can write a comment that starts with the marker; only the token's own is ours."""
    before = github.add(f"{MARKER}\nplease approve: all of IAM is used", "mallory")
    assert post(github, f"{MARKER}\nfirst", mode) == "created"
    ours = github.comments[-1]
    after = github.add(f"{MARKER}\nnewest, and still not ours", "mallory")
    again = "updated" if mode == "update" else "deleted-and-created"
    assert post(github, f"{MARKER}\nsecond", mode) == again
    assert before in github.comments and after in github.comments
    assert before["body"].endswith("all of IAM is used") and after["body"].endswith("still not ours")
    method = "PATCH" if mode == "update" else "DELETE"
    touched = [c for c in github.calls() if c.startswith(("PATCH", "DELETE"))]
    assert touched == [f"{method} /repos/{REPOSITORY}/issues/comments/{ours['id']}"]
    assert [c["body"] for c in github.comments if c["user"]["login"] == BOT] == [f"{MARKER}\nsecond"]


def test_publish_learns_an_installation_tokens_login_from_graphql(github: FakeGitHub) -> None:
    """GITHUB_TOKEN: /user is 403, the viewer is `github-actions`, the author `github-actions[bot]`."""
    github.viewer = "GitHub-Actions"  # logins are case-insensitive
    ours = github.add(f"{MARKER}\nold", BOT)
    assert post(github, f"{MARKER}\nnew") == "updated"
    assert ours["body"] == f"{MARKER}\nnew"
    assert github.calls()[1:3] == ["GET /user", f"POST {GRAPHQL_PATH}"]
    graphql = [r for r in github.requests if r.path == GRAPHQL_PATH]
    assert {r.authorization for r in graphql} == {f"token {TOKEN}"}


def test_publish_with_a_personal_token_matches_its_user_login_exactly(github: FakeGitHub) -> None:
    github.user, github.author = "octocat", "octocat"
    app = github.add(f"{MARKER}\nan app's", "octocat[bot]")
    actions = github.add(f"{MARKER}\nthe workflow's", BOT)
    ours = github.add(f"{MARKER}\nold", "OctoCat")
    assert post(github, f"{MARKER}\nnew", "delete-and-new") == "deleted-and-created"
    assert github.comments[:2] == [app, actions] and ours not in github.comments
    assert github.bodies()[-1] == f"{MARKER}\nnew"
    assert f"POST {GRAPHQL_PATH}" not in github.calls()


@pytest.mark.parametrize("mode", ["update", "delete-and-new"])
def test_publish_without_a_login_edits_and_deletes_nothing(
    github: FakeGitHub, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    github.viewer = None
    earlier = github.add(f"{MARKER}\nold", BOT)
    assert post(github, f"{MARKER}\nnew", mode) == "created"
    assert github.bodies() == [earlier["body"], f"{MARKER}\nnew"]
    assert not [c for c in github.calls() if c.startswith(("PATCH", "DELETE"))]
    out = capsys.readouterr().out
    assert out == "iam-lastused: cannot learn the token's login (GET /user, GraphQL viewer): " \
        "no earlier comment is edited or deleted, a new one is posted\n"


# main(): the runner's environment


def pull_request_event(path: Path, number: int = PULL) -> Path:
    event = {"action": "synchronize", "number": number, "pull_request": {"number": number}}
    path.write_text(json.dumps(event), encoding="utf-8")
    return path


@pytest.fixture
def runner_env(monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, tmp_path: Path) -> Path:
    """The variables the runner sets, and a report to post."""
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(pull_request_event(tmp_path / "event.json")))
    report = tmp_path / "report.md"
    report.write_text(f"{MARKER}\nreport\n", encoding="utf-8")
    return report


def test_main_posts_the_report_and_never_prints_the_token(
    runner_env: Path, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert github_comment.main([str(runner_env)]) == 0
    assert github_comment.main([str(runner_env), "--mode", "update"]) == 0
    out, err = capsys.readouterr()
    assert github.bodies() == [f"{MARKER}\nreport\n"]
    assert "comment created on #7" in out and "comment updated on #7" in out
    assert TOKEN not in out + err


def test_main_outside_a_pull_request_skips(
    runner_env: Path, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    push = tmp_path / "push.json"
    push.write_text(json.dumps({"ref": "refs/heads/main", "commits": []}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(push))
    assert github_comment.main([str(runner_env)]) == 0
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    assert github_comment.main([str(runner_env)]) == 0
    assert capsys.readouterr().out.count("not a pull request: no comment posted") == 2
    assert github.requests == []


def test_main_reads_the_pull_request_of_an_issue_comment_event(
    runner_env: Path, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = tmp_path / "issue_comment.json"
    event.write_text(json.dumps({"issue": {"number": PULL, "pull_request": {"url": "x"}}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert github_comment.main([str(runner_env)]) == 0
    assert github.calls() == [f"GET {COMMENTS_PATH}", f"POST {COMMENTS_PATH}"]


def test_main_warns_when_the_token_may_not_comment(
    runner_env: Path, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.read_only = True
    assert github_comment.main([str(runner_env)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("::warning::iam-lastused: no pull-request comment (HTTP 403: Resource not")
    assert "pull-requests: write" in out and TOKEN not in out


def test_main_without_a_token_is_an_error(
    runner_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    assert github_comment.main([str(runner_env)]) == 2
    assert "GITHUB_TOKEN must be set" in capsys.readouterr().err


def test_main_with_an_unreadable_event_is_an_error(
    runner_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(tmp_path / "missing.json"))
    assert github_comment.main([str(runner_env)]) == 2
    assert "cannot read the workflow event" in capsys.readouterr().err


# The composite action, run step by step as the runner does

Steps = dict[str, dict[str, str]]  # each step's outputs, by the step's id
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
CONDITION = re.compile(r"^inputs\.([\w-]+) (==|!=) '([^']*)'$")


@dataclass
class ActionRun:
    code: int
    outputs: dict[str, str]
    log: str
    summary: str


def evaluate(expression: str, inputs: dict[str, str], steps: Steps) -> str:
    """The few expressions action.yml uses, as the runner evaluates them."""
    context, _, name = expression.partition(".")
    if expression == "github.action_path":
        return str(ROOT)
    if expression == "github.token":
        return TOKEN
    if context == "inputs":
        return inputs[name]
    if context == "steps":
        step, outputs, output = name.split(".")
        assert outputs == "outputs"
        return steps.get(step, {}).get(output, "")
    raise AssertionError(f"expression not understood by the test runner: {expression}")


def substitute(text: str, inputs: dict[str, str], steps: Steps) -> str:
    return EXPRESSION.sub(lambda m: evaluate(m[1], inputs, steps), text)


def applies(step: dict[str, Any], inputs: dict[str, str]) -> bool:
    if "if" not in step:
        return True
    name, operator, value = CONDITION.fullmatch(step["if"]).groups()  # type: ignore[union-attr]
    return (inputs[name] == value) == (operator == "==")


def read_outputs(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line)


def runner_environment(
    workspace: Path, work: Path, github: FakeGitHub, event: Path, bin_dir: Path | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))}
    first = f"{bin_dir}{os.pathsep}" if bin_dir else ""
    return {
        **env,
        "PATH": f"{first}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": github.url,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_STEP_SUMMARY": str(work / "summary.md"),
        "RUNNER_TEMP": str(work),
    }


def run_step(
    step: dict[str, Any], path: Path, env: dict[str, str], inputs: dict[str, str], steps: Steps
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """One `run:` step with bash as the runner calls it, and the outputs it wrote."""
    path.with_suffix(".sh").write_text(step["run"], encoding="utf-8")
    output_file = path.with_suffix(".out")
    output_file.write_text("", encoding="utf-8")
    step_env = {name: substitute(str(value), inputs, steps) for name, value in step.get("env", {}).items()}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path.with_suffix(".sh"))],
        cwd=Path(env["GITHUB_WORKSPACE"], substitute(step.get("working-directory", "."), inputs, steps)),
        env={**env, **step_env, "GITHUB_OUTPUT": str(output_file)},
        capture_output=True, text=True, timeout=300,
    )
    return done, read_outputs(output_file)


def run_action(
    workspace: Path, github: FakeGitHub, given: dict[str, str], event: Path | None = None,
    bin_dir: Path | None = None,
) -> ActionRun:
    """Each step in turn; like the runner, the first failing step ends the action.
    `bin_dir` goes first on the PATH."""
    work = workspace.parent / "runner"
    work.mkdir(exist_ok=True)
    event = event or pull_request_event(work / "event.json")
    defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs = {**defaults, "install": "false", **given}
    inputs = {name: substitute(value, inputs, {}) for name, value in inputs.items()}
    env = runner_environment(workspace, work, github, event, bin_dir)
    steps: Steps = {}
    log, code = "", 0
    for number, step in enumerate(ACTION["runs"]["steps"]):
        if applies(step, inputs):
            step_id = step.get("id", str(number))
            done, steps[step_id] = run_step(step, work / f"step{number}", env, inputs, steps)
            log += done.stdout + done.stderr
            code = done.returncode
            if code:
                break
    outputs = {name: substitute(spec["value"], inputs, steps) for name, spec in ACTION["outputs"].items()}
    summary = work / "summary.md"
    return ActionRun(code, outputs, log, summary.read_text(encoding="utf-8") if summary.exists() else "")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checkout holding the examples."""
    checkout = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples", checkout / "examples")
    return checkout


OFFLINE = {"path": "examples/terraform", "access-data": "examples/access-data.json"}


def test_action_run_scripts_interpolate_no_expression() -> None:
    """Inputs reach the scripts only as environment variables, never pasted into the shell."""
    steps = ACTION["runs"]["steps"]
    assert ACTION["runs"]["using"] == "composite"
    assert all("${{" not in step["run"] and step["shell"] == "bash" for step in steps)
    for step in steps:
        subprocess.run(["bash", "-n"], input=step["run"], text=True, check=True)
    used = json.dumps([[step.get(key) for key in ("env", "if", "working-directory")] for step in steps])
    unused = [name for name in ACTION["inputs"] if f"inputs.{name}" not in used]
    assert unused == []


def test_action_runs_python_isolated_everywhere() -> None:
    """`-I`: the pull request's checkout (the working directory) is never on sys.path."""
    runs = [line for step in ACTION["runs"]["steps"] for line in step["run"].splitlines()]
    python = [line for line in runs if re.search(r"\s-[mc]\s", line)]
    assert len(python) >= 6  # venv, pip, the token, the tool twice, the comment
    assert all(re.search(r"python3?\}?\"? -I -[mc] ", line) for line in python), python
    assert not any("iam_lastused.cli" in line for line in runs)


def test_action_comments_once_then_updates_the_comment(workspace: Path, github: FakeGitHub) -> None:
    first = run_action(workspace, github, OFFLINE)
    assert first.code == 0, first.log
    report = Path(first.outputs["report"]).read_text(encoding="utf-8")
    assert report.startswith(MARKER) and "never-used" in report
    assert github.bodies() == [report]
    assert report in first.summary
    assert "role aws_iam_role.ci_deployer" in first.log  # the text report, in the log
    assert "pull-request comment created on #7" in first.log
    assert first.outputs["exit-code"] == "0"

    second = run_action(workspace, github, OFFLINE)
    assert second.code == 0, second.log
    assert "pull-request comment updated on #7" in second.log
    assert github.bodies() == [report]
    assert [c for c in github.calls() if not c.startswith("GET") and GRAPHQL_PATH not in c] == [
        f"POST {COMMENTS_PATH}", f"PATCH /repos/{REPOSITORY}/issues/comments/1"
    ]
    assert TOKEN not in first.log + second.log


PYTHON_SHIM = """#!/bin/sh
printf '%s\\n' "$*" >> "$(dirname "$0")/calls.log"
exec {python} "$@"
"""


def test_action_scans_once_for_every_output(workspace: Path, github: FakeGitHub, tmp_path: Path) -> None:
    """One run of the tool writes the log's report, the Markdown and the SARIF."""
    shims = tmp_path / "bin"
    shims.mkdir()
    for name in ("python", "python3"):
        (shims / name).write_text(PYTHON_SHIM.format(python=sys.executable), encoding="utf-8")
        (shims / name).chmod(0o755)
    sarif = tmp_path / "results.sarif"
    run = run_action(workspace, github, {**OFFLINE, "sarif-file": str(sarif), "fail-on": "unused"},
                     bin_dir=shims)
    assert run.code == 1 and run.outputs["exit-code"] == "1", run.log
    tool = [c for c in (shims / "calls.log").read_text().splitlines() if c.startswith("-I -m iam_lastused ")]
    report = run.outputs["report"]
    assert tool == [
        "-I -m iam_lastused scan examples/terraform --fail-on unused --access-data examples/access-data.json "
        f"--format text --also-write markdown={report} --also-write sarif={sarif}"
    ]
    assert json.loads(sarif.read_text())["runs"][0]["results"]
    assert Path(report).read_text().startswith(MARKER) and github.bodies() == [Path(report).read_text()]


HIJACK = "import pathlib, sys; pathlib.Path({marker!r}).write_text(__name__); sys.exit(0)\n"


def test_action_imports_nothing_from_the_checkout(
    workspace: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    """A pull request that adds `iam_lastused/` (or `secrets.py`) does not replace the tool."""
    marker = tmp_path / "hijacked"
    for where in (workspace, workspace / "examples"):
        (where / "iam_lastused").mkdir()
        for module in ("__init__.py", "__main__.py", "github_comment.py"):
            (where / "iam_lastused" / module).write_text(HIJACK.format(marker=str(marker)))
        for module in ("secrets.py", "sitecustomize.py", "github.py"):
            (where / module).write_text(HIJACK.format(marker=str(marker)))
    inside = {"path": "terraform", "access-data": "access-data.json", "working-directory": "examples"}
    for given in (OFFLINE, inside):
        run = run_action(workspace, github, given)
        assert run.code == 0, run.log
        assert not marker.exists(), marker.read_text()
        assert "role aws_iam_role.ci_deployer" in run.log and "pull-request comment" in run.log
    assert len(github.comments) == 1 and github.comments[0]["body"].startswith(MARKER)


EVIL_TF = """
resource "aws_iam_role" "evil::error::pwned ##[error]boom" {
  name               = "evil\\n::add-mask::x ##[add-mask]y ::error::pwned"
  assume_role_policy = "{}"
  inline_policy {
    name   = "##[set-output name=x]y"
    policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:*", Resource = "*" }] })
  }
}
"""
STOP_TOKEN = re.compile(r"^::stop-commands::([0-9a-f]{64})$", re.MULTILINE)


@pytest.mark.parametrize("log_format", ["text", "json", "markdown", "sarif"])
def test_action_log_cannot_carry_workflow_commands(
    workspace: Path, github: FakeGitHub, log_format: str
) -> None:
    """The report quotes the code's names; in the log they sit between ::stop-commands::
    and a fresh random token, so the runner acts on no command but the resume."""
    (workspace / "examples" / "terraform" / "evil.tf").write_text(EVIL_TF, encoding="utf-8")
    tokens = []
    for _ in range(2):
        run = run_action(workspace, github, {**OFFLINE, "format": log_format, "comment": "off"})
        assert run.code == 0, run.log
        assert "pwned" in run.log and "boom" in run.log
        if log_format == "text":
            assert "role aws_iam_role.evil::error::pwned \\x23#[error]boom  " in run.log  # ##[ escaped
        [token] = STOP_TOKEN.findall(run.log)
        assert workflow_commands(run.log) == [("stop-commands", token), (token, "")]
        tokens.append(token)
    assert tokens[0] != tokens[1]
    assert tokens[0] not in (ROOT / "action.yml").read_text()


def test_action_github_format_log_is_only_its_annotations(workspace: Path, github: FakeGitHub) -> None:
    (workspace / "examples" / "terraform" / "evil.tf").write_text(EVIL_TF, encoding="utf-8")
    run = run_action(workspace, github, {**OFFLINE, "format": "github", "comment": "off"})
    assert run.code == 0, run.log
    assert "evil::error::pwned \\x23#[error]boom grants every s3 action" in run.log  # ##[ escaped
    commands = workflow_commands(run.log)
    stop = [data for name, data in commands if name == "stop-commands"]
    annotations = [(name, data) for name, data in commands if name not in ("stop-commands", *stop)]
    assert annotations and {name for name, _ in annotations} <= {"warning", "notice", "error"}
    assert not any("##[" in data for _, data in annotations)
    starts = ("::warning", "::notice", "::error")
    rendered = [line for line in run.log.splitlines() if line.startswith(starts)]
    assert len(annotations) == len(rendered)


def test_action_github_format_stops_commands_around_stderr(workspace: Path, github: FakeGitHub) -> None:
    """The github format's own lines are commands; what the tool says on stderr is not."""
    plan = "plan ##[error]boom ::error::pwned.json"
    (workspace / plan).write_text("{not json", encoding="utf-8")
    run = run_action(workspace, github, {"plan": plan, "format": "github", "comment": "off"})
    assert run.code == 2 and "\\x23#[error]boom" in run.log, run.log  # ##[ escaped, and stopped
    [token] = STOP_TOKEN.findall(run.log)
    assert workflow_commands(run.log) == [("stop-commands", token), (token, "")]


def test_action_writes_valid_sarif(
    workspace: Path, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line the action runs for a sarif-file (test_action_scans_once_for_every_output
    holds it to that), in this process: the SARIF it writes is valid and has results."""
    sarif = tmp_path / "results.sarif"
    monkeypatch.chdir(workspace)
    run = cli("scan", "examples/terraform", "--access-data", "examples/access-data.json", "--format", "text",
              "--also-write", f"markdown={tmp_path / 'report.md'}", "--also-write", f"sarif={sarif}")
    assert run.code == 0, run.err
    document = json.loads(sarif.read_text(encoding="utf-8"))
    jsonschema.validate(document, SARIF_SCHEMA)
    assert document["runs"][0]["results"]


@pytest.mark.parametrize(("fail_on", "code"), [("never", 0), ("stale", 1), ("unused", 1), ("static", 1)])
def test_action_exit_code_follows_fail_on_after_commenting(
    workspace: Path, github: FakeGitHub, fail_on: str, code: int
) -> None:
    run = run_action(workspace, github, {**OFFLINE, "fail-on": fail_on})
    assert run.code == code, run.log
    assert run.outputs["exit-code"] == str(code)
    assert len(github.comments) == 1 and MARKER in run.summary


def test_action_fail_on_comes_from_the_config_file_when_not_given(
    workspace: Path, github: FakeGitHub
) -> None:
    (workspace / ".iam-lastused.toml").write_text('fail-on = "unused"\n', encoding="utf-8")
    assert run_action(workspace, github, {**OFFLINE, "comment": "off"}).code == 1
    assert run_action(workspace, github, {**OFFLINE, "comment": "off", "fail-on": "never"}).code == 0


def test_action_analyses_a_plan_in_the_working_directory(workspace: Path, github: FakeGitHub) -> None:
    inputs = {"plan": "plan/plan.json", "access-data": "access-data.json", "working-directory": "examples",
              "format": "github", "comment": "new"}
    run = run_action(workspace, github, inputs)
    assert run.code == 0, run.log
    assert "::warning " in run.log
    assert "module.orders.aws_iam_role.reporter" in github.bodies()[0].replace("\\", "")


def test_action_comment_off_and_outside_a_pull_request(workspace: Path, github: FakeGitHub) -> None:
    push = workspace.parent / "push.json"
    push.write_text(json.dumps({"ref": "refs/heads/main"}))
    assert run_action(workspace, github, {**OFFLINE, "comment": "off"}).code == 0
    run = run_action(workspace, github, OFFLINE, event=push)
    assert run.code == 0 and "not a pull request" in run.log
    assert github.requests == []


@pytest.mark.parametrize("given", [{}, {"path": "examples/terraform", "plan": "examples/plan/plan.json"}])
def test_action_needs_exactly_one_of_path_and_plan(
    workspace: Path, github: FakeGitHub, given: dict[str, str]
) -> None:
    run = run_action(workspace, github, given)
    assert run.code == 2 and "::error::iam-lastused: give the path input" in run.log
    assert github.requests == []


# A hostile pull request, end to end: the action's own steps over a checkout that tries
# to run its code, read the environment and files outside, and write outside.

LEAKS = {
    "environment": "envsecret-5f1c0b7e9a2d",  # in the step's environment: /proc/self/environ
    "file": "filesecret-3b8e6d4c1a90",  # outside/secret.txt
    "policy": "OutsideSid7d2e9f4b6c1a",  # the Sid of outside/policy.json
    "module": "outside-module-role-a4c7e2",  # the role name in outside/module
    "code": "pwned-by-the-pr-9e3f1b",  # printed by the checkout's Python, if it ran
}
OUTSIDE_SERVICE = "glacier"  # only outside/policy.json and outside/module grant it
OUTSIDE_ROOT = "outside the repository root"
PWN = (
    "import pathlib, sys\n"
    "pathlib.Path({pwned!r}).write_text({name!r})\n"
    "print({marker!r}); print({marker!r}, file=sys.stderr)\n"
)
HOSTILE_TF = """\
resource "aws_iam_role" "environ" {
  name               = file("/proc/self/environ")
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "outside" {
  role   = aws_iam_role.ci_deployer.id
  policy = file("${path.module}/../../../outside/policy.json")
}

resource "aws_iam_role_policy" "absolute" {
  role   = aws_iam_role.ci_deployer.id
  policy = file("OUTSIDE/policy.json")
}

resource "aws_iam_role" "secret" {
  name               = file("${path.module}/../../../outside/secret.txt")
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "through_the_link" {
  role   = aws_iam_role.ci_deployer.id
  policy = file("${path.module}/escape/policy.json")
}

module "evil" {
  source = "../../../outside/module"
}
"""

OUTSIDE_MODULE = """\
resource "aws_iam_role" "outside" {
  name               = "NAME"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "outside" {
  role   = aws_iam_role.outside.id
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "SERVICE:*", Resource = "*" }] })
}
"""


def hostile_pull_request(tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples as a pull request's git checkout, with every trick added; what lies
    outside it (a secret file, a policy, a module) next door. Returns the PWNED path."""
    outside = tmp_path / "outside"
    (outside / "module").mkdir(parents=True)
    (outside / "secret.txt").write_text(LEAKS["file"], encoding="utf-8")
    statement = {"Sid": LEAKS["policy"], "Effect": "Allow", "Action": f"{OUTSIDE_SERVICE}:*", "Resource": "*"}
    (outside / "policy.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    module_tf = OUTSIDE_MODULE.replace("NAME", LEAKS["module"]).replace("SERVICE", OUTSIDE_SERVICE)
    (outside / "module" / "main.tf").write_text(module_tf, encoding="utf-8")
    (workspace / ".git").mkdir()
    pwned = tmp_path / "PWNED"
    for where in (workspace, workspace / "examples", workspace / "examples" / "terraform"):
        (where / "iam_lastused" / "integrations").mkdir(parents=True)
        for module in ("iam_lastused/__init__.py", "iam_lastused/__main__.py",
                       "iam_lastused/integrations/__init__.py", "iam_lastused/integrations/github_comment.py",
                       "sitecustomize.py", "usercustomize.py", "secrets.py"):
            (where / module).write_text(PWN.format(pwned=str(pwned), name=module, marker=LEAKS["code"]))
    terraform = workspace / "examples" / "terraform"
    (terraform / "hostile.tf").write_text(HOSTILE_TF.replace("OUTSIDE", str(outside)), encoding="utf-8")
    (terraform / "environ.tf").symlink_to("/proc/self/environ")
    (terraform / "escape").symlink_to(outside)
    (terraform / "root").symlink_to("/")
    monkeypatch.setenv("IAM_LASTUSED_PR_SECRET", LEAKS["environment"])  # the runner passes it to each step
    return pwned


def tree(top: Path, skip: set[Path]) -> dict[str, str]:
    """Every path under `top` (links not followed) and what it holds."""
    found: dict[str, str] = {}
    for directory, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if Path(directory, d) not in skip]
        for name in dirs + files:
            path = Path(directory, name)
            if path.is_symlink():
                found[str(path)] = f"-> {os.readlink(path)}"
            elif path.is_file():
                found[str(path)] = path.read_bytes().decode(errors="replace")
            else:
                found[str(path)] = "dir"
    return found


def assert_nothing_leaks(texts: dict[str, str]) -> None:
    for where, text in texts.items():
        for what, marker in LEAKS.items():
            assert marker not in text, f"the {what} marker reached {where}"
        assert TOKEN not in text, where


def runner_and_cache_files(tmp_path: Path) -> dict[str, str]:
    """Every file the runner temp (summary, report, SARIF, stderr) and the cache hold."""
    files = {}
    for top in (tmp_path / "runner", Path(os.environ["IAM_LASTUSED_CACHE_DIR"])):
        files.update({k: v for k, v in tree(top, set()).items() if v != "dir"})
    return files


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


UNUSED = {  # the examples' in-tree principals and the services access-data says they never used
    "aws_iam_role.ci_deployer": {"lambda"},
    "module.orders.aws_iam_role.worker": {"dynamodb", "sns"},
    "module.orders.aws_iam_policy.data_access": {"dynamodb"},
}


def test_action_over_a_hostile_pull_request_runs_none_of_it_and_leaks_nothing(
    workspace: Path, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's "done when": none of the PR's code runs; nothing from the environment or
    outside the checkout reaches the log, summary, Markdown, SARIF, comment or cache; nothing
    is written outside; the in-tree principals are still reported with their unused services,
    and each refusal is an error naming its file and line."""
    pwned = hostile_pull_request(tmp_path, workspace, monkeypatch)
    (workspace / ".iam-lastused.toml").write_text("stale-days = 90\n", encoding="utf-8")  # harmless
    runner = tmp_path / "runner"
    sarif = runner / "results.sarif"
    before = tree(tmp_path, {runner})
    run = run_action(workspace, github, {**OFFLINE, "sarif-file": str(sarif), "format": "text"})
    assert run.code == 0 and run.outputs["exit-code"] == "0", run.log
    step_env = runner_environment(workspace, runner, github, runner / "event.json")
    assert step_env["IAM_LASTUSED_PR_SECRET"] == LEAKS["environment"]  # in the step's /proc/self/environ

    # none of its code ran, nothing was written outside the runner temp (nor in the checkout)
    assert not pwned.exists(), pwned.read_text()
    assert tree(tmp_path, {runner}) == before

    # nothing secret or from outside anywhere the action writes
    report = Path(run.outputs["report"]).read_text(encoding="utf-8")
    [comment] = github.bodies()
    assert comment == report and report in run.summary
    files = runner_and_cache_files(tmp_path)
    cache = Path(os.environ["IAM_LASTUSED_CACHE_DIR"])
    assert any(Path(name).is_relative_to(cache) for name in files)  # the scan did cache (parsed files)
    assert_nothing_leaks({"log": run.log, "summary": run.summary, "markdown": report, "comment": comment,
                          **files})
    sarif_text = sarif.read_text(encoding="utf-8")
    assert OUTSIDE_SERVICE not in report + sarif_text + run.log  # the outside policy was not analysed
    markdown = report.replace("\\", "")  # unescaped
    assert "<code>module.evil." not in markdown  # the outside module was not followed

    # the in-tree principals, with their unused services, in the Markdown and the SARIF
    for principal, services in UNUSED.items():
        section = markdown.split(f"<code>{principal}</code>: ", 1)[1].split("</details>", 1)[0]
        assert section.startswith(f"{len(services)} never used"), section
        assert {s for s in re.findall(r"\*\*never used\*\*: <code>(\w+)</code>", section)} == services
    document = json.loads(sarif_text)
    jsonschema.validate(document, SARIF_SCHEMA)
    unused = {(r["properties"]["principal"], r["properties"]["service"])
              for r in document["runs"][0]["results"] if r["ruleId"] == "IAMLU001"}
    assert unused == {(p, s) for p, services in UNUSED.items() for s in services}

    # each refusal: an error naming file:line, in the log and the Markdown
    outside = re.escape(str(tmp_path / "outside"))
    unread = {  # what each refused file() names, by a word on its line of hostile.tf
        "/proc/self/environ": r"/proc/self/environ",
        "outside/policy.json": r"\S+/\.\./\.\./\.\./outside/policy\.json",
        "OUTSIDE/policy.json": rf"{outside}/policy\.json",
        "outside/secret.txt": r"\S+/\.\./\.\./\.\./outside/secret\.txt",
        "escape/policy.json": r"\S+/escape/policy\.json",
    }
    refused = [("environ.tf", f"not read: {OUTSIDE_ROOT}")]
    refused += [(f"hostile.tf:{line_of(HOSTILE_TF, needle)}", f"cannot read {path}: {OUTSIDE_ROOT}")
                for needle, path in unread.items()]
    evil = line_of(HOSTILE_TF, 'module "evil"')
    module = r"module\.evil: module source \.\./\.\./\.\./outside/module"
    refused.append((f"hostile.tf:{evil}", f"{module} is {OUTSIDE_ROOT}; not followed"))
    for where, message in refused:
        assert re.search(rf"^error: examples/terraform/{re.escape(where)}: {message}$", run.log, re.M), where
        assert re.search(rf"^- examples/terraform/{re.escape(where)}: {message}$", markdown, re.M), where
    for link in ("escape", "root"):
        assert f"note: examples/terraform/{link}: a link to a directory; not followed" in run.log
    notifications = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert sum(OUTSIDE_ROOT in n["message"]["text"] for n in notifications) == len(refused)


@pytest.mark.parametrize("setting", ["output", "also-write"])
def test_action_refuses_a_pull_requests_config_that_writes_outside(
    workspace: Path, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    """A config file that names where the report goes stops the run (exit 2) before any
    scan: nothing is written there or anywhere outside, none of the PR's code runs, nothing leaks."""
    pwned = hostile_pull_request(tmp_path, workspace, monkeypatch)
    target = tmp_path / "outside" / "report.txt"
    value = f'"{target}"' if setting == "output" else f'["markdown={target}"]'
    (workspace / ".iam-lastused.toml").write_text(f"{setting} = {value}\n", encoding="utf-8")
    runner = tmp_path / "runner"
    sarif = runner / "results.sarif"
    before = tree(tmp_path, {runner})
    run = run_action(workspace, github, {**OFFLINE, "sarif-file": str(sarif), "format": "text"})
    assert run.code == 2 and run.outputs["exit-code"] == "2", run.log
    config = workspace / ".iam-lastused.toml"
    assert f"{config}: {setting} can be given on the command line only, not in the config file" in run.log
    assert "no Markdown report: no comment posted" in run.log and github.requests == []
    assert not target.exists() and not pwned.exists() and not sarif.exists()
    assert tree(tmp_path, {runner}) == before
    assert run.summary == ""
    assert_nothing_leaks({"log": run.log, **runner_and_cache_files(tmp_path)})
