"""JUnit XML, which every CI system reads (GitLab's test report, Jenkins, Azure
Pipelines, CircleCI): one test suite, `iam-lastused`, with one test case per principal
(name: its address, classname: its kind; a permission set's roles in its output). A
principal's findings that are not suppressed are its failures (type: the rule's name,
text: where each is granted), but for a service IAM's report does not list, which its
output names instead;
a principal with no usage data (not deployed, no report in the access data, an ARN
known only at apply) is skipped with the reason, unless the code alone has findings
on it; one whose report could not be had is an error. Each input error (a file not
read) is a test case of its own with an error.

Written with `junitparser`, which models the Ant/Jenkins structure (and keeps the
suite's counts right); it serializes through the standard library's ElementTree (or
lxml, where installed). Neither writes a character that XML 1.0 cannot hold (most C0
controls, lone surrogates from undecodable file names, U+FFFE and U+FFFF) in a form a
parser accepts, so every string is made XML-safe first: such characters are shown as
escapes (`\\x1b`), as in the terminal. The document is then made safe for CI logs
(escape.xml_document_safe): a line feed in a name or file name cannot start a line that
is a workflow command.
"""

from __future__ import annotations

import io
import re
from datetime import datetime

from junitparser import Error, Failure, JUnitXml, Skipped, SystemOut, TestCase, TestSuite
from junitparser.junitparser import FinalResult

from iam_lastused.analysis.rules import NOT_IN_REPORT
from iam_lastused.model import InputError, Location, PrincipalResult, RunResult
from iam_lastused.render.common import role_text
from iam_lastused.render.escape import terminal_safe, xml_document_safe
from iam_lastused.render.findings import Finding, findings
from iam_lastused.suggest.verdicts import Suggestions

SUITE = "iam-lastused"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NO_DATA = {
    "not-deployed": "not deployed yet: IAM has no such entity, so no usage history",
    "no-data": "no usage data",
    "unresolved": "unresolved",
    "invalid-name": "invalid name",
}


def xml_safe(text: str) -> str:
    """`text` with each character XML 1.0 cannot hold as a visible escape."""
    return _NOT_XML.sub(lambda match: _escape(match.group()), text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _place(location: Location) -> str:
    return f"{location.file}:{location.line}" if location.line else location.file


def _failure(finding: Finding) -> Failure:
    failure = Failure(xml_safe(finding.message), xml_safe(finding.rule.name))
    where = "\n".join(_place(location) for location in finding.locations)
    if where:
        failure.text = xml_safe(where)
    return failure


def _case(result: PrincipalResult, found: list[Finding], now: datetime) -> TestCase:
    principal = result.principal
    case = TestCase(xml_safe(principal.address), xml_safe(principal.kind), 0.0)
    failing = [f for f in found if not f.suppressed and not f.rule.no_data]
    outcome: list[FinalResult] = [_failure(f) for f in failing]
    reason = result.error or "no reason given"
    if result.status == "error":
        outcome.insert(0, Error(xml_safe(f"no last-accessed report: {reason}"), "no-report"))
    elif result.status in _NO_DATA and not failing:
        skipped = Skipped(xml_safe(f"{_NO_DATA[result.status]}: {reason}" if result.error else
                                   _NO_DATA[result.status]))
        outcome.append(skipped)
    if outcome:
        case.result = outcome
    lines = [f"{principal.kind} {principal.address}"]
    if principal.location:
        lines.append(f"defined at {_place(principal.location)}")
    if principal.arn:
        lines.append(f"arn {principal.arn}")
    lines += [role_text(role, now) for role in principal.roles]
    if result.status != "analyzed" and failing:
        lines.append(f"status {result.status}: {reason}")
    lines += [
        f"suppressed [{f.rule.name}] {f.message} ({f.suppressed.reason})" for f in found if f.suppressed
    ]
    lines += [f"[{f.rule.name}] {f.message}" for f in found if f.rule is NOT_IN_REPORT]
    case.system_out = xml_safe("\n".join(lines))
    return case


def _input_error(error: InputError) -> TestCase:
    where = _place(Location(error.file, error.line)) if error.file else "input"
    case = TestCase(xml_safe(where), "input-error", 0.0)
    case.result = [Error(xml_safe(error.message), "input-error")]
    return case


def render_junit(run: RunResult, suggestions: Suggestions | None = None) -> str:
    by_principal: dict[int, list[Finding]] = {}
    for finding in findings(run):
        by_principal.setdefault(id(finding.result), []).append(finding)
    cases = [_case(result, by_principal.get(id(result), []), run.now) for result in run.principals]
    cases += [_input_error(error) for error in run.errors]
    suite = TestSuite(SUITE)
    suite.add_property("usage-source", xml_safe(terminal_safe(run.usage_source.describe())))
    suite.add_testcases(cases)
    if run.notes:
        suite.append(SystemOut(xml_safe("\n".join(run.notes))))
    document = JUnitXml(SUITE)
    document.add_testsuite(suite)
    document.update_statistics()
    # junitparser counts <failure> elements; readers take the counts as test cases
    # (passed = tests - failures - errors - skipped), and a principal may fail several ways
    for counted in (suite, document):
        counted.errors = sum(case.is_error for case in cases)
        counted.failures = sum(case.is_failure and not case.is_error for case in cases)
        counted.skipped = sum(case.is_skipped for case in cases)  # never with a failure or error
    out = io.BytesIO()
    document.write(out)
    return xml_document_safe(out.getvalue().decode("utf-8")) + "\n"
