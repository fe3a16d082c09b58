"""Hostile and broken input: whatever the sources are given, the outcome is a clear
error (an InputError, or exit code 2 with one line on stderr) or a report, never a
traceback and never a hang; and whatever the names in a run, every renderer's output
is escaped for where it goes.

The properties run under a hypothesis profile named by $HYPOTHESIS_PROFILE: "ci" (the
default, a modest number of examples) or "thorough" (10,000 examples per property,
for an acceptance run). Every example also runs under a wall-clock limit, so a hang
fails the test instead of stalling the suite.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import re
import shutil
import signal
import string
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from iam_lastused import catalog
from iam_lastused.analysis.analyze import analyze_principal, statement_services
from iam_lastused.analysis.suppressions import with_suppressions
from iam_lastused.cli.main import main
from iam_lastused.model import (
    ActionResult,
    Grant,
    InputError,
    Location,
    Principal,
    PrincipalResult,
    RunResult,
    ServiceResult,
    SourceResult,
    Statement,
    StaticFinding,
    Suppression,
)
from iam_lastused.policy import UNKNOWN_PART as HOLE
from iam_lastused.policy import PolicyDoc
from iam_lastused.render.github import render_github
from iam_lastused.render.json_report import render_json
from iam_lastused.render.markdown import MAX_LENGTH, render_markdown
from iam_lastused.render.plan_text import annotate_plan, place_notes, principal_notes, shown_headers
from iam_lastused.render.sarif import render_sarif
from iam_lastused.render.text import render_text
from iam_lastused.sources.cloudformation.template import scan_template
from iam_lastused.sources.plan.load import PlanError, load_plan
from iam_lastused.sources.plan.read import read_plan
from iam_lastused.sources.terraform.scan import scan_terraform
from iam_lastused.sources.terraform.values import Encoded, policy_document, text
from markdown_it import MarkdownIt
from test_renderers import ALLOWED_TAGS as RENDERED_TAGS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SARIF = jsonschema.Draft4Validator(
    json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
LOCATION = Location("policy.tf", 7)

_COMMON = settings(
    deadline=timedelta(seconds=10),
    database=None,  # nothing written into the work tree; regressions are kept as @example
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
    print_blob=True,
)
# ci: the suite's default, half Hypothesis's own 100 (every @example above a test, the
# regressions found so far, runs whatever the profile; new random inputs each run);
# HYPOTHESIS_PROFILE=thorough looks much further, for a change to the readers
settings.register_profile("ci", _COMMON, max_examples=50)
settings.register_profile("thorough", _COMMON, max_examples=10_000)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# the slow properties (each example writes and scans a directory) run a quarter as many in CI
SLOW = (
    settings(PROFILE, max_examples=max(10, PROFILE.max_examples // 4))
    if PROFILE.max_examples < 1000
    else PROFILE
)

# ---------------------------------------------------------------------------
# Time limits: a hang fails the test rather than stalling the suite
# ---------------------------------------------------------------------------


class Hang(BaseException):
    """Raised from SIGALRM; a BaseException so that no `except Exception` in the code
    under test turns it into an ordinary error."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < seconds


def _bounded(seconds: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            with time_limit(seconds):
                return function(*args, **kwargs)

        return call

    return wrap


@contextlib.contextmanager
def tree(files: dict[str, bytes | str]) -> Iterator[Path]:
    """A temporary directory holding `files` (relative path to content)."""
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
            )
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# Invariants
# ---------------------------------------------------------------------------

_ANY_PRINTABLE = re.compile(r"[^\n]")


def check_statement(statement: Statement) -> None:
    assert isinstance(statement, Statement)
    assert isinstance(statement.location, Location)
    assert isinstance(statement.effect, str)
    for names in (statement.actions, statement.not_actions, statement.resources or ()):
        assert isinstance(names, tuple) and all(isinstance(name, str) for name in names)
    services = statement_services(statement)
    assert all(isinstance(service, str) for service in services)


def check_document(found: PolicyDoc, errors: list[InputError]) -> None:
    assert isinstance(found, PolicyDoc)
    for sid, statement in found.statements:
        assert sid is None or isinstance(sid, str)
        check_statement(statement)
    for error in errors:
        assert isinstance(error, InputError) and isinstance(error.message, str) and error.message


def check_source(result: SourceResult) -> RunResult:
    """A source's result is well formed, and analysis and every renderer take it."""
    assert isinstance(result, SourceResult)
    for error in result.errors:
        assert isinstance(error, InputError) and isinstance(error.message, str) and error.message
        assert error.file is None or isinstance(error.file, str)
        assert error.line is None or (isinstance(error.line, int) and error.line >= 0)
    assert all(isinstance(note, str) for note in result.notes)
    for principal in result.principals:
        assert isinstance(principal, Principal)
        for grants in (principal.grants, principal.grants_before):
            for grant in grants or ():
                assert isinstance(grant, Grant)
                for statement in grant.statements:
                    check_statement(statement)
    result = with_suppressions(result, [])
    principals = tuple(analyze_principal(p, None, NOW, 90) for p in result.principals)
    run = RunResult(90, NOW, principals, result.errors, result.notes)
    check_renderers(run)
    return run


def _printable_lines(output: str) -> None:
    bad = [ch for ch in output if ch != "\n" and not ch.isprintable()]
    assert not bad, f"unescaped characters {bad!r} in {output!r}"


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# Emphasis can come from the renderer's own Markdown; every other tag is the example's.
ALLOWED_TAGS = RENDERED_TAGS | {"em"}


def check_renderers(run: RunResult) -> None:
    for render in (render_text, render_github, render_json, render_sarif, render_markdown):
        output = render(run)
        output.encode("utf-8")  # what is written to stdout or --output must be encodable
    _printable_lines(render_text(run))
    github = render_github(run)
    _printable_lines(github)
    assert all(re.match(r"::(warning|notice|error)[ :]", line) for line in github.splitlines())
    document = json.loads(render_json(run))
    assert len(document["principals"]) == len(run.principals)
    assert len(document["errors"]) == len(run.errors)
    SARIF.validate(json.loads(render_sarif(run)))
    markdown = render_markdown(run)
    assert len(markdown.encode()) <= MAX_LENGTH
    html = _Html()
    html.feed(MarkdownIt("gfm-like").render(markdown))
    assert set(html.tags) <= ALLOWED_TAGS, html.tags
    shown = "".join(html.text)
    assert not re.search(r"(?<![\w\u200d])@[A-Za-z0-9]", shown), shown
    assert not re.search(r"#\d", shown), shown


