"""The library's `fetch`: reports for principals, and documents for AWS managed policies,
from AWS, saved in the access-data file's shape for offline runs (`--access-data`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from iam_lastused.aws import managed_policies, reports
from iam_lastused.model import ReportFailure
from iam_lastused.runner import Run, UsageError
from iam_lastused.sources import read_arns


@dataclass(frozen=True)
class FetchResult:
    """What `fetch` saved, as the access-data file holds it, out of `wanted` reports and
    policies; `complete` when every one was saved and every ARN could be read."""

    saved: dict[str, Any]
    wanted: int
    complete: bool
    warnings: tuple[str, ...] = ()
    interrupted: bool = False


def fetch_access_data(run: Run, arns: Sequence[str]) -> FetchResult:
    """The reports of the principals `arns` name, and the documents of the AWS managed
    policies (`arn:aws:iam::aws:policy/...`) they name; an ARN that names neither is
    warned of."""
    policies = [arn for arn in arns if managed_policies.is_aws_managed(arn)]
    found = read_arns([arn for arn in arns if arn not in policies])
    for error in found.errors:
        run.warn(error.message)
    wanted = [p.arn for p in found.principals if p.arn]
    try:
        raw = run.fetch(wanted) if wanted else {}
    except reports.CredentialsMissing:
        raise UsageError("no AWS credentials found: set a profile or the standard AWS variables") from None
    saved: dict[str, Any] = reports.only_reports(raw)
    for arn, outcome in raw.items():
        if isinstance(outcome, ReportFailure):
            run.warn(f"{arn}: {outcome.message}")
    if policies and not run.interrupted:
        documents = managed_policies.fetch_documents(run.client("iam"), policies, not run.options.no_cache)
        for note in documents.notes:
            run.warn(note)
        saved.update(managed_policies.as_access_data(documents.found))
    total = len(wanted) + len(policies)
    complete = len(saved) == total and not found.errors
    return FetchResult(saved, total, complete, tuple(run.warnings), run.interrupted)
