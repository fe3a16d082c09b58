"""The report formats, one module each, all behind one protocol: a run's result (and
the suggestions, where the format shows them) in, the text to print out."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Protocol

from iam_lastused.model import RunResult
from iam_lastused.render.github import render_github
from iam_lastused.render.gitlab import render_gitlab
from iam_lastused.render.json_report import render_json
from iam_lastused.render.junit import render_junit
from iam_lastused.render.lint import render_lint
from iam_lastused.render.markdown import render_markdown
from iam_lastused.render.plan_text import render_plan
from iam_lastused.render.sarif import render_sarif
from iam_lastused.render.suggestions import render_patch
from iam_lastused.render.text import render_text
from iam_lastused.suggest.verdicts import Suggestions

REPORT_FORMATS = ("text", "json", "markdown", "sarif", "github", "lint", "junit", "gitlab")
"""The formats of a report alone; `plan` also needs terraform's plan text, and `patch`
shows the suggestions alone."""
SUGGESTING_FORMATS = ("text", "json", "plan")
"""The formats that show suggestions beside the report."""


class Renderer(Protocol):
    def __call__(self, run: RunResult, suggestions: Suggestions | None = None, /) -> str: ...


def _patch(run: RunResult, suggestions: Suggestions | None = None) -> str:
    """The suggestions as a patch, paths relative to the current directory."""
    return render_patch(suggestions or Suggestions(()), Path.cwd())


def renderer(format: str, *, plan_text: str | None = None, links: str | None = None) -> Renderer:
    """The renderer of `format`. `plan` annotates terraform's `plan_text`; `links` is the
    base URL of file links in Markdown. Raises ValueError for what cannot be rendered."""
    simple: dict[str, Renderer] = {
        "text": render_text,
        "json": render_json,
        "sarif": render_sarif,
        "github": render_github,
        "lint": render_lint,
        "junit": render_junit,
        "gitlab": render_gitlab,
        "patch": _patch,
    }
    if format in simple:
        return simple[format]
    if format == "markdown":
        return functools.partial(render_markdown, links=links)
    if format == "plan":
        if plan_text is None:
            raise ValueError("--format plan needs terraform's plan text: give --plan-text FILE")
        return functools.partial(render_plan, text=plan_text)
    raise ValueError(f"unknown format {format!r}: use one of {', '.join((*REPORT_FORMATS, 'plan', 'patch'))}")