# ---------------------------------------------------------------------------
# Strategies: JSON, action strings, policy documents
# ---------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["", "*", HOLE]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
NAMESPACES = sorted(catalog.service_namespaces())
SPECIAL_ACTIONS = [
    "",
    "*",
    "*:*",
    "::",
    ":",
    ":*",
    "*:",
    "s3:",
    ":GetObject",
    "s3:*",
    "S3:GETOBJECT",
    "s3:Get*",
    "*:Get*",
    "s?:*",
    "?3:Get?bject",
    "s3:Get?bject",
    "[",
    "[!a]:*",
    "s3:[",
    "s3:[z-a]",
    "[s]3:*",
    "*3:*",
    "**:**",
    "ec2:Describe*",
    "iam:PassRole",
    "\x00",
    "s3:\u202e",
    "\ufb00:*",
    "\u0130:*",
    "s3:a:b",
    " s3:* ",
    "*\n",
    "s3:Get*Object*",
    HOLE,
    f"s3:{HOLE}",
    "${aws:username}",
    "\\",
    "s3:\\*",
    "\u0130am:*",
    "\uff33\uff31\uff33:*",
]
service_parts = st.one_of(
    st.sampled_from(NAMESPACES), st.text(alphabet="abcs3*?[]!-", max_size=8), st.text(max_size=6)
)
action_parts = st.one_of(
    st.sampled_from(["*", "Get*", "?et*", "GetObject", "*Object", "", "[G]et*", "Get[", "*?*"]),
    st.text(alphabet=string.ascii_letters + "*?[]!", max_size=12),
    st.text(max_size=10),
)
action_strings = st.one_of(
    st.sampled_from(SPECIAL_ACTIONS),
    st.builds(lambda service, action: f"{service}:{action}", service_parts, action_parts),
    st.text(max_size=30),
    st.integers(1_000, 20_000).map(lambda n: "s3:" + "Get*" * (n // 4)),
    st.integers(1_000, 20_000).map(lambda n: "*" * n + ":" + "?" * n),
)
action_values = st.one_of(action_strings, st.lists(action_strings, max_size=8), json_values)
statements = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "Effect": st.one_of(st.sampled_from(["Allow", "Deny", "allow", "", HOLE]), json_values),
            "Action": action_values,
            "NotAction": action_values,
            "Resource": st.one_of(
                st.just("*"), st.lists(st.sampled_from(["*", "arn:aws:s3:::b/*", HOLE])), json_values
            ),
            "Sid": st.one_of(st.text(max_size=10), json_values),
        },
    ),
    json_values,
)
documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "Statement": st.one_of(
                statements,
                st.lists(statements, max_size=6),
                st.text(),
                st.integers(),
                st.floats(),
                json_values,
            )
        },
        optional={"Version": st.one_of(st.just("2012-10-17"), json_values), "Id": json_values},
    ),
)
separators = st.sampled_from(
    [(", ", ": "), (",", ":"), (",\n", " :\t"), ("\r\n,\r\n", "\n:\n"), (" , ", " : ")]
)


# ---------------------------------------------------------------------------
# 1. Policy documents, action strings and the catalogue
# ---------------------------------------------------------------------------


@PROFILE
@given(
    document=documents,
    indent=st.sampled_from([None, 0, 2, "\t", "\n"]),
    separators=separators,
    line=st.integers(1, 100_000),
    holes=st.booleans(),
)
@example(document=[[]], indent=None, separators=(",", ":"), line=1, holes=False)
@_bounded(20)
def test_policy_documents_read_from_any_json(
    document: Any, indent: Any, separators: tuple[str, str], line: int, holes: bool
) -> None:
    source = json.dumps(document, indent=indent, separators=separators)
    values = [
        source,
        text(source, file="policy.json", line=line, holes=("unknown",) if holes else ()),
        Encoded(document),
    ]
    if not isinstance(document, str):  # a string is taken for the JSON text of a document
        values.append(document)
    for value in values:
        errors: list[InputError] = []
        check_document(policy_document(value, LOCATION, errors.append), errors)
        assert not errors  # all of it is valid JSON


@PROFILE
@given(
    source=st.one_of(
        st.text(),
        st.text(alphabet='{}[]":,\\ \n\tSatemn0.e-'),
        st.binary().map(lambda data: data.decode("latin-1")),
    ),
    line=st.integers(1, 1000),
)
@example(source="[" * 100_000 + "]" * 100_000, line=1)
@example(source='{"Statement": ' + "[" * 50_000 + "]" * 50_000 + "}", line=3)
@example(source='\ufeff{"Statement": []}', line=1)
@_bounded(20)
def test_policy_documents_read_from_any_text(source: str, line: int) -> None:
    for value in (source, text(source, file="policy.json", line=line)):
        errors: list[InputError] = []
        found = policy_document(value, LOCATION, errors.append)
        check_document(found, errors)
        assert len(errors) <= 1
        if errors:
            assert not found.known and errors[0].message.startswith("invalid policy JSON")


@PROFILE
@given(patterns=st.lists(action_strings, max_size=12), effect=st.sampled_from(["Allow", "Deny", "allow"]))
@example(patterns=["*:*", "::", "", "s3:" + "a*" * 20_000], effect="Allow")
@_bounded(20)
def test_any_action_string_through_analysis_and_catalogue(patterns: list[str], effect: str) -> None:
    as_tuple = tuple(patterns)
    for found in (catalog.services_for_actions(as_tuple), catalog.services_for_not_actions(as_tuple)):
        assert all(isinstance(namespace, str) for namespace in found)
    for pattern in patterns:
        assert all(isinstance(action, str) for action in catalog.actions_matching(pattern))
        assert isinstance(catalog.service_name(pattern), str)
        assert isinstance(catalog.service_actions(pattern), tuple)
    for statement in (
        Statement(LOCATION, effect, actions=as_tuple, resources=("*",)),
        Statement(LOCATION, effect, not_actions=as_tuple, resources=("*",)),
        Statement(LOCATION, effect, actions=as_tuple, not_actions=as_tuple, resources=None),
    ):
        principal = Principal(
            "aws_iam_role.r",
            "terraform",
            "role",
            LOCATION,
            arn="arn:aws:iam::1:role/r",
            grants=(Grant(LOCATION, (statement,)),),
        )
        check_statement(statement)
        analyze_principal(principal, None, NOW, 90)


def test_huge_statements_are_read_in_time() -> None:
    """Thousands of actions, as Action and as NotAction, with every kind of wildcard."""
    wildcards = ["*:Get*", "s3:*", "*", "ec2:Describe*", "?3:Put*", "iam:*Role*", "*:*"]
    actions = [f"{NAMESPACES[i % len(NAMESPACES)]}:Action{i}" for i in range(5_000)]
    actions += [wildcards[i % len(wildcards)] + str(i % 3) for i in range(500)]
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"},
            {"Effect": "Allow", "NotAction": actions[:3_000], "Resource": "*"},
        ]
        * 3
    }
    with time_limit(30):
        errors: list[InputError] = []
        found = policy_document(json.dumps(document, indent=2), LOCATION, errors.append)
        check_document(found, errors)
        assert len(found.statements) == 6 and not errors


# ---------------------------------------------------------------------------
# 2a. The Terraform source
# ---------------------------------------------------------------------------

