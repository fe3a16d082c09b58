"""A hostile pull request, second round (issue 23): the repository's config cannot
choose the usage data or the AWS identity, the report says where its usage data came
from, caches are keyed by who asked and hold no secret, a name is shown only if it can
be a name, and no untrusted text starts a workflow command. Each test runs the CLI."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import test_action
from conftest import ACCOUNT, make_role
from iam_lastused.store import scan_memo
from test_action import OFFLINE, run_action

github = test_action.github  # the Action's fixtures: a fake GitHub, a checkout of the examples
workspace = test_action.workspace
RECENT = datetime.now(timezone.utc) - timedelta(days=1)
POLICY = (
    'resource "aws_iam_role_policy" "p" {{\n  role = aws_iam_role.app.id\n'
    '  policy = jsonencode({{Version = "2012-10-17", Statement = [{{Effect = "Allow",'
    ' Action = ["s3:GetObject", "sqs:SendMessage"], Resource = "*"}}]}})\n}}\n'
)
APP = 'resource "aws_iam_role" "app" {{\n  name = {name}\n  assume_role_policy = "{{}}"\n}}\n' + POLICY


def all_used(arn: str) -> dict:
    """An access-data file saying every service the role is granted was used yesterday."""
    services = [
        {"ServiceName": name, "ServiceNamespace": namespace, "TotalAuthenticatedEntities": 1,
         "LastAuthenticated": RECENT.isoformat()}
        for namespace, name in (("s3", "Amazon S3"), ("sqs", "Amazon SQS"))
    ]
    return {arn: {"JobStatus": "COMPLETED", "JobType": "SERVICE_LEVEL",
                  "JobCompletionDate": RECENT.isoformat(), "ServicesLastAccessed": services}}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pull request's checkout (a git work tree) with one role, `app`, in main.tf."""
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "main.tf").write_text(APP.format(name='"app"'))
    monkeypatch.chdir(checkout)
    return checkout


@pytest.fixture
def deployed(iam, last_accessed) -> str:
    """`app` as deployed: S3 used yesterday, SQS never."""
    arn = make_role(iam, "app")
    last_accessed.activity[arn] = {"s3": RECENT, "sqs": None}
    return arn


# 1. The repository's config is preferences, not authority ---------------------------


def test_the_repositorys_config_cannot_choose_the_usage_data(cli, repo, deployed):
    (repo / "usage.json").write_text(json.dumps(all_used(deployed)))
    (repo / ".iam-lastused.toml").write_text('access-data = "usage.json"\nstale-days = 30\n')
    run = cli("scan", ".", "--fail-on", "unused", "--format", "json")
    assert run.code == 1, run.err
    [app] = run.json["principals"]
    assert app["unused_services"] == ["sqs"] and run.json["stale_days"] == 30  # a preference is taken
    [line] = [line for line in run.err.splitlines() if "access-data" in line]
    assert line.startswith("iam-lastused: warning: ")
    assert ".iam-lastused.toml: access-data is not taken" in line


@pytest.mark.parametrize("setting", [
    'account-id = "999988887777"', 'region = "eu-west-3"', 'profile = "attacker"',
    'assume-role-arn = "arn:aws:iam::999988887777:role/x"', '[accounts]\n"123456789012" = "attacker"',
])
def test_the_repositorys_config_cannot_choose_the_identity(cli, repo, deployed, aws_hooks, setting):
    asked: list[str] = []
    aws_hooks.append(lambda request, **_: asked.append(request.url) or None)
    (repo / ".iam-lastused.toml").write_text(setting + "\n")
    run = cli("scan", ".", "--fail-on", "unused", "--format", "json",
              "--assume-role-arn", "arn:aws:iam::{account_id}:role/iam-lastused")
    assert run.code == 1, run.err
    assert run.json["principals"][0]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/app"
    assert not any("999988887777" in url or "eu-west-3" in url for url in asked)
    key = setting.strip("[").split(" ")[0].split("]")[0]
    assert f"{key} is not taken from the repository's config file" in run.err


