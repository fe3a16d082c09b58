"""GitLab Code Quality: the JSON array of issues GitLab shows in the merge request's
widget and diff (`artifacts: reports: codequality:`), a subset of Code Climate's
format. One issue per finding that is not suppressed, at the first place that grants
it (the others named in its description, and a permission set's roles), with the finding's fingerprint, which
depends on neither line numbers nor wording, so an issue stays the same issue when
lines move and GitLab does not show it as fixed and new again.

Code Quality places every issue in a file of the repository: a finding with no file
(a principal given by ARN to `check`) has no place there and is left out; the other
formats have it. Paths are as the run gives them (relative to where it ran, which in
GitLab CI is the project's directory; an absolute path under it is made relative),
with forward slashes and no `./`.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from iam_lastused.analysis.rule import Level
from iam_lastused.model import Location, RunResult
from iam_lastused.render.common import roles_text
from iam_lastused.render.escape import json_safe
from iam_lastused.render.findings import Finding, findings
from iam_lastused.suggest.verdicts import Suggestions

SEVERITY: dict[Level, str] = {"error": "critical", "warning": "major", "note": "minor"}
"""GitLab's severities are info, minor, major, critical and blocker."""


def _path(location: Location) -> str:
    """Relative to the repository: an absolute path under the current directory (the
    project's, in GitLab CI) is made relative to it."""
    path = location.file
    if os.path.isabs(path):
        with contextlib.suppress(ValueError):
            path = str(PurePath(path).relative_to(Path.cwd()))
    return path.replace("\\", "/").removeprefix("./")


def _place(location: Location) -> str:
    return f"{_path(location)}:{location.line}" if location.line else _path(location)


def _issue(finding: Finding, now: datetime) -> dict[str, Any]:
    where, *also = finding.locations
    description = finding.message
    if also:
        description += f" Also granted at {', '.join(_place(location) for location in also)}."
    if finding.result.principal.roles:
        description += f" Roles: {roles_text(finding.result.principal, now)}."
    return {
        "type": "issue",
        "description": description,
        "check_name": finding.rule.name,
        "fingerprint": finding.fingerprint,
        "severity": SEVERITY[finding.rule.level],
        "categories": ["Security"],
        "location": {"path": _path(where), "lines": {"begin": max(where.line or 1, 1)}},
    }


def render_gitlab(run: RunResult, suggestions: Suggestions | None = None) -> str:
    shown = [finding for finding in findings(run) if not finding.suppressed and finding.locations]
    issues = [_issue(finding, run.now) for finding in shown]
    return json_safe(json.dumps(issues, indent=2, ensure_ascii=False)) + "\n"