HCL_LEAVES = [
    "1",
    "-2.5",
    "0",
    "1e308",
    "true",
    "false",
    "null",
    '"s3:GetObject"',
    '"*"',
    '"name"',
    '""',
    '"${var.a}-x"',
    '"%{ if true }x%{ endif }"',
    '"$${literal}"',
    "var.a",
    "var.b",
    "var.missing",
    "local.x",
    "local.y",
    "local.self",
    "aws_iam_role.r.name",
    "aws_iam_role.r.arn",
    "aws_iam_role.r.id",
    "aws_iam_policy.p.arn",
    "aws_iam_user.u.name",
    "aws_iam_group.g.name",
    "data.aws_iam_policy_document.d.json",
    "data.aws_iam_policy_document.missing.json",
    "module.m.o",
    "module.m.missing",
    "module.nowhere.o",
    "count.index",
    "each.key",
    "path.module",
    "path.root",
    "unknown_thing.x",
    '"/dev/zero"',
    '"t.tpl"',
    '"missing.tpl"',
    '"../outside"',
    'file("t.tpl")',
    'file("/dev/zero")',
    'file("missing")',
    'templatefile("t.tpl", { a = "s3:*" })',
    '<<EOT\n{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}\nEOT\n',
    "<<-EOT\n  ${var.a}\n  EOT\n",
    'jsonencode({ Statement = [{ Effect = "Allow", Action = ["s3:*", var.a], Resource = "*" }] })',
    '"{\\"Statement\\": {\\"Effect\\": \\"Allow\\", \\"NotAction\\": \\"iam:*\\"}}"',
]
HCL_FUNCTIONS = [
    "jsonencode",
    "jsondecode",
    "file",
    "templatefile",
    "concat",
    "merge",
    "tolist",
    "toset",
    "tostring",
    "lower",
    "upper",
    "join",
    "format",
    "length",
    "provider::aws::arn_parse",
    "provider::aws::arn_build",
    "provider::aws::trim_iam_role_path",
    "contains",
    "anytrue",
    "alltrue",
    "zipmap",
    "setunion",
    "setintersection",
    "startswith",
    "endswith",
    "tobool",
    "tonumber",
    "can",
    "try",
]
HCL_KEYS = ["Effect", "Action", "NotAction", "Resource", "Statement", "Sid", "a", '"quoted key"', "(var.a)"]


def _hcl_compound(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.lists(st.tuples(st.sampled_from(HCL_KEYS), children), max_size=4)
    return st.one_of(
        st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        pairs.map(lambda items: "{" + ", ".join(f"{key} = {value}" for key, value in items) + "}"),
        st.tuples(st.sampled_from(HCL_FUNCTIONS), st.lists(children, max_size=3)).map(
            lambda call: f"{call[0]}({', '.join(call[1])})"
        ),
        st.tuples(
            children, st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"]), children
        ).map(lambda op: f"({op[0]} {op[1]} {op[2]})"),
        st.tuples(st.sampled_from(["!", "-"]), children).map(lambda op: f"{op[0]}({op[1]})"),
        st.tuples(children, children, children).map(lambda c: f"({c[0]} ? {c[1]} : {c[2]})"),
        st.tuples(children, children).map(lambda c: f"{c[0]}[{c[1]}]"),
        children.map(lambda c: f"({c}).name"),
        children.map(lambda c: f"({c})[*].policy"),
        children.map(lambda c: f'"x-${{{c}}}-y"'),
        children.map(lambda c: f"[for v in {c} : v]"),
    )


hcl_expressions = st.recursive(st.sampled_from(HCL_LEAVES), _hcl_compound, max_leaves=8)

TERRAFORM_TEMPLATE = """\
variable "a" {{
  default = {0}
}}
variable "b" {{}}
locals {{
  x    = {1}
  y    = local.x
  self = local.self
}}
data "aws_iam_policy_document" "d" {{
  source_policy_documents = {2}
  statement {{
    sid       = {3}
    effect    = {4}
    actions   = {5}
    resources = {6}
  }}
}}
resource "aws_iam_role" "r" {{
  name = {7}
  path = {8}
  inline_policy {{
    policy = {9}
  }}
  managed_policy_arns = {10}
}}
resource "aws_iam_policy" "p" {{
  name   = {11}
  policy = {12}
}}
resource "aws_iam_user" "u" {{
  name = {13}
}}
resource "aws_iam_group" "g" {{
  name = {14}
}}
resource "aws_iam_role_policy" "rp" {{
  role   = {15}
  policy = {16}
}}
resource "aws_iam_role_policy_attachment" "at" {{
  role       = {17}
  policy_arn = {18}
}}
resource "aws_iam_policy_attachment" "many" {{
  roles      = {19}
  users      = {20}
  policy_arn = {21}
}}
resource "aws_iam_user_group_membership" "ug" {{
  user   = {22}
  groups = {23}
}}
module "m" {{
  source = "./mod"
  x      = {24}
}}
module "again" {{
  source = {25}
}}
"""
MODULE = """\
variable "x" {}
output "o" {
  value = var.x
}
resource "aws_iam_role" "inner" {
  name = var.x
  inline_policy {
    policy = templatefile("${path.module}/../t.tpl", { a = var.x })
  }
}
"""
TEMPLATE = '{"Statement": [{"Effect": "Allow", "Action": ["${a}", "sqs:*"], "Resource": "*"}]}'


def scan(root: Path, *paths: str) -> SourceResult:
    with time_limit(30):
        return scan_terraform([root / path for path in paths] or [root])


@SLOW
@given(expressions=st.lists(hcl_expressions, min_size=26, max_size=26))
@example(expressions=['file("/dev/zero")'] * 26)
@example(expressions=['templatefile("t.tpl", {})'] * 26)
@example(expressions=['"./mod"'] * 26)
def test_terraform_evaluates_any_expression(expressions: list[str]) -> None:
    files = {"main.tf": TERRAFORM_TEMPLATE.format(*expressions), "mod/main.tf": MODULE, "t.tpl": TEMPLATE}
    with tree(files) as root:
        check_source(scan(root))


tf_json_values = st.recursive(
    st.one_of(
        json_scalars,
        st.sampled_from(
            [
                "${var.a}",
                "${",
                "${aws_iam_role.r.name}",
                "%{ for x in y }",
                "${jsonencode({a = 1})}",
                '${file("/dev/zero")}',
            ]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "policy",
                    "role",
                    "statement",
                    "dynamic",
                    "inline_policy",
                    "actions",
                    "default",
                    "value",
                    "source",
                    "//",
                ]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


@SLOW
@given(
    document=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "resource": st.fixed_dictionaries(
                    {},
                    optional={
                        kind: st.dictionaries(st.text(max_size=5), tf_json_values, max_size=2)
                        for kind in ("aws_iam_role", "aws_iam_policy", "aws_iam_role_policy", "aws_iam_user")
                    },
                )
                | tf_json_values,
                "data": st.just({"aws_iam_policy_document": {"d": {"statement": [{"actions": ["s3:*"]}]}}})
                | tf_json_values,
                "locals": tf_json_values,
                "variable": st.dictionaries(st.sampled_from(["a", "b"]), tf_json_values, max_size=2),
                "module": st.dictionaries(st.sampled_from(["m", "n"]), tf_json_values, max_size=2),
                "output": tf_json_values,
            },
        ),
    )
)
def test_terraform_json_reads_any_document(document: Any) -> None:
    with tree({"main.tf.json": json.dumps(document)}) as root:
        check_source(scan(root))


