"""The access-data format: one `GetServiceLastAccessedDetails` response per ARN.

An access-data file is a JSON object mapping each ARN to exactly what
`aws iam get-service-last-accessed-details --job-id ...` prints for it, so a user
can build one with the AWS CLI alone. `fetch` writes the same, and the report
cache stores each entry in the same shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from iam_lastused import catalog
from iam_lastused.model import AccessReport, ActionAccess, ReportFailure, ServiceAccess


class AccessDataError(Exception):
    """The access-data file cannot be used at all."""


def to_json_value(response: Mapping[str, Any]) -> dict[str, Any]:
    """A boto3 response as the AWS CLI prints it: ISO-8601 dates, no ResponseMetadata."""

    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items() if k != "ResponseMetadata"}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(response)


def parse_date(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def report_from_response(arn: str, response: Mapping[str, Any]) -> AccessReport | ReportFailure:
    """Read one response; a job that did not complete, or a malformed entry, is a failure."""
    status = response.get("JobStatus")
    if status == "FAILED":
        error = response.get("Error") or {}
        detail = error.get("Message") or error.get("Code") or "no reason given"
        return ReportFailure(arn, f"the last-accessed job failed: {detail}")
    if status != "COMPLETED":
        return ReportFailure(arn, f"the last-accessed job is not complete (JobStatus {status!r})")
    try:
        services = tuple(_service(entry) for entry in response.get("ServicesLastAccessed") or [])
        completed = parse_date(response.get("JobCompletionDate"))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return ReportFailure(arn, f"malformed report: {exc}")
    return AccessReport(arn=arn, services=services, completed=completed)


def _service(entry: Mapping[str, Any]) -> ServiceAccess:
    namespace = str(entry["ServiceNamespace"]).lower()
    tracked = entry.get("TrackedActionsLastAccessed")
    actions = None
    if tracked is not None:
        actions = tuple(
            ActionAccess(
                name=str(action["ActionName"]),
                last_accessed=parse_date(action.get("LastAccessedTime")),
                region=action.get("LastAccessedRegion"),
            )
            for action in tracked
        )
    return ServiceAccess(
        namespace=namespace,
        name=str(entry.get("ServiceName") or catalog.service_name(namespace)),
        last_accessed=parse_date(entry.get("LastAuthenticated")),
        region=entry.get("LastAuthenticatedRegion"),
        actions=actions,
    )


def load_access_data(path: Path) -> dict[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AccessDataError(f"{path}: cannot read access data: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AccessDataError(f"{path}: cannot read access data: not UTF-8 text") from None
    return access_data_from_json(text, str(path))


SNAPSHOT_KEY = "iam-lastused:snapshot"
"""A store snapshot's own entry (store/snapshots.py): when, by whom, for which account."""


def access_data_from_json(text: str, where: str) -> dict[str, dict[str, Any]]:
    """The access data in `text` (from the file or store object `where`), a snapshot's
    own entry left out."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise AccessDataError(f"{where}: not valid access data: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise AccessDataError(f"{where}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if isinstance(data, dict):
        data.pop(SNAPSHOT_KEY, None)
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise AccessDataError(
            f"{where}: access data must be a JSON object mapping each ARN to its "
            "get-service-last-accessed-details output"
        )
    for arn, entry in data.items():
        if "PolicyVersion" in entry:  # an AWS managed policy's document
            continue
        if entry.get("JobStatus") not in ("COMPLETED", "FAILED", "IN_PROGRESS") or (
            entry.get("JobStatus") == "COMPLETED" and not isinstance(entry.get("ServicesLastAccessed"), list)
        ):
            raise AccessDataError(
                f"{where}: the entry for {arn} is not a get-service-last-accessed-details output "
                "(it needs JobStatus, and ServicesLastAccessed when COMPLETED)"
            )
    return data
