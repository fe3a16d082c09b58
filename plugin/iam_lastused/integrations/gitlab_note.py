"""Post the Markdown report as one merge-request note, found again by its marker.

A note is ours when its body starts with `MARKER`, the hidden first line of every
Markdown report, AND the token's own user wrote it (the id `GET /user` answers): anyone
can write a note that starts with the marker, and no one else's note is ever edited or
deleted. When the user cannot be learned, nothing is edited or deleted. Modes:

- `update` (default): edit our newest note, or create one when there is none,
- `new`: always create a note,
- `delete-and-new`: delete all of ours, then create one (so it is the newest),
- `off`: do nothing.

In GitLab CI: `GITLAB_TOKEN=... python -I -m iam_lastused.integrations.gitlab_note REPORT.md
--mode update` reads the API (`CI_API_V4_URL`), the project (`CI_PROJECT_ID`) and the merge
request (`CI_MERGE_REQUEST_IID`, set in merge-request pipelines only) from the job's
environment. The token is a project (or personal) access token with the `api` scope and
at least the Reporter role: `CI_JOB_TOKEN` cannot write notes. Outside a merge request
it says so and posts nothing. A note that cannot be posted (no token in a fork's
pipeline, a token without the scope) is a one-line warning, not a failure: the reports
are still the job's artifacts. The token is never printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import gitlab
import requests
from gitlab.exceptions import GitlabError

from iam_lastused.integrations import review_comment
from iam_lastused.integrations.review_comment import EXIT_OK, error
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.markdown import MARKER

TOKEN_VARIABLE = "GITLAB_TOKEN"
TIMEOUT = 30.0
NO_USER = (
    "iam-lastused: cannot learn the token's user (GET /user): "
    "no earlier note is edited or deleted, a new one is posted"
)
HINT = f"{TOKEN_VARIABLE} needs the api scope and at least the Reporter role; CI_JOB_TOKEN cannot post notes"


def has_marker(note: Any) -> bool:
    body = getattr(note, "body", None)
    return isinstance(body, str) and body.startswith(MARKER)


def author_id(note: Any) -> int | None:
    author = getattr(note, "author", None)
    value = author.get("id") if isinstance(author, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_ours(note: Any, user_id: int | None) -> bool:
    """Marked, written by the token's own user, and not a system note."""
    return (
        user_id is not None
        and has_marker(note)
        and not getattr(note, "system", False)
        and author_id(note) == user_id
    )


def token_user(client: gitlab.Gitlab) -> int | None:
    """The id of the token's own user, or None when `GET /user` does not say."""
    try:
        client.auth()
    except (GitlabError, requests.RequestException):
        return None
    user_id = getattr(client.user, "id", None)
    return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None


def server_url(api_url: str) -> str:
    """python-gitlab takes the server's URL and adds `/api/v4` itself."""
    url = api_url.rstrip("/")
    return url.removesuffix("/api/v4")


class _MergeRequest:
    """review_comment.Thread: a merge request's notes."""

    def __init__(self, client: gitlab.Gitlab, notes: Any) -> None:
        self.client, self.notes = client, notes

    def comments(self) -> Sequence[Any]:
        return list(self.notes.list(iterator=True, sort="asc", order_by="created_at", per_page=100))

    def body(self, note: Any) -> str:
        body = getattr(note, "body", None)
        return body if isinstance(body, str) else ""

    def written_by_token(self, notes: Sequence[Any]) -> list[Any] | None:
        user_id = token_user(self.client)
        return None if user_id is None else [note for note in notes if is_ours(note, user_id)]

    def create(self, body: str) -> None:
        self.notes.create({"body": body})

    def edit(self, note: Any, body: str) -> None:
        note.body = body
        note.save()

    def delete(self, note: Any) -> None:
        note.delete()


def publish(body: str, api_url: str, project_id: str, merge_request_iid: int, token: str, mode: str) -> str:
    """Post `body` on the merge request by `mode` (review_comment.publish). The objects
    are lazy: the mode is checked, and "off" is done, before any request."""
    with gitlab.Gitlab(server_url(api_url), private_token=token, timeout=TIMEOUT) as client:
        project = client.projects.get(project_id, lazy=True)
        merge_request = project.mergerequests.get(merge_request_iid, lazy=True)
        return review_comment.publish(_MergeRequest(client, merge_request.notes), body, mode, NO_USER)


def _failure(exc: Exception) -> str:
    if isinstance(exc, GitlabError):
        code = f"HTTP {exc.response_code}" if exc.response_code else "GitLab"
        message = exc.error_message
        if isinstance(message, dict):
            message = message.get("message") or message.get("error") or message
        return terminal_safe(" ".join(f"{code}: {message or 'no message'}".split()))
    return terminal_safe(" ".join(f"{type(exc).__name__}: {exc}".split()))


def main(argv: Sequence[str] | None = None) -> int:
    args = review_comment.parser(
        "python -m iam_lastused.integrations.gitlab_note",
        f"Post the Markdown report as one merge-request note (token from {TOKEN_VARIABLE}).",
    ).parse_args(argv)
    if args.mode == "off":
        print("iam-lastused: merge-request note off")
        return EXIT_OK
    iid = os.environ.get("CI_MERGE_REQUEST_IID", "")
    if not iid:
        print("iam-lastused: not a merge request: no note posted")
        return EXIT_OK
    if not iid.isdigit():
        return error("CI_MERGE_REQUEST_IID is not a number")
    api_url = os.environ.get("CI_API_V4_URL", "")
    project_id = os.environ.get("CI_PROJECT_ID", "")
    if not api_url or not project_id:
        return error("CI_API_V4_URL and CI_PROJECT_ID must be set to post the note")
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        print(f"iam-lastused: warning: no merge-request note ({TOKEN_VARIABLE} is not set); {HINT}")
        return EXIT_OK
    try:
        body = args.report.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return error(f"{args.report}: cannot read the report: {exc}")
    try:
        result = publish(body, api_url, project_id, int(iid), token, args.mode)
    except (GitlabError, requests.RequestException) as exc:
        failure = _failure(exc).replace(token, "***")
        print(f"iam-lastused: warning: no merge-request note ({failure}); {HINT}")
        return EXIT_OK
    print(f"iam-lastused: merge-request note {result} on !{iid}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