HCL_ALPHABET = (
    string.ascii_letters[:8] + string.digits[:3] + '{}[]()="$%~<>!?:.,*#/\\-+\n\t "' + "\x00é\u202e"
)


@SLOW
@given(content=st.one_of(st.binary(max_size=300), st.text(alphabet=HCL_ALPHABET, max_size=300)))
@example(content=b"\xff\xfe" + 'resource "aws_iam_role" "r" {}'.encode("utf-16-le"))
@example(content='resource "aws_iam_role" "r" {\n name = "caf\xe9"\n}\n'.encode("latin-1"))
@example(content=b'resource "aws_iam_role" "r" {\n name = "a\x00b"\n}\n')
@example(content=b'\xef\xbb\xbfresource "aws_iam_role" "r" {\n name = "bom"\n}\n')
def test_terraform_reads_any_bytes(content: bytes | str) -> None:
    with tree({"main.tf": content}) as root:
        check_source(scan(root))


def _example_tree(root: Path) -> None:
    shutil.copytree(EXAMPLES / "terraform", root, dirs_exist_ok=True)


TERRAFORM_FILES = ["main.tf", "modules/service-role/main.tf", "variables.tf"]


@SLOW
@given(file=st.sampled_from(TERRAFORM_FILES), data=st.data())
def test_terraform_reads_truncated_and_mangled_examples(file: str, data: st.DataObject) -> None:
    original = (EXAMPLES / "terraform" / file).read_bytes()
    cut = data.draw(st.integers(0, len(original)), label="cut")
    insert = data.draw(
        st.binary(max_size=20) | st.sampled_from([b"{", b"}", b'"', b"${", b"<<EOT\n", b"\x00"])
    )
    with tree({}) as root:
        _example_tree(root)
        (root / file).write_bytes(original[:cut] + insert + original[cut:][len(insert) :])
        check_source(scan(root))


