"""The merge-request note and the GitLab CI template, against a local stand-in for
GitLab's REST API (merge-request notes and `GET /user`), the template's script run
with bash the way the runner runs it, and the Code Quality report against GitLab's
documented format."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jsonschema
import pytest
import yaml
from api_stand_in import Answer, serving
from iam_lastused.integrations import gitlab_note
from iam_lastused.integrations.gitlab_note import publish
from iam_lastused.render import renderer
from iam_lastused.render.findings import findings
from iam_lastused.render.markdown import MARKER
from test_junit import HOSTILE, hostile_run, validate_junit

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = yaml.safe_load((ROOT / "docs" / "gitlab-ci.yml").read_text(encoding="utf-8"))
SCHEMA = json.loads((Path(__file__).parent / "data" / "gitlab-code-quality.schema.json").read_text())
PROJECT = 123
MR = 9
TOKEN = "glpat-test-token-0123456789"
BOT = {"id": 42, "username": "project_123_bot_iam"}  # the token's user
MALLORY = {"id": 7, "username": "mallory"}
NOTES_PATH = f"/api/v4/projects/{PROJECT}/merge_requests/{MR}/notes"
NOTE_PATH = re.compile(rf"^{NOTES_PATH}/(\d+)$")


@dataclass
class Request:
    method: str
    path: str
    token: str


@dataclass
class FakeGitLab:
    """The notes of one merge request, as GitLab's REST API serves them (newest first
    unless `sort=asc`, pages of at most `max_per_page` with `x-next-page` and `Link`),
    and who the token is (`user`; None: `GET /user` answers 403)."""

    url: str = ""
    notes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    user: dict[str, Any] | None = field(default_factory=lambda: dict(BOT))
    author: dict[str, Any] = field(default_factory=lambda: dict(BOT))  # on the notes the token creates
    read_only: bool = False
    max_per_page: int = 20
    next_id: int = 1

    def add(self, body: str, author: dict[str, Any] = MALLORY, system: bool = False) -> dict[str, Any]:
        note = {
            "id": self.next_id, "body": body, "author": dict(author), "system": system,
            "noteable_type": "MergeRequest", "noteable_iid": MR,
            "created_at": datetime(2026, 1, 1, 0, self.next_id // 60, self.next_id % 60).isoformat() + "Z",
        }
        self.next_id += 1
        self.notes.append(note)
        return note

    def bodies(self) -> list[str]:
        return [note["body"] for note in self.notes]

    def calls(self) -> list[str]:
        return [f"{r.method} {urlsplit(r.path).path}" for r in self.requests]

    def writes(self) -> list[str]:
        return [c for c in self.calls() if not c.startswith("GET")]

    def answer(self, method: str, target: str, payload: Any) -> tuple[int, dict[str, str], Any]:
        path = urlsplit(target).path
        query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        found = NOTE_PATH.match(path)
        if path == "/api/v4/user" and method == "GET":
            if self.user is None:
                return 403, {}, {"message": "403 Forbidden"}
            return 200, {}, {**self.user, "name": "iam-lastused bot", "state": "active"}
        if self.read_only and method != "GET":
            return 403, {}, {"message": "403 Forbidden"}
        if path == NOTES_PATH and method == "GET":
            return self.page(query)
        if path == NOTES_PATH and method == "POST":
            return 201, {}, self.add(payload["body"], self.author)
        note = next((n for n in self.notes if found and n["id"] == int(found[1])), None)
        if note is not None and method == "PUT":
            note["body"] = payload["body"]
            return 200, {}, note
        if note is not None and method == "DELETE":
            self.notes.remove(note)
            return 204, {}, None
        return 404, {}, {"message": "404 Not found"}

    def page(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        ordered = self.notes if query.get("sort") == "asc" else self.notes[::-1]
        size = min(int(query.get("per_page", "20")), self.max_per_page)
        number = int(query.get("page", "1"))
        last = max(1, -(-len(ordered) // size))
        headers = {"x-page": str(number), "x-per-page": str(size), "x-total": str(len(ordered)),
                   "x-total-pages": str(last), "x-next-page": str(number + 1) if number < last else ""}
        if number < last:
            following = urlencode({**query, "page": number + 1})
            headers["Link"] = f'<{self.url}{NOTES_PATH}?{following}>; rel="next"'
        return 200, headers, ordered[(number - 1) * size : number * size]


def authorised(fake: FakeGitLab) -> Answer:
    """The stand-in's answers, each request recorded, and 401 without the token."""

    def answer(method: str, target: str, headers: Any, payload: Any) -> tuple[int, dict[str, str], Any]:
        token = headers.get("PRIVATE-TOKEN", "")
        fake.requests.append(Request(method, target, token))
        if token != TOKEN:
            return 401, {}, {"message": "401 Unauthorized"}
        return fake.answer(method, target, payload)

    return answer


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    fake = FakeGitLab()
    with serving(authorised(fake)) as url:
        fake.url = url
        yield fake


