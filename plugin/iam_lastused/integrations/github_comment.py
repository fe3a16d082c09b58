"""Post the Markdown report as one pull-request comment, found again by its marker.

Which comment is ours, and the modes, are `review_comment`'s. The token's login
comes from `GET /user` (personal tokens), else from GraphQL's `viewer` (GitHub App and
`GITHUB_TOKEN` installation tokens, for which `/user` answers 403; there the viewer is
`github-actions` and comments are by `github-actions[bot]`).

In GitHub Actions: `GITHUB_TOKEN=... python -m iam_lastused.integrations.github_comment REPORT.md
--mode update` reads the repository (`GITHUB_REPOSITORY`), the pull request (from the
event at `GITHUB_EVENT_PATH`) and the API (`GITHUB_API_URL`, for GitHub Enterprise
Server) from the runner's environment. Outside a pull request it says so and posts
nothing. A comment that cannot be posted (a fork's read-only token, say) is a warning,
not a failure: the report is still in the step summary.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from github import Auth, Github, GithubException
from github.Issue import Issue
from github.IssueComment import IssueComment

from iam_lastused.integrations import review_comment
from iam_lastused.integrations.review_comment import EXIT_OK, error
from iam_lastused.render.github import escape_data
from iam_lastused.render.markdown import MARKER

DEFAULT_API_URL = "https://api.github.com"


VIEWER_QUERY = "query { viewer { login } }"
NO_LOGIN = (
    "iam-lastused: cannot learn the token's login (GET /user, GraphQL viewer): "
    "no earlier comment is edited or deleted, a new one is posted"
)


def is_ours(comment: IssueComment, authors: frozenset[str]) -> bool:
    """Marked, and written by one of `authors` (casefolded logins)."""
    user = comment.user
    marked = (comment.body or "").startswith(MARKER)
    return marked and user is not None and (user.login or "").casefold() in authors


def token_authors(client: Github) -> frozenset[str] | None:
    """The logins the token's own comments carry, casefolded (logins are
    case-insensitive), or None when neither `GET /user` nor GraphQL's viewer answers.
    A user's token writes as its `/user` login; an installation token, whose viewer is
    `app` (`github-actions` for GITHUB_TOKEN), writes as `app[bot]`."""
    try:
        login = client.get_user().login
        if isinstance(login, str) and login:
            return frozenset({login.casefold()})
    except (GithubException, OSError):
        pass  # an installation token: 403 "Resource not accessible by integration"
    try:
        _, data = client.requester.graphql_query(VIEWER_QUERY, {})
        login = data["data"]["viewer"]["login"]
    except (GithubException, OSError, KeyError, TypeError):
        return None
    if not isinstance(login, str) or not login:
        return None
    return frozenset({login.casefold(), f"{login}[bot]".casefold()})


class _PullRequest:
    """review_comment.Thread: a pull request's issue comments."""

    def __init__(self, client: Github, issue: Issue) -> None:
        self.client, self.issue = client, issue

    def comments(self) -> Sequence[IssueComment]:
        return list(self.issue.get_comments())

    def body(self, comment: IssueComment) -> str:
        return comment.body or ""

    def written_by_token(self, comments: Sequence[IssueComment]) -> list[IssueComment] | None:
        authors = token_authors(self.client)
        return None if authors is None else [comment for comment in comments if is_ours(comment, authors)]

    def create(self, body: str) -> None:
        self.issue.create_comment(body)

    def edit(self, comment: IssueComment, body: str) -> None:
        comment.edit(body)

    def delete(self, comment: IssueComment) -> None:
        comment.delete()


def publish(body: str, repository: str, pull_number: int, token: str, mode: str, api_url: str) -> str:
    """Post `body` on the pull request by `mode` (review_comment.publish). The client is
    lazy: the mode is checked, and "off" is done, before any request."""
    with Github(auth=Auth.Token(token), base_url=api_url.rstrip("/"), lazy=True) as client:
        issue = client.get_repo(repository).get_issue(pull_number)
        return review_comment.publish(_PullRequest(client, issue), body, mode, NO_LOGIN)


class EventError(Exception):
    pass


def pull_number_from_event(event_path: str | None) -> int | None:
    """The pull request's number from the workflow's event, or None outside a pull request."""
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EventError(f"cannot read the workflow event {event_path}: {exc}") from None
    if not isinstance(event, dict):
        return None
    pull = event.get("pull_request")
    issue = event.get("issue")
    if isinstance(pull, dict):
        number = pull.get("number")
    elif isinstance(issue, dict) and issue.get("pull_request"):
        number = issue.get("number")
    else:
        return None
    return number if isinstance(number, int) else None


def _failure(exc: GithubException | OSError) -> str:
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.message
        return f"HTTP {exc.status}: {message or 'no message'}"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    args = review_comment.parser(
        "python -m iam_lastused.integrations.github_comment",
        "Post the Markdown report as one pull-request comment (token from GITHUB_TOKEN).",
    ).parse_args(argv)
    if args.mode == "off":
        print("iam-lastused: pull-request comment off")
        return EXIT_OK
    try:
        number = pull_number_from_event(os.environ.get("GITHUB_EVENT_PATH"))
    except EventError as exc:
        return error(str(exc))
    if number is None:
        print("iam-lastused: not a pull request: no comment posted")
        return EXIT_OK
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    token = os.environ.get("GITHUB_TOKEN", "")
    if not repository or not token:
        return error("GITHUB_REPOSITORY and GITHUB_TOKEN must be set to post the comment")
    try:
        body = args.report.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return error(f"{args.report}: cannot read the report: {exc}")
    api_url = os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL
    try:
        result = publish(body, repository, number, token, args.mode, api_url)
    except (GithubException, OSError) as exc:
        hint = "the job needs `permissions: pull-requests: write`"
        print("::warning::" + escape_data(f"iam-lastused: no pull-request comment ({_failure(exc)}); {hint}"))
        return EXIT_OK
    print(f"iam-lastused: pull-request comment {result} on #{number}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