@pytest.mark.parametrize("file", TERRAFORM_FILES)
def test_terraform_reads_examples_cut_at_every_nth_byte(file: str) -> None:
    original = (EXAMPLES / "terraform" / file).read_bytes()
    with tree({}) as root:
        _example_tree(root)
        for cut in range(0, len(original), max(1, len(original) // 60)):
            (root / file).write_bytes(original[:cut])
            check_source(scan(root))


DEEP = 500


@pytest.mark.parametrize(
    "content",
    [
        "locals {\n  x = " + "{ a = " * DEEP + "1" + " }" * DEEP + "\n}\n",
        "locals {\n  x = " + "[" * DEEP + "]" * DEEP + "\n}\n",
        "locals {\n  x = " + "(" * DEEP + "1" + ")" * DEEP + "\n}\n",
        "locals {\n  x = " + "jsonencode(" * DEEP + "1" + ")" * DEEP + "\n}\n",
        "locals {\n  x = " + "1 + " * DEEP + "1\n}\n",
        "locals {\n  x = " + '"${' * 100 + "1" + '}"' * 100 + "\n}\n",
        'resource "aws_iam_role" "r" {\n' + "  inline_policy {\n" * DEEP + "  }\n" * DEEP + "}\n",
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    policy = jsonencode('
        + "{ Statement = " * DEEP
        + "1"
        + " }" * DEEP
        + ")\n  }\n}\n",
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    policy = "'
        + "[" * 50_000
        + "]" * 50_000
        + '"\n  }\n}\n',
        "locals {\n"
        + "".join(f"  a{i} = local.a{i + 1}\n" for i in range(DEEP))
        + f'  a{DEEP} = "x"\n}}\n'
        + 'resource "aws_iam_role" "r" {\n  name = local.a0\n}\n'
        + 'resource "aws_iam_role_policy" "p" {\n  role = local.a0\n  policy = jsonencode({ Statement = '
        + '[{ Effect = "Allow", Action = local.a0, Resource = "*" }] })\n}\n',
    ],
    ids=[
        "objects",
        "tuples",
        "parens",
        "jsonencode",
        "sums",
        "interpolations",
        "blocks",
        "policy-object",
        "policy-json",
        "local-chain",
    ],
)
def test_terraform_deep_nesting(content: str) -> None:
    with tree({"main.tf": content}) as root:
        check_source(scan(root))


def test_terraform_deep_json_nesting() -> None:
    document = {
        "resource": {
            "aws_iam_role": {
                "r": {
                    "name": "r",
                    "inline_policy": {"policy": "${jsonencode(" + "[" * DEEP + "]" * DEEP + ")}"},
                }
            }
        }
    }
    deep = "[" * 50_000 + "]" * 50_000
    with tree({"a.tf.json": json.dumps(document), "b.tf.json": '{"locals": {"x": ' + deep + "}}"}) as root:
        check_source(scan(root))


def test_terraform_ten_megabyte_file() -> None:
    block = (EXAMPLES / "terraform" / "modules" / "service-role" / "main.tf").read_text()
    copies = 10_000_000 // len(block) + 1
    content = "".join(
        block.replace('"this"', f'"this{i}"').replace('"ro"', f'"ro{i}"') for i in range(copies)
    )
    with tree({"main.tf": content}) as root:
        with time_limit(120):
            result = scan_terraform([root])
        assert "over the limit" in result.errors[0].message


def test_terraform_symlinks_out_of_the_tree_and_loops() -> None:
    with tree(
        {
            "passwd": "root:x:0:0:root:/root:/bin/bash\n",
            "ok.tf": 'resource "aws_iam_role" "outside" {\n  name = "outside"\n}\n',
        }
    ) as outside:
        with tree(
            {
                "main.tf": 'module "loop" {\n  source = "./a/b"\n}\n'
                'module "self" {\n  source = "./"\n}\n'
                'module "link" {\n  source = "./self-link"\n}\n'
                'resource "aws_iam_role_policy" "p" {\n  role = "r"\n'
                '  policy = file("${path.module}/a/loop.json")\n}\n'
            }
        ) as root:
            os.symlink("b", root / "a")
            os.symlink("a", root / "b")
            os.symlink(".", root / "self-link")
            os.symlink("loop.tf", root / "loop.tf")
            os.symlink(outside / "passwd", root / "passwd.tf")
            os.symlink(outside, root / "outside")
            os.symlink("/dev/zero", root / "zero.tf")
            result = check_source(scan(root))
            assert any("passwd.tf" in (error.file or "") for error in result.errors)
            assert not any("root:x" in error.message for error in result.errors)


def test_terraform_module_cycles_and_fan_out() -> None:
    fan_out = {
        f"m{i}/main.tf": f'module "a" {{\n  source = "../m{i + 1}"\n}}\n'
        f'module "b" {{\n  source = "../m{i + 1}"\n}}\n'
        f'resource "aws_iam_role" "r" {{\n  name = "r{i}"\n}}\n'
        for i in range(40)
    }
    fan_out["m40/main.tf"] = 'module "back" {\n  source = "../m0"\n}\n'
    cycle = {
        "x/main.tf": 'module "y" {\n  source = "../y"\n}\n',
        "y/main.tf": 'module "x" {\n  source = "../x"\n}\nresource "aws_iam_role" "r" {\n  name = "y"\n}\n',
    }
    with tree({**fan_out, **cycle}) as root:
        check_source(scan(root, "m0", "x"))


def test_terraform_special_files_in_functions() -> None:
    """file() of a device, a FIFO or a directory neither hangs nor reads without end."""
    with tree(
        {
            "main.tf": "".join(
                f'resource "aws_iam_role_policy" "p{i}" {{\n  role = "r"\n  policy = file("{path}")\n}}\n'
                for i, path in enumerate(
                    ["/dev/zero", "/dev/urandom", "fifo", ".", "/nonexistent", "/proc/self/mem"]
                )
            )
        }
    ) as root:
        os.mkfifo(root / "fifo")
        result = check_source(scan(root))
        assert len(result.errors) >= 5


def test_terraform_nul_in_paths() -> None:
    """Found by the thorough run: a NUL in a module source made resolving it raise."""
    main = (
        'module "m" {\n  source = "./mod\x00ule"\n}\n'
        'resource "aws_iam_role_policy" "p" {\n  role = "r"\n  policy = file("a\\u0000b")\n}\n'
    )
    with tree({"main.tf": main, "mod/main.tf": ""}) as root:
        result = check_source(scan(root))
        assert len(result.errors) == 2


def test_terraform_templatefile_calling_itself() -> None:
    template = '{"Statement": [{"Effect": "Allow", "Action": "${templatefile("t.tpl", {})}"}]}'
    main = 'resource "aws_iam_role_policy" "p" {\n  role = "r"\n  policy = templatefile("t.tpl", {})\n}\n'
    with tree({"main.tf": main, "t.tpl": template}) as root:
        check_source(scan(root))


def test_terraform_file_names_that_are_not_utf8() -> None:
    """A file name's undecodable bytes reach every report, and every report can be written."""
    with tree({}) as root:
        directory = os.fsencode(root / "caf\xe9")
        os.mkdir(directory + b"\xff")
        with open(directory + b"\xff/r\xe9le.tf", "wb") as file:
            file.write(
                b'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    policy = "{"\n  }\n}\n'
            )
        run = check_source(scan(root))
        assert run.errors and "\udcff" in (run.errors[0].file or "")
        sarif = json.loads(render_sarif(run))
        uris = [
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
            if "locations" in n
        ]
        assert any("%FF/r%E9le.tf" in uri for uri in uris)
        assert json.loads(render_json(run))["errors"][0]["file"] == run.errors[0].file


# ---------------------------------------------------------------------------
# 2b. The CloudFormation source
# ---------------------------------------------------------------------------

CFN_TYPES = [
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy",
    "AWS::IAM::UserToGroupAddition",
    "AWS::Serverless::Function",
    "AWS::Serverless::StateMachine",
    "AWS::S3::Bucket",
]
yaml_keys = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.floats(allow_nan=False))
intrinsics = st.one_of(
    st.builds(lambda v: {"Ref": v}, st.one_of(st.sampled_from(["R0", "R1", "AWS::StackName"]), json_values)),
    st.builds(
        lambda v: {"Fn::GetAtt": v},
        st.one_of(st.sampled_from(["R0.PolicyArn", ["R1", "PolicyArn"]]), json_values),
    ),
    st.builds(
        lambda v: {"Fn::Sub": v},
        st.one_of(st.sampled_from(["${AWS::StackName}-x", "${!x}", "${"]), json_values),
    ),
    st.builds(
        lambda v: {"Fn::Join": v}, st.one_of(st.just(["-", ["a", {"Ref": "AWS::StackName"}]]), json_values)
    ),
    st.builds(lambda v: {"Fn::If": v}, json_values),
    st.dictionaries(yaml_keys, json_values, min_size=1, max_size=1),
)
cfn_values = st.recursive(
    st.one_of(json_scalars, intrinsics),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(["PolicyDocument", "Statement", "PolicyName", "Roles", "Users"]), yaml_keys
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=15,
)
cfn_documents = st.one_of(documents, documents.map(json.dumps), cfn_values, intrinsics)
cfn_properties = st.fixed_dictionaries(
    {},
    optional={
        "RoleName": cfn_values,
        "UserName": cfn_values,
        "GroupName": cfn_values,
        "ManagedPolicyName": cfn_values,
        "Path": cfn_values,
        "RolePath": cfn_values,
        "PolicyDocument": cfn_documents,
        "Policies": st.one_of(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries({"PolicyDocument": cfn_documents}),
                    cfn_values,
                    st.sampled_from(["AmazonS3ReadOnlyAccess", "arn:aws:iam::aws:policy/x"]),
                    st.just({"S3ReadPolicy": {"BucketName": "b"}}),
                    st.just({"NoSuchTemplate": {}}),
                ),
                max_size=3,
            ),
            cfn_documents,
            cfn_values,
        ),
        "ManagedPolicyArns": st.one_of(
            st.lists(st.one_of(intrinsics, st.text(max_size=10)), max_size=3), cfn_values
        ),
        "Roles": cfn_values,
        "Users": cfn_values,
        "Groups": cfn_values,
        "Role": cfn_values,
    },
)
cfn_resources = st.dictionaries(
    st.one_of(st.sampled_from(["R0", "R1", "R0Role", "Fn"]), yaml_keys),
    st.one_of(
        st.fixed_dictionaries(
            {"Type": st.sampled_from(CFN_TYPES) | json_values},
            optional={
                "Properties": cfn_properties | json_values,
                "Metadata": st.one_of(
                    json_values,
                    st.fixed_dictionaries(
                        {
                            "iam-lastused": st.fixed_dictionaries(
                                {"ignore": json_values | st.lists(st.text(max_size=5))},
                                optional={"reason": json_values},
                            )
                        }
                    ),
                ),
            },
        ),
        json_values,
    ),
    max_size=4,
)
cfn_templates = st.one_of(
    st.fixed_dictionaries(
        {"AWSTemplateFormatVersion": st.just("2010-09-09"), "Resources": cfn_resources | json_values},
        optional={"Transform": st.one_of(st.just("AWS::Serverless-2016-10-31"), cfn_values)},
    ),
    cfn_values,
)