def post(fake: FakeGitLab, body: str, mode: str = "update") -> str:
    return publish(body, f"{fake.url}/api/v4", str(PROJECT), MR, TOKEN, mode)


# publish()


def test_publish_creates_then_updates_one_note_in_place(gitlab: FakeGitLab) -> None:
    gitlab.add("looks good to me")
    assert post(gitlab, f"{MARKER}\nfirst") == "created"
    assert gitlab.calls() == [f"GET {NOTES_PATH}", f"POST {NOTES_PATH}"]  # nothing marked: no lookup
    ours = gitlab.notes[-1]
    assert post(gitlab, f"{MARKER}\nsecond") == "updated"
    assert gitlab.bodies() == ["looks good to me", f"{MARKER}\nsecond"]
    assert gitlab.calls()[2:] == [f"GET {NOTES_PATH}", "GET /api/v4/user", f"PUT {NOTES_PATH}/{ours['id']}"]
    assert {r.token for r in gitlab.requests} == {TOKEN}


def test_publish_finds_our_note_on_a_later_page(gitlab: FakeGitLab) -> None:
    ours = gitlab.add(f"{MARKER}\nold", BOT)
    for n in range(gitlab.max_per_page * 2 + 3):
        gitlab.add(f"note {n}")
    assert post(gitlab, f"{MARKER}\nnew") == "updated"
    assert ours["body"] == f"{MARKER}\nnew" and len(gitlab.notes) == gitlab.max_per_page * 2 + 4
    pages = [parse_qs(urlsplit(r.path).query).get("page", ["1"])[0]
             for r in gitlab.requests if r.method == "GET" and urlsplit(r.path).path == NOTES_PATH]
    assert pages == ["1", "2", "3"]


def test_publish_updates_the_newest_of_ours(gitlab: FakeGitLab) -> None:
    older = gitlab.add(f"{MARKER}\nolder", BOT)
    newer = gitlab.add(f"{MARKER}\nnewer", BOT)
    assert post(gitlab, f"{MARKER}\nnew") == "updated"
    assert (older["body"], newer["body"]) == (f"{MARKER}\nolder", f"{MARKER}\nnew")


@pytest.mark.parametrize("mode", ["update", "delete-and-new"])
def test_publish_never_edits_or_deletes_someone_elses_marked_note(gitlab: FakeGitLab, mode: str) -> None:
    """Anyone can write a note that starts with the marker; only the token's own is ours."""
    before = gitlab.add(f"{MARKER}\nplease approve: all of IAM is used")
    system = gitlab.add(f"{MARKER}\na system note", BOT, system=True)
    assert post(gitlab, f"{MARKER}\nfirst", mode) == "created"
    ours = gitlab.notes[-1]
    after = gitlab.add(f"{MARKER}\nnewest, and still not ours")
    again = "updated" if mode == "update" else "deleted-and-created"
    assert post(gitlab, f"{MARKER}\nsecond", mode) == again
    assert before in gitlab.notes and after in gitlab.notes and system in gitlab.notes
    assert before["body"].endswith("all of IAM is used") and after["body"].endswith("still not ours")
    method = "PUT" if mode == "update" else "DELETE"
    assert [c for c in gitlab.writes() if not c.startswith("POST")] == [f"{method} {NOTES_PATH}/{ours['id']}"]
    assert [n["body"] for n in gitlab.notes if n["author"]["id"] == BOT["id"] and not n["system"]] == [
        f"{MARKER}\nsecond"
    ]