def test_an_invokers_config_outside_the_repository_may_set_the_usage_data(cli, repo, tmp_path, deployed):
    (tmp_path / "usage.json").write_text(json.dumps(all_used(deployed)))
    (tmp_path / "ci.toml").write_text('access-data = "usage.json"\n')  # relative to ci.toml
    (repo / ".iam-lastused.toml").write_text("stale-days = 30\n")
    run = cli("scan", ".", "--fail-on", "unused", "--format", "json", "--config", str(tmp_path / "ci.toml"))
    assert run.code == 0, run.err
    assert run.json["principals"][0]["unused_services"] == [] and run.json["stale_days"] == 30
    assert "warning" not in run.err


def test_a_named_config_inside_the_repository_is_the_repositorys(cli, repo, deployed, monkeypatch):
    (repo / "usage.json").write_text(json.dumps(all_used(deployed)))
    (repo / "ci.toml").write_text('access-data = "usage.json"\n')
    monkeypatch.setenv("IAM_LASTUSED_CONFIG", str(repo / "ci.toml"))
    run = cli("scan", ".", "--fail-on", "unused", "--format", "json")
    assert run.code == 1 and "access-data is not taken" in run.err


def test_every_option_of_the_command_line_is_declared_once():
    """The table of who may set each option covers every option of the command line."""
    from iam_lastused.cli.parser import build_parser
    from iam_lastused.options import OPTIONS

    parser = build_parser()
    commands = next(a for a in parser._actions if a.choices and "scan" in a.choices).choices
    parsers = [*commands.values()]
    parsers += [action.choices[name] for p in parsers for action in p._actions
                if isinstance(action.choices, dict) for name in action.choices]
    long_options = {o[2:] for p in parsers for a in p._actions for o in a.option_strings
                    if o.startswith("--")}
    assert long_options - {"help"} <= set(OPTIONS)


# 3. Caches are keyed by who asked, and hold no secret ---------------------------------


def test_a_cached_report_is_not_served_to_another_identity(cli, repo, deployed, iam, last_accessed,
                                                           monkeypatch):
    broad = cli("scan", ".", "--format", "json")
    assert broad.json["principals"][0]["status"] == "analyzed", broad.err
    iam.create_user(UserName="narrow")
    key = iam.create_access_key(UserName="narrow")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    last_accessed.denied = {"GenerateServiceLastAccessedDetails"}  # this identity may not read usage
    narrow = cli("scan", ".", "--format", "json")
    [app] = narrow.json["principals"]
    assert app["status"] == "error" and "AccessDenied" in app["error"]
    assert narrow.json["usage_source"]["identity_arn"] == f"arn:aws:iam::{ACCOUNT}:user/narrow"