def cfn(source: str, name: str = "template.yaml", stack: str | None = None) -> SourceResult:
    with time_limit(30):
        return scan_template(Path(name), stack, text=source)


@PROFILE
@given(template=cfn_templates, as_yaml=st.booleans(), stack=st.one_of(st.none(), st.text(max_size=8)))
@example(
    template={
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {"Policies": [{1: "x"}], "ManagedPolicyArns": [{1: "x"}]},
            }
        },
    },
    as_yaml=True,
    stack=None,
)
@_bounded(60)
def test_cloudformation_reads_any_template_structure(template: Any, as_yaml: bool, stack: str | None) -> None:
    if as_yaml:
        source = yaml.safe_dump(template, allow_unicode=True)
    else:
        source = json.dumps(template, default=str)
    check_source(cfn(source, "template.yaml" if as_yaml else "template.json", stack))


@PROFILE
@given(document=documents, in_yaml=st.booleans())
@_bounded(60)
def test_cloudformation_reads_any_policy_document(document: Any, in_yaml: bool) -> None:
    properties = {"PolicyDocument": document}
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "r",
                    "Policies": [properties],
                    "ManagedPolicyArns": [{"Ref": "Managed"}],
                },
            },
            "Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": properties},
            "AsText": {
                "Type": "AWS::IAM::RolePolicy",
                "Properties": {"RoleName": "r", "PolicyDocument": json.dumps(document)},
            },
            "Function": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [document]}},
        },
    }
    source = yaml.safe_dump(template) if in_yaml else json.dumps(template)
    check_source(cfn(source, "t.yaml" if in_yaml else "t.json"))


YAML_ALPHABET = string.ascii_letters[:6] + "AWS:-!&*[]{}|>'\"#%@`\n\t ,?0." + "\x00\u202e"


@PROFILE
@given(
    source=st.one_of(
        st.text(alphabet=YAML_ALPHABET, max_size=200),
        st.text(max_size=100),
        st.binary(max_size=200).map(lambda data: data.decode("latin-1")),
        st.just("AWSTemplateFormatVersion: x\nResources:\n").flatmap(
            lambda head: st.text(alphabet=YAML_ALPHABET, max_size=200).map(head.__add__)
        ),
    ),
    name=st.sampled_from(["t.yaml", "t.json", "t.template"]),
)
@_bounded(30)
def test_cloudformation_reads_any_text(source: str, name: str) -> None:
    check_source(cfn(source, name))


@PROFILE
@given(data=st.data())
@_bounded(60)
def test_cloudformation_reads_truncated_and_mangled_example(data: st.DataObject) -> None:
    original = (EXAMPLES / "cloudformation" / "template.yaml").read_text()
    cut = data.draw(st.integers(0, len(original)), label="cut")
    insert = data.draw(st.text(alphabet=YAML_ALPHABET, max_size=10), label="insert")
    check_source(cfn(original[:cut] + insert + original[cut + len(insert) :]))


@pytest.mark.parametrize(
    "source",
    [
        "AWSTemplateFormatVersion: '2010-09-09'\n",
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R:\n    Type: AWS::IAM::Role\n"
        "    Properties:\n      Policies:\n        - {1: x}\n      ManagedPolicyArns:\n        - {2: y}\n",
    ],
    ids=["no-resources", "integer-keys"],
)
def test_cloudformation_found_by_truncation(source: str) -> None:
    check_source(cfn(source))


def test_cloudformation_example_cut_at_every_nth_byte() -> None:
    original = (EXAMPLES / "cloudformation" / "template.yaml").read_bytes()
    for cut in range(0, len(original), len(original) // 80):
        with tree({"template.yaml": original[:cut]}) as root:
            check_source(cfn_file(root / "template.yaml"))


def cfn_file(path: Path) -> SourceResult:
    with time_limit(30):
        return scan_template(path)


def _laughs(levels: int, width: int) -> str:
    lines = ["  l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines)


@pytest.mark.parametrize(
    "content",
    [
        # billion laughs: aliases in Metadata, and used where the source reads
        "AWSTemplateFormatVersion: '2010-09-09'\nMetadata:\n" + _laughs(9, 10) + "\nResources:\n  R:\n"
        "    Type: AWS::IAM::Role\n    Properties:\n      RoleName: *l8\n      Policies:\n"
        "        - PolicyDocument:\n            Statement:\n              - Effect: Allow\n"
        "                Action: *l8\n",
        "AWSTemplateFormatVersion: '2010-09-09'\nMetadata:\n" + _laughs(5, 30) + "\nResources:\n  R:\n"
        "    Type: AWS::IAM::Role\n    Properties:\n      Policies: *l4\n      ManagedPolicyArns: *l4\n",
        # recursive alias
        "AWSTemplateFormatVersion: '2010-09-09'\nResources: &r\n  R:\n    Type: AWS::IAM::Role\n"
        "    Properties:\n      Policies: *r\n",
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R:\n    Type: AWS::IAM::Role\n"
        "    Properties:\n      Policies: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R:\n    Type: AWS::IAM::Role\n"
        "    Properties:\n      Policies:\n" + "".join("  " * (i + 4) + "- \n" for i in range(DEEP)),
        '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"R": {"Type": "AWS::IAM::Role", '
        '"Properties": {"Policies": ' + "[" * 50_000 + "]" * 50_000 + "}}}}",
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R:\n    Type: AWS::IAM::Role\n"
        "    Properties:\n      RoleName: r\n      Policies:\n        - PolicyDocument: '"
        + "[" * 50_000
        + "]" * 50_000
        + "'\n",
    ],
    ids=[
        "laughs",
        "laughs-wide",
        "recursive-alias",
        "deep-flow",
        "deep-block",
        "deep-json",
        "deep-policy-text",
    ],
)
def test_cloudformation_bombs_and_deep_nesting(content: str) -> None:
    check_source(cfn(content))


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe" + "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n".encode("utf-16-le"),
        b"\xef\xbb\xbfAWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n",
        b"AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R:\n    Type: AWS::IAM::Role\n"
        b"    Properties:\n      RoleName: caf\xe9\n",
        b"AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R\x00:\n    Type: AWS::IAM::Role\n",
    ],
    ids=["utf-16", "utf-8-bom", "latin-1", "nul"],
)
def test_cloudformation_encodings(content: bytes) -> None:
    with tree({"template.yaml": content}) as root:
        check_source(cfn_file(root / "template.yaml"))


def test_cloudformation_ten_megabyte_template() -> None:
    role = (
        "  R{0}:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: role{0}\n      Policies:\n"
        "        - PolicyDocument:\n            Statement:\n              - Effect: Allow\n"
        "                Action: [s3:GetObject, sqs:SendMessage]\n                Resource: '*'\n"
    )
    body = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n" + "".join(
        role.format(i) for i in range(40_000)
    )
    assert len(body) > 10_000_000
    with tree({"template.yaml": body}) as root:
        result = check_source(cfn_file(root / "template.yaml"))
    assert result.errors and "1 MB" in result.errors[0].message