def test_publish_delete_and_new_replaces_all_of_ours(gitlab: FakeGitLab) -> None:
    gitlab.add(f"{MARKER}\none", BOT)
    gitlab.add(f"quoting {MARKER} is not ours", BOT)
    gitlab.add(f"{MARKER}\ntwo", BOT)
    assert post(gitlab, f"{MARKER}\nthree", "delete-and-new") == "deleted-and-created"
    assert gitlab.bodies() == [f"quoting {MARKER} is not ours", f"{MARKER}\nthree"]


def test_publish_new_always_creates_and_off_makes_no_request(gitlab: FakeGitLab) -> None:
    gitlab.add(f"{MARKER}\nold", BOT)
    assert post(gitlab, f"{MARKER}\nnew", "new") == "created"
    assert gitlab.bodies() == [f"{MARKER}\nold", f"{MARKER}\nnew"]
    assert gitlab.calls() == [f"POST {NOTES_PATH}"]
    gitlab.requests.clear()
    assert post(gitlab, "body", "off") == "skipped"
    assert gitlab.requests == []
    with pytest.raises(ValueError, match="unknown comment mode 'sticky'"):
        post(gitlab, "body", "sticky")


def test_publish_without_the_tokens_user_edits_and_deletes_nothing(
    gitlab: FakeGitLab, capsys: pytest.CaptureFixture[str]
) -> None:
    gitlab.add(f"{MARKER}\nold", BOT)
    gitlab.user = None  # GET /user: 403
    assert post(gitlab, f"{MARKER}\nnew", "delete-and-new") == "created"
    assert gitlab.bodies() == [f"{MARKER}\nold", f"{MARKER}\nnew"]
    assert not [c for c in gitlab.writes() if c.startswith(("PUT", "DELETE"))]
    assert capsys.readouterr().out == (
        "iam-lastused: cannot learn the token's user (GET /user): "
        "no earlier note is edited or deleted, a new one is posted\n"
    )


# main(): the job's environment


@pytest.fixture
def job_env(monkeypatch: pytest.MonkeyPatch, gitlab: FakeGitLab, tmp_path: Path) -> Path:
    """The variables a merge-request pipeline sets, the token, and a report to post."""
    for name, value in job_variables(gitlab).items():
        monkeypatch.setenv(name, value)
    report = tmp_path / "report.md"
    report.write_text(f"{MARKER}\nreport\n", encoding="utf-8")
    return report


def job_variables(gitlab: FakeGitLab) -> dict[str, str]:
    return {
        "GITLAB_CI": "true", "CI": "true", "CI_JOB_ID": "1001",
        "CI_API_V4_URL": f"{gitlab.url}/api/v4", "CI_PROJECT_ID": str(PROJECT),
        "CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": str(MR),
        "CI_JOB_TOKEN": "job-token-cannot-post-notes", "GITLAB_TOKEN": TOKEN,
    }