def test_tf_var_values_never_reach_the_cache_and_its_files_are_private(cli, repo, monkeypatch):
    secret = "hunter2-tf-var-5c1e"
    monkeypatch.setenv("TF_VAR_db_password", secret)
    (repo / "main.tf").write_text(APP.format(name='"app"') + 'variable "db_password" {}\n')
    (repo / "none.json").write_text("{}")
    monkeypatch.setattr(scan_memo, "_RACY_NS", 0)  # files just written may be kept
    first = cli("scan", ".", "--access-data", "none.json", "--account-id", ACCOUNT, "--format", "json")
    assert first.json["principals"], first.err
    cache = Path(os.environ["IAM_LASTUSED_CACHE_DIR"])
    files = [path for path in cache.rglob("*") if path.is_file()]
    assert any("scan-memo" in str(path) for path in files)
    for path in files:
        assert secret.encode() not in path.read_bytes() and b"TF_VAR_db_password" not in path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in [path for path in cache.rglob("*") if path.is_dir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


# 2. The report says where its usage data came from -----------------------------------


def test_every_human_format_says_where_the_usage_data_came_from(cli, repo, deployed, tmp_path):
    formats = ("text", "markdown", "json", "sarif", "junit")
    live = {name: cli("scan", ".", "--format", name).out for name in formats}
    said = f"AWS, account {ACCOUNT}, as arn:aws:sts::{ACCOUNT}:user/moto"
    assert said in live["text"] and said in live["junit"]
    [line] = [line for line in live["markdown"].splitlines() if line.startswith("Usage data: AWS")]
    assert ACCOUNT in line and "user\\/moto" in line
    assert json.loads(live["json"])["usage_source"] == {
        "kind": "live", "account": ACCOUNT, "identity_arn": f"arn:aws:sts::{ACCOUNT}:user/moto",
        "file": None, "file_date": None, "store": None, "analyzer_arn": None}
    assert json.loads(live["sarif"])["runs"][0]["properties"]["usageSource"]["kind"] == "live"
    (tmp_path / "usage.json").write_text(json.dumps(all_used(deployed)))
    os.utime(tmp_path / "usage.json", (1700000000, 1700000000))
    offline = cli("scan", ".", "--access-data", str(tmp_path / "usage.json"), "--format", "json")
    assert offline.json["usage_source"] | {"file": None} == {
        "kind": "file", "account": None, "identity_arn": None, "file": None,
        "file_date": "2023-11-14T22:13:20+00:00", "store": None, "analyzer_arn": None}
    text = cli("scan", ".", "--access-data", str(tmp_path / "usage.json")).out
    assert f"usage data: the access-data file {tmp_path / 'usage.json'}, written 2023-11-14 22:13 UTC" in text


# 7. The Action removes its own output files before the run -----------------------------


def test_the_action_removes_a_committed_sarif_file_even_when_the_run_stops_early(workspace, github):
    committed = workspace / "iam-lastused.sarif"
    committed.write_text('{"version": "2.1.0", "runs": [{"results": ["from the pull request"]}]}')
    (workspace / ".iam-lastused.toml").write_text('fail-on = "sometimes"\n')  # the run stops at once
    run = run_action(workspace, github, {**OFFLINE, "sarif-file": "iam-lastused.sarif"})
    assert run.outputs["exit-code"] == "2" and "fail-on must be one of" in run.log
    assert not committed.exists()


def test_the_action_warns_when_the_checkout_keeps_the_jobs_token(workspace, github):
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text(
        '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic c2VjcmV0LXRva2Vu\n')
    run = run_action(workspace, github, OFFLINE)
    assert "\n::warning::iam-lastused: the checkout keeps the job's token in .git/config" in "\n" + run.log
    assert "c2VjcmV0LXRva2Vu" not in run.log and "c2VjcmV0LXRva2Vu" not in run.summary


# 5. pre-commit: no file name is read as an option ------------------------------------

GIT = ("git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false",
       "-c", "init.defaultBranch=main")
BROAD = ('resource "aws_iam_role" "r" {\n  name = "r"\n  assume_role_policy = "{}"\n}\n'
         'resource "aws_iam_role_policy" "p" {\n  role = aws_iam_role.r.id\n'
         '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow", Action = "*",'
         ' Resource = "*"}]})\n}\n')
GIT_HOOK = """#!{python}
# pre-commit's way: each hook's entry, then the staged files its `files` pattern matches
import re, shlex, subprocess, sys, yaml
[hook] = [h for h in yaml.safe_load(open({manifest!r})) if h["id"] == "iam-lastused-offline"]
staged = subprocess.run(["git", "diff", "--cached", "--name-only", "-z"], capture_output=True,
                        text=True, check=True).stdout.split("\\0")
files = [name for name in staged if name and re.search(hook["files"], name)]
sys.exit(subprocess.run([*shlex.split(hook["entry"]), *files]).returncode)
"""


def test_a_commit_of_files_named_like_options_is_checked_and_overwrites_nothing(tmp_path):
    import subprocess
    import sys

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run([*GIT, "init", "-q"], cwd=repo, check=True)
    hook = repo / ".git" / "hooks" / "pre-commit"
    manifest = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"
    hook.write_text(GIT_HOOK.format(python=sys.executable, manifest=str(manifest)))
    hook.chmod(0o755)
    (repo / "main.tf").write_text(BROAD)
    (repo / "--exclude=**.tf").write_text("")
    (repo / "--output=main.tf").write_text("")
    subprocess.run([*GIT, "add", "--", "."], cwd=repo, check=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([*GIT, "commit", "-q", "-m", "x"], cwd=repo, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode != 0, done.stdout + done.stderr  # the broad grant fails the commit
    said = done.stdout + done.stderr  # git gives a hook's output to stderr
    assert "main.tf:" in said and "[wildcard-action]" in said
    assert (repo / "main.tf").read_text() == BROAD


# 4. A name is shown only if it can be a name ----------------------------------------

TOKEN = "c2VjcmV0LWpvYi10b2tlbg"
FORMATS = ("text", "json", "markdown", "sarif", "github", "lint", "junit", "gitlab")


@pytest.fixture
def offline(tmp_path: Path) -> tuple[str, ...]:
    """Options for a run that asks AWS nothing: empty access data, a given account."""
    (tmp_path / "none.json").write_text("{}")
    return ("--access-data", str(tmp_path / "none.json"), "--account-id", ACCOUNT)


@pytest.mark.parametrize("kind", ["role", "user", "group", "policy"])
def test_a_name_that_breaks_iams_rules_is_not_shown_in_any_format(cli, repo, monkeypatch, offline, kind):
    hostile = f"x\n::error file=a::pwned ##[error]{TOKEN} " + "a" * 400
    monkeypatch.setenv("TF_VAR_name", hostile)
    extra = '  assume_role_policy = "{}"\n' if kind == "role" else ""
    extra += '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow", Action = "*",' \
             ' Resource = "*"}]})\n' if kind == "policy" else ""
    (repo / "main.tf").write_text(
        f'variable "name" {{}}\nresource "aws_iam_{kind}" "x" {{\n  name = var.name\n{extra}}}\n')
    runs = {name: cli("scan", ".", *offline, "--format", name) for name in FORMATS}
    runs["offline-hook"] = cli("hook", "--offline", "--", "main.tf")
    for name, run in runs.items():
        assert TOKEN not in run.out + run.err and "aaaaaaaaaa" not in run.out + run.err, name
    [principal] = runs["json"].json["principals"]
    assert principal["status"] == "invalid-name" and principal["arn"] is None
    assert principal["error"].startswith(f"invalid name: the {kind} name is not one IAM accepts (4")


def test_a_path_that_breaks_iams_rules_is_not_shown(cli, repo, offline):
    (repo / "main.tf").write_text(
        f'resource "aws_iam_role" "x" {{\n  name = "x"\n  path = "/a b {TOKEN}/"\n'
        '  assume_role_policy = "{}"\n}\n')
    run = cli("scan", ".", *offline, "--format", "json")
    assert TOKEN not in run.out
    assert run.json["principals"][0]["error"].startswith("invalid name: the role path")
    assert run.json["principals"][0]["status"] == "invalid-name"


def test_file_and_templatefile_refuse_what_is_inside_dot_git(cli, repo, offline):
    (repo / ".git" / "config").write_text(
        f'[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic {TOKEN}\n')
    (repo / ".git" / "name.tpl").write_text(f"{TOKEN}")
    (repo / "main.tf").write_text(
        'resource "aws_iam_role" "a" {\n  name = file(".git/config")\n  assume_role_policy = "{}"\n}\n'
        'resource "aws_iam_role" "b" {\n  name = templatefile("${path.module}/.git/name.tpl", {})\n'
        '  assume_role_policy = "{}"\n}\n')
    runs = {name: cli("scan", ".", *offline, "--format", name) for name in FORMATS}
    for name, run in runs.items():
        assert TOKEN not in run.out + run.err, name
    messages = {error["message"] for error in runs["json"].json["errors"]}
    assert any(m.startswith("cannot read .git/config: inside .git/") for m in messages), messages
    assert any("name.tpl: inside .git/" in m for m in messages), messages


# 8. One escaping path per format: no line of any format starts a workflow command ----------

HOSTILE_FILE = "x\n::error file=a::pwned ##[group]x ##vso[task.setvariable]y.tf"


def test_no_format_has_a_line_that_is_a_log_command(cli, repo, offline):
    (repo / "main.tf").unlink()
    (repo / HOSTILE_FILE).write_text(
        'resource "aws_iam_role" "x" {\n  for_each = toset(["a\\n::error file=x::pwned ##[error]b"])\n'
        '  name = "ok"\n  assume_role_policy = "{}"\n}\n'
        'resource "aws_iam_role_policy" "p" {\n  role = "ok"\n  policy = jsonencode({Version = "2012-10-17",'
        ' Statement = [{Effect = "Allow", Action = "*", Resource = "*"}]})\n}\n')
    for name in FORMATS:
        run = cli("scan", ".", *offline, "--format", name)
        assert "wildcard-action" in run.out or "every action" in run.out, name
        for line in (run.out + run.err).splitlines():
            assert "##[" not in line and "##vso[" not in line, (name, line)
            own = name == "github" and line.startswith("::warning file=")  # the format's own commands
            assert own or not line.strip().startswith("::"), (name, line)
    data = cli("scan", ".", *offline, "--format", "json").json  # the data reads back the same
    assert {p["file"] for p in data["principals"]} == {HOSTILE_FILE}
    assert any("##[error]" in p["address"] for p in data["principals"])
    junit = cli("scan", ".", *offline, "--format", "junit").out
    import xml.etree.ElementTree as ElementTree
    failures = ElementTree.fromstring(junit).iter("failure")
    assert {failure.text for failure in failures} == {f"{HOSTILE_FILE}:8", f"{HOSTILE_FILE}:1"}


# 6. A YAML or JSON file the code or config names is read within a budget -----------------


def alias_bomb(depth: int) -> str:
    """YAML of a few hundred bytes standing for 9**depth strings."""
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, depth)]
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_named_by_the_config_is_one_line_and_cheap(cli, repo, iam):
    (repo / "stacks.yaml").write_text(alias_bomb(6))  # 531,441 strings in 300 bytes
    assert len(alias_bomb(9)) < 500
    (repo / ".iam-lastused.toml").write_text('stack-from-file = "stacks.yaml"\n')
    run = cli("scan", ".")
    assert run.code == 2 and run.out == ""
    assert run.err == (f"iam-lastused: error: {Path('stacks.yaml')}: the stack mapping stands for more than "
                       "100,000 values (YAML aliases): not read\n")
    (repo / "stacks.yaml").write_text("a: &a [*a]\n")  # an alias inside itself
    assert "stands for more than 100,000 values" in cli("scan", ".").err


# The hostile pull request, end to end through the Action's steps ----------------------------


def test_a_hostile_pull_request_through_the_action_second_round(workspace, github, tmp_path, monkeypatch):
    """Round one's tricks (test_action.hostile_pull_request) and this round's: a config
    choosing the usage data and the account, the job's token in .git/config read by
    file(), a committed SARIF file, names that are log commands."""
    test_action.hostile_pull_request(tmp_path, workspace, monkeypatch)
    token = "ZXh0cmFoZWFkZXItdG9rZW4tcm91bmQy"
    (workspace / ".git" / "config").write_text(
        f'[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic {token}\n')
    everything_used = json.loads(test_action.ROOT.joinpath("examples", "access-data.json").read_text())
    for entry in everything_used.values():
        for service in entry.get("ServicesLastAccessed", []):
            service.update(TotalAuthenticatedEntities=1, LastAuthenticated=RECENT.isoformat())
    (workspace / "usage.json").write_text(json.dumps(everything_used))
    (workspace / ".iam-lastused.toml").write_text('access-data = "usage.json"\naccount-id = "999988887777"\n')
    (workspace / "examples" / "terraform" / "round2.tf").write_text(
        'resource "aws_iam_role" "token" {\n  name = file("${path.module}/../../.git/config")\n'
        '  assume_role_policy = "{}"\n}\n'
        'resource "aws_iam_role" "command" {\n  name = "a\\n::error file=x::pwned ##[group]y"\n'
        '  assume_role_policy = "{}"\n}\n')
    sarif = workspace / "results.sarif"
    sarif.write_text('{"committed-by": "the pull request"}')
    run = run_action(workspace, github, {**OFFLINE, "sarif-file": "results.sarif", "format": "text"})
    assert run.outputs["exit-code"] == "0", run.log  # fail-on: never
    assert "access-data is not taken from the repository's config file" in run.log
    assert "account-id is not taken from the repository's config file" in run.log
    assert "::warning::iam-lastused: the checkout keeps the job's token in .git/config" in run.log
    written = json.loads(sarif.read_text())
    assert "committed-by" not in written and written["runs"][0]["results"]  # this run's findings
    source = written["runs"][0]["properties"]["usageSource"]
    assert source["kind"] == "file" and source["file"].endswith("examples/access-data.json")
    assert "999988887777" not in run.log + run.summary + sarif.read_text()
    files = test_action.runner_and_cache_files(tmp_path)
    outputs = {"log": run.log, "summary": run.summary, "sarif": sarif.read_text()}
    for where, text in {**outputs, **files}.items():
        assert token not in text, where
        assert where not in outputs or "##[group]" not in text, where  # the parse cache holds the code
    test_action.assert_nothing_leaks({"log": run.log, **files})