# ---------------------------------------------------------------------------
# 2c. The plan source
# ---------------------------------------------------------------------------

EXAMPLE_PLAN = json.loads((EXAMPLES / "plan" / "plan.json").read_text())


def read(plan: Any) -> SourceResult | None:
    """The plan read, or None where it is refused with a PlanError (a clear error)."""
    with time_limit(30):
        try:
            result = read_plan(plan, "plan.json")
        except PlanError as exc:
            assert str(exc) and "\n" not in str(exc)
            return None
    check_source(result)
    return result


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


PLAN_PATHS = [path for path in _paths(EXAMPLE_PLAN) if path]


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(document)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


plan_leaves = st.one_of(
    json_values,
    st.sampled_from(
        [
            ["create", "delete"],
            ["bogus"],
            [1],
            "aws_iam_role",
            {"references": [1, None, "aws_iam_role.x"]},
            True,
        ]
    ),
)


@PROFILE
@given(changes=st.lists(st.tuples(st.sampled_from(PLAN_PATHS), plan_leaves), min_size=1, max_size=4))
@example(changes=[(("prior_state",), [5])])
@example(changes=[(("resource_changes",), 5)])
@example(changes=[(("resource_changes", 0, "module_address"), 5)])
@example(changes=[(("resource_changes", 0, "type"), [5])])
@example(changes=[(("resource_changes", 0, "change"), "x")])
@example(changes=[(("resource_changes", 0, "change", "actions"), [5])])
@example(changes=[(("resource_changes", 0, "change", "before"), "x")])
@_bounded(60)
def test_plan_reads_any_mangled_example(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    plan = EXAMPLE_PLAN
    for path, value in changes:
        try:
            plan = _replace(plan, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the path
    read(plan)


@PROFILE
@given(
    plan=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"format_version": st.one_of(st.just("1.2"), json_values)},
            optional={
                "planned_values": json_values,
                "resource_changes": st.one_of(
                    json_values,
                    st.lists(
                        st.fixed_dictionaries(
                            {
                                "type": st.sampled_from(
                                    ["aws_iam_role", "aws_iam_policy", "aws_iam_role_policy_attachment"]
                                )
                                | json_values,
                                "mode": st.just("managed") | json_values,
                                "address": st.text(max_size=10),
                            },
                            optional={
                                "name": json_values,
                                "module_address": json_values,
                                "change": json_values
                                | st.fixed_dictionaries(
                                    {},
                                    optional={
                                        "actions": json_values,
                                        "before": json_values,
                                        "after": json_values,
                                        "after_unknown": json_values,
                                    },
                                ),
                            },
                        ),
                        max_size=4,
                    ),
                ),
                "configuration": json_values,
                "prior_state": json_values,
            },
        ),
    )
)
@_bounded(60)
def test_plan_reads_any_json(plan: Any) -> None:
    read(plan)


@PROFILE
@given(document=documents)
@_bounded(60)
def test_plan_reads_any_policy_document(document: Any) -> None:
    policy = json.dumps(document)
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_iam_policy.p",
                "mode": "managed",
                "type": "aws_iam_policy",
                "name": "p",
                "change": {
                    "actions": ["update"],
                    "before": {"name": "p", "arn": "arn:aws:iam::1:policy/p", "policy": policy},
                    "after": {"name": "p", "policy": policy},
                },
            },
            {
                "address": "aws_iam_role_policy.i",
                "mode": "managed",
                "type": "aws_iam_role_policy",
                "name": "i",
                "change": {"actions": ["create"], "before": None, "after": {"role": "r", "policy": policy}},
            },
            {
                "address": "aws_iam_role.r",
                "mode": "managed",
                "type": "aws_iam_role",
                "name": "r",
                "change": {
                    "actions": ["no-op"],
                    "before": {"name": "r", "arn": "arn:aws:iam::1:role/r"},
                    "after": {"name": "r"},
                },
            },
        ],
    }
    read(plan)


@PROFILE
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.text(alphabet='{}[]":,0123456789.eE-+tfalsenu \n', max_size=200),
        st.integers(0, 58_481).map(lambda cut: (EXAMPLES / "plan" / "plan.json").read_bytes()[:cut]),
    )
)
@_bounded(30)
def test_plan_files_of_any_bytes(content: bytes | str) -> None:
    with tree({"plan.json": content}) as root:
        try:
            plan = load_plan(root / "plan.json")
        except PlanError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
        read(plan)


def test_plan_example_cut_at_every_nth_byte() -> None:
    original = (EXAMPLES / "plan" / "plan.json").read_bytes()
    with tree({}) as root, time_limit(60):
        for cut in range(0, len(original), len(original) // 100):
            (root / "plan.json").write_bytes(original[:cut])
            with pytest.raises(PlanError):
                load_plan(root / "plan.json")


@pytest.mark.parametrize(
    "content",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"format_version": "1.2", "resource_changes": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"format_version": "1.2", "resource_changes": [], "x": "\\ud800"}',
        "\ufeff{}",
    ],
    ids=["deep", "deep-changes", "lone-surrogate", "bom"],
)
def test_plan_files_deep_and_odd(content: str) -> None:
    with tree({"plan.json": content}) as root:
        try:
            plan = load_plan(root / "plan.json")
        except PlanError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
        read(plan)


@pytest.mark.parametrize("depth", [100, 500, 900])
def test_plan_values_nested_deeply(depth: int) -> None:
    deep = json.loads("[" * depth + '"r"' + "]" * depth)
    mask = json.loads('{"policy_arn": ' + "[" * depth + "true" + "]" * depth + "}")
    attachment = {"role": deep, "policy_arn": deep}
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_iam_role_policy_attachment.a",
                "mode": "managed",
                "type": "aws_iam_role_policy_attachment",
                "name": "a",
                "change": {
                    "actions": ["create"],
                    "before": attachment,
                    "after": attachment,
                    "after_unknown": mask,
                },
            },
            {
                "address": "aws_iam_role.r",
                "mode": "managed",
                "type": "aws_iam_role",
                "name": "r",
                "change": {"actions": ["create"], "before": None, "after": {"name": "r"}},
            },
        ],
    }
    read(plan)


# ---------------------------------------------------------------------------
# The command line: a report, or exit 2 with one line on stderr
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_cli(capsys: pytest.CaptureFixture[str], root: Path, *argv: str) -> None:
    (root / "access.json").write_text("{}")
    with working_directory(root), time_limit(60):
        code = main([*argv, "--access-data", str(root / "access.json"), "--account-id", "111122223333"])
    captured = capsys.readouterr()
    assert code in (0, 1, 2)
    captured.out.encode("utf-8")
    if code == 2 and not captured.out:
        assert captured.err.count("\n") == 1 and captured.err.startswith("iam-lastused: "), captured.err