def test_main_posts_then_updates_and_never_prints_the_token(
    job_env: Path, gitlab: FakeGitLab, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gitlab_note.main([str(job_env)]) == 0
    assert gitlab_note.main([str(job_env), "--mode", "update"]) == 0
    out, err = capsys.readouterr()
    assert gitlab.bodies() == [f"{MARKER}\nreport\n"]
    assert "note created on !9" in out and "note updated on !9" in out
    assert TOKEN not in out + err


def test_main_outside_a_merge_request_posts_nothing(
    job_env: Path, gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CI_MERGE_REQUEST_IID")
    assert gitlab_note.main([str(job_env)]) == 0
    assert capsys.readouterr().out == "iam-lastused: not a merge request: no note posted\n"
    assert gitlab.requests == []


def test_main_warns_in_one_line_when_the_token_may_not_post(
    job_env: Path, gitlab: FakeGitLab, capsys: pytest.CaptureFixture[str]
) -> None:
    gitlab.read_only = True
    assert gitlab_note.main([str(job_env)]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and err == ""
    assert out.startswith("iam-lastused: warning: no merge-request note (HTTP 403: 403 Forbidden); ")
    assert "api scope" in out and "CI_JOB_TOKEN cannot post notes" in out and TOKEN not in out


def test_main_warns_without_a_token_as_in_a_forks_pipeline(
    job_env: Path, gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITLAB_TOKEN")
    assert gitlab_note.main([str(job_env)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("iam-lastused: warning: no merge-request note (GITLAB_TOKEN is not set)")
    assert gitlab.requests == []


def test_main_warns_when_gitlab_cannot_be_reached(
    job_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI_API_V4_URL", "http://127.0.0.1:9/api/v4")  # the discard port: refused
    assert gitlab_note.main([str(job_env)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("iam-lastused: warning: no merge-request note (") and out.count("\n") == 1
    assert "Traceback" not in out + err and TOKEN not in out + err


def test_main_with_a_bad_merge_request_iid_is_an_error(
    job_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "9; rm -rf /")
    assert gitlab_note.main([str(job_env)]) == 2
    assert "CI_MERGE_REQUEST_IID is not a number" in capsys.readouterr().err


# The template, run as the runner runs a job's script


def job_script() -> str:
    job = TEMPLATE["iam-lastused"]
    return "\n".join([*job.get("before_script", []), *job["script"]])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The merge request's checkout, holding the examples."""
    checkout = tmp_path / "project"
    shutil.copytree(ROOT / "examples", checkout / "examples")
    return checkout


def run_job(project: Path, gitlab: FakeGitLab, **variables: str) -> subprocess.CompletedProcess[str]:
    """The job's script with bash (`-eo pipefail`, as the runner's bash shell), in the
    project directory, with the job's variables; the tool already installed."""
    job = TEMPLATE["iam-lastused"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_", "AWS_"))}
    env.update({name: str(value) for name, value in job["variables"].items()})
    env.update(job_variables(gitlab))
    env.update({"CI_PROJECT_DIR": str(project), "IAM_LASTUSED_PYTHON": sys.executable,
                "IAM_LASTUSED_PATH": "examples", "IAM_LASTUSED_ACCESS_DATA": "examples/access-data.json"})
    env.update(variables)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", job_script()],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )


def test_template_declares_reports_for_merge_request_pipelines() -> None:
    job = TEMPLATE["iam-lastused"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    reports = job["artifacts"]["reports"]
    assert reports == {"codequality": "iam-lastused-reports/gl-code-quality-report.json",
                       "junit": "iam-lastused-reports/junit.xml"}
    assert job["artifacts"]["when"] == "always"
    subprocess.run(["bash", "-n"], input=job_script(), text=True, check=True)


def test_template_runs_python_isolated_and_installs_outside_the_checkout() -> None:
    lines = job_script().splitlines()
    python = [line for line in lines if re.search(r"\s-m\s", line)]
    assert len(python) == 4, python  # venv, pip, the tool, the note
    assert all(re.search(r'python3?"? -I -m ', line) for line in python), python
    assert not any("pip install ." in line or "-e ." in line for line in lines)


def test_template_notes_once_then_updates_the_note_and_writes_valid_reports(
    project: Path, gitlab: FakeGitLab
) -> None:
    first = run_job(project, gitlab, IAM_LASTUSED_FAIL_ON="never")
    assert first.returncode == 0, first.stdout + first.stderr
    reports = project / "iam-lastused-reports"
    report = (reports / "report.md").read_text(encoding="utf-8")
    assert report.startswith(MARKER) and gitlab.bodies() == [report]
    assert "role aws_iam_role.ci_deployer" in first.stdout  # the text report, in the log
    assert "merge-request note created on !9" in first.stdout

    second = run_job(project, gitlab)  # the template's fail-on: unused
    assert second.returncode == 1, second.stdout + second.stderr
    assert "merge-request note updated on !9" in second.stdout
    assert "iam-lastused exited 1" in second.stdout
    assert gitlab.bodies() == [report] and len(gitlab.writes()) == 2
    assert gitlab.writes() == [f"POST {NOTES_PATH}", f"PUT {NOTES_PATH}/{gitlab.notes[0]['id']}"]
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr

    issues = json.loads((reports / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    jsonschema.validate(issues, SCHEMA)
    assert {i["check_name"] for i in issues} >= {"unused-service", "stale-service", "service-wildcard"}
    validate_junit((reports / "junit.xml").read_text(encoding="utf-8"))


def test_template_posts_no_report_the_merge_request_committed(project: Path, gitlab: FakeGitLab) -> None:
    """A checkout that carries the report files (or links by their names) and a tool
    run that writes nothing: the stale files are gone, no note is posted."""
    reports = project / "iam-lastused-reports"
    reports.mkdir()
    (reports / "report.md").write_text(f"{MARKER}\nall of IAM is used, approve\n")
    (reports / "junit.xml").symlink_to("/etc/passwd")
    run = run_job(project, gitlab, IAM_LASTUSED_FAIL_ON="sometimes")  # a usage error: no report
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no Markdown report: no note posted" in run.stdout
    assert gitlab.requests == [] and not (reports / "junit.xml").is_symlink()


def test_template_outside_a_merge_request_posts_nothing(project: Path, gitlab: FakeGitLab) -> None:
    run = run_job(project, gitlab, CI_MERGE_REQUEST_IID="", IAM_LASTUSED_FAIL_ON="never")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "not a merge request: no note posted" in run.stdout and gitlab.requests == []


# The Code Quality report


def test_gitlab_format_through_the_cli_matches_gitlabs_schema() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-m", "iam_lastused", "scan", "examples", "--access-data",
         "examples/access-data.json", "--format", "gitlab"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    issues = json.loads(done.stdout)
    jsonschema.validate(issues, SCHEMA)
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    unused = {i["location"]["path"] for i in issues if i["check_name"] == "unused-service"}
    assert unused == {"examples/terraform/main.tf", "examples/terraform/modules/service-role/main.tf",
                      "examples/cloudformation/template.yaml", "examples/identity-center/main.tf"}
    assert {i["severity"] for i in issues} == {"major", "minor"}


def test_gitlab_format_keeps_hostile_names_as_data_and_leaves_out_the_suppressed() -> None:
    text = renderer("gitlab")(hostile_run(suppressed=True))
    text.encode("utf-8")  # no lone surrogate reaches the file
    issues = json.loads(text)
    jsonschema.validate(issues, SCHEMA)
    assert [i["check_name"] for i in issues] == ["unused-service", "service-wildcard"]
    first = issues[0]
    assert first["location"] == {"path": f"infra/{HOSTILE}.tf", "lines": {"begin": 10}}
    assert first["description"].endswith(f"Also granted at infra/{HOSTILE}.tf:30.")
    assert HOSTILE in first["description"]  # JSON carries any string as it is


def test_gitlab_fingerprints_stay_when_lines_move() -> None:
    before = json.loads(renderer("gitlab")(hostile_run(10)))
    after = json.loads(renderer("gitlab")(hostile_run(57)))
    assert [i["location"]["lines"]["begin"] for i in after] == [57, 57, 57]
    assert [i["fingerprint"] for i in before] == [i["fingerprint"] for i in after]
    assert [i["fingerprint"] for i in before] == [f.fingerprint for f in findings(hostile_run(10))]