@SLOW
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.sampled_from(TERRAFORM_FILES).flatmap(
            lambda file: st.integers(0, 3000).map(
                lambda cut: (EXAMPLES / "terraform" / file).read_bytes()[:cut]
            )
        ),
    ),
    format=st.sampled_from(["text", "json", "markdown", "sarif", "github"]),
)
def test_cli_scan_of_broken_terraform(
    capsys: pytest.CaptureFixture[str], content: bytes, format: str
) -> None:
    with tree({"infra/main.tf": content}) as root:
        run_cli(capsys, root, "scan", str(root / "infra"), "--format", format)


@SLOW
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.integers(0, 58_481).map(lambda cut: (EXAMPLES / "plan" / "plan.json").read_bytes()[:cut]),
        plan_leaves.map(json.dumps),
    ),
    format=st.sampled_from(["text", "json", "plan"]),
)
def test_cli_plan_of_broken_plans(
    capsys: pytest.CaptureFixture[str], content: bytes | str, format: str
) -> None:
    plan_text = (EXAMPLES / "plan" / "plan.txt").read_text()
    with tree({"plan.json": content, "plan.txt": plan_text, "config/.keep": ""}) as root:
        run_cli(
            capsys,
            root,
            "plan",
            str(root / "plan.json"),
            "--chdir",
            str(root / "config"),
            "--plan-text",
            str(root / "plan.txt"),
            "--format",
            format,
        )


# ---------------------------------------------------------------------------
# 3. Renderers: any name comes out escaped
# ---------------------------------------------------------------------------

NASTY = [
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
    "\x9b31m",
    "\x85",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u061c",
    "\r",
    "\n::error::pwned",
    "%0A",
    "\x00",
    "\x7f",
    "\t",
    "<img src=x onerror=alert(1)>",
    "<script>",
    "</details>",
    "<!--",
    "-->",
    "**bold**",
    "@octocat",
    "@org/team",
    "#12",
    "GH-12",
    "[link](http://evil)",
    "http://evil.example",
    "www.evil.example",
    "![img](x)",
    "`tick`",
    "| pipe |",
    "&amp;",
    "&#x3c;",
    "\\",
    "_x_",
    "~~s~~",
    "\udcff",
    "\udc80",
    "::",
    ",",
    ":",
    "%",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\U0001f600",
    "\uff57\uff57\uff57.evil.example",
]
hostile_chars = st.one_of(
    st.characters(),
    st.sampled_from([ch for item in NASTY for ch in item]),
    st.integers(0xDC80, 0xDCFF).map(chr),
)
hostile = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=hostile_chars, max_size=25),
    st.lists(st.sampled_from(NASTY), max_size=4).map("".join),
)
lines = st.one_of(st.none(), st.integers(-5, 10**9))
locations = st.builds(Location, hostile, lines)
dates = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
    ),
)
suppressions = st.builds(
    Suppression, st.lists(hostile, max_size=2).map(tuple), hostile, st.one_of(st.none(), locations)
)
states = st.sampled_from(["used", "stale", "unused", "not-granted"])
service_results = st.builds(
    ServiceResult,
    hostile,
    hostile,
    states,
    dates,
    st.one_of(st.none(), hostile),
    st.lists(locations, max_size=2).map(tuple),
    st.one_of(
        st.none(),
        st.lists(
            st.builds(ActionResult, hostile, states, dates, st.one_of(st.none(), hostile)), max_size=2
        ).map(tuple),
    ),
    st.one_of(st.none(), suppressions),
)
principals = st.builds(
    Principal,
    hostile,
    st.sampled_from(["arn", "terraform", "terraform-plan", "cloudformation"]),
    st.sampled_from(["role", "user", "group", "policy"]),
    st.one_of(st.none(), locations),
    arn=st.one_of(st.none(), hostile),
    name=st.one_of(st.none(), hostile),
    change=st.one_of(st.none(), st.sampled_from(["create", "update", "delete", "replace", "no-op"]), hostile),
)
principal_results = st.builds(
    PrincipalResult,
    principals,
    st.sampled_from(["analyzed", "not-deployed", "no-data", "unresolved", "error"]),
    st.one_of(st.none(), hostile),
    st.lists(service_results, max_size=3).map(tuple),
    st.one_of(st.none(), st.lists(hostile, max_size=3).map(tuple)),
    st.lists(hostile, max_size=2).map(tuple),
    st.lists(hostile, max_size=2).map(tuple),
    st.lists(
        st.builds(
            StaticFinding,
            st.sampled_from(["wildcard-action", "service-wildcard", "many-services"]),
            hostile,
            st.one_of(st.none(), locations),
        ),
        max_size=2,
    ).map(tuple),
)
runs = st.builds(
    RunResult,
    st.integers(0, 10_000),
    st.just(NOW),
    st.lists(principal_results, max_size=4).map(tuple),
    st.lists(st.builds(InputError, hostile, st.one_of(st.none(), hostile), lines), max_size=3).map(tuple),
    st.lists(hostile, max_size=3).map(tuple),
)


def test_renderers_escape_the_change_and_write_lone_surrogates() -> None:
    principal = Principal(
        "aws_iam_role.\udcff",
        "terraform-plan",
        "role",
        Location("\udcff.tf", 1),
        arn="arn:aws:iam::1:role/\ud800",
        change="\x1b[31mcreate",
    )
    run = RunResult(
        90, NOW, (PrincipalResult(principal, "not-deployed"),), (InputError("\udc80", "\udcff.tf"),)
    )
    check_renderers(run)
    assert "(\\x1b[31mcreate)" in render_text(run)
    assert json.loads(render_json(run))["principals"][0]["address"] == "aws_iam_role.\udcff"


@PROFILE
@given(run=runs)
@_bounded(30)
def test_every_renderer_escapes_any_name(run: RunResult) -> None:
    check_renderers(run)


@PROFILE
@given(run=runs, extra=st.lists(hostile, max_size=3))
@_bounded(30)
def test_plan_annotations_are_escaped(run: RunResult, extra: list[str]) -> None:
    addresses = [result.principal.address for result in run.principals] + extra
    plan_text = "".join(f"  # {address} will be created\n  + resource {{}}\n" for address in addresses)
    plan_text += "".join(f"  # aws_iam_role.r{i} will be updated in-place\n" for i in range(len(addresses)))
    shown = shown_headers(plan_text)
    granting = ("aws_iam_role.r0", *extra)
    via = [replace(r, principal=replace(r.principal, granted_via=granting)) for r in run.principals]
    notes = place_notes(via, run.stale_days, shown)
    notes.update({f"aws_iam_role.r{i}": [address] for i, address in enumerate(extra)})
    annotated = annotate_plan(plan_text, notes)
    original = set(plan_text.split("\n"))
    added = [line for line in annotated.split("\n") if line not in original]
    for line in added:
        _printable_lines(line)
    for result in run.principals:
        for note in principal_notes(result, run.stale_days):
            _printable_lines(note)
