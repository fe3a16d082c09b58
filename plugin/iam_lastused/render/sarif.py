"""SARIF 2.1.0 for GitHub code scanning: one result per unused or stale service per
principal, located at the statements that grant it, and one per principal that
could not be analysed, and one per broad grant seen in the code alone.

Written as plain dictionaries: the SARIF object-model packages (`sarif-om`,
unmaintained since 2019) would add classes and a serializer but no checking.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from iam_lastused import __version__
from iam_lastused.model import InputError, Location, PrincipalResult, RunResult, ServiceResult
from iam_lastused.render.common import artifact_uri, days_ago
from iam_lastused.render.escape import json_safe
from iam_lastused.suggest.verdicts import Suggestions

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/iam-lastused/"
FINGERPRINT_KEY = "iamLastUsed/v1"

UNUSED = "IAMLU001"
STALE = "IAMLU002"
UNRESOLVED = "IAMLU003"
STATIC = {"wildcard-action": "IAMLU004", "service-wildcard": "IAMLU005", "many-services": "IAMLU006"}


_LEAST_PRIVILEGE = ("security", "iam", "least-privilege")
_BROAD_HELP = (
    "Grant only the actions and resources the principal needs; the unused-service "
    "findings, where usage data is available, say which."
)


def _rule(
    rule_id: str, name: str, short: str, full: str, help_text: str, level: str, tags: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": list(tags)},
    }


_RULES: tuple[dict[str, Any], ...] = (
    _rule(
        UNUSED, "unused-service", "Granted AWS service never used",
        "The principal is granted an AWS service that IAM's service last accessed data "
        "shows it has not used in the tracking period (up to 365 days).",
        "Remove the service's actions from the statements that grant them, unless the "
        "principal needs them for something rare (such as disaster recovery). IAM's data covers "
        "identity policies only and new activity appears within about four hours.",
        "warning", _LEAST_PRIVILEGE,
    ),
    _rule(
        STALE, "stale-service", "Granted AWS service not used recently",
        "The principal is granted an AWS service it last used longer ago than the stale "
        "threshold (--stale-days).",
        "Check whether the principal still needs the service; if not, remove its actions "
        "from the statements that grant them.",
        "note", _LEAST_PRIVILEGE,
    ),
    _rule(
        UNRESOLVED, "unresolved-principal", "Principal could not be analysed",
        "No last-accessed report could be had for the principal: its ARN is only known "
        "at apply time (such as with name_prefix), or the report could not be fetched.",
        "Give the principal a name known before apply, or check the AWS permissions "
        "the tool needs (see the README); the message says which applies.",
        "note", ("iam",),
    ),
    _rule(
        STATIC["wildcard-action"], "wildcard-action", "Statement grants every action",
        'An Allow statement grants Action "*" (or all but a NotAction list) on Resource "*".',
        _BROAD_HELP, "warning", _LEAST_PRIVILEGE,
    ),
    _rule(
        STATIC["service-wildcard"], "service-wildcard", "Statement grants every action of a service",
        'An Allow statement grants "service:*" on Resource "*".',
        _BROAD_HELP, "warning", _LEAST_PRIVILEGE,
    ),
    _rule(
        STATIC["many-services"], "many-services", "Principal granted many services",
        "The principal is granted more services than --max-services.",
        _BROAD_HELP, "warning", _LEAST_PRIVILEGE,
    ),
)
_RULE_INDEX = {rule["id"]: index for index, rule in enumerate(_RULES)}
_LEVELS = {rule["id"]: rule["defaultConfiguration"]["level"] for rule in _RULES}


def fingerprint(rule_id: str, address: str, namespace: str = "") -> str:
    """Stable across runs: depends on neither line numbers nor wording."""
    key = f"{rule_id}\0{address}\0{namespace}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()


def _physical_location(location: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(location.file)}}
    if (location.line or 0) >= 1:
        physical["region"] = {"startLine": location.line}
    return {"physicalLocation": physical}


def _locations(locations: Sequence[Location]) -> list[dict[str, Any]]:
    return [_physical_location(location) for location in locations]


def _result(
    rule_id: str,
    text: str,
    result: PrincipalResult,
    where: tuple[Location, ...],
    namespace: str = "",
    key: str = "",
) -> dict[str, Any]:
    """One result; its fingerprint is the rule, the principal and `namespace` (or `key`)."""
    principal = result.principal
    entry: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": _RULE_INDEX[rule_id],
        "level": _LEVELS[rule_id],
        "message": {"text": text},
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(rule_id, principal.address, namespace or key)},
        "properties": {"principal": principal.address, "kind": principal.kind},
    }
    if where:
        entry["locations"] = _locations(where)
    if principal.arn:
        entry["properties"]["arn"] = principal.arn
    if namespace:
        entry["properties"]["service"] = namespace
    return entry


def _service_result(
    result: PrincipalResult, service: ServiceResult, stale_days: int, now: datetime
) -> dict[str, Any]:
    principal = result.principal
    who = f"{principal.kind} {principal.address}"
    what = f"{service.namespace} ({service.name})"
    if service.state == "unused":
        rule_id = UNUSED
        text = f"{who} is granted {what} but has not used it in IAM's tracking period."
    else:
        rule_id = STALE
        when = service.last_accessed.date().isoformat() if service.last_accessed else "unknown"
        text = (
            f"{who} is granted {what} but last used it {days_ago(service.last_accessed, now)} "
            f"({when}); stale after {stale_days} days."
        )
    fallback = (principal.location,) if principal.location else ()
    entry = _result(rule_id, text, result, service.granted_by or fallback, service.namespace)
    if service.suppressed:
        kind = "inSource" if service.suppressed.location else "external"
        entry["suppressions"] = [{"kind": kind, "justification": service.suppressed.reason}]
    return entry


def _unresolved_result(result: PrincipalResult) -> dict[str, Any]:
    principal = result.principal
    reason = result.error or "unknown reason"
    if result.status == "unresolved":
        text = f"{principal.kind} {principal.address} cannot be analysed before apply: {reason}."
    else:
        text = f"No last-accessed report for {principal.kind} {principal.address}: {reason}."
    return _result(UNRESOLVED, text, result, (principal.location,) if principal.location else ())


def _static_results(result: PrincipalResult) -> list[dict[str, Any]]:
    principal = result.principal
    return [
        _result(
            STATIC[finding.rule],
            f"{principal.kind} {principal.address}: {finding.message}.",
            result,
            (finding.location,) if finding.location else (),
            key=finding.message,
        )
        for finding in result.static
    ]


def _principal_results(result: PrincipalResult, run: RunResult) -> list[dict[str, Any]]:
    static = _static_results(result)
    if result.status in ("unresolved", "error"):
        return [_unresolved_result(result), *static]
    if result.status != "analyzed":
        return static
    return [
        _service_result(result, service, run.stale_days, run.now)
        for service in result.services
        if service.state in ("unused", "stale")
    ] + static


def _notification(level: str, text: str, location: Location | None = None) -> dict[str, Any]:
    notification: dict[str, Any] = {"level": level, "message": {"text": text}}
    if location is not None:
        notification["locations"] = _locations([location])
    return notification


def _input_error(error: InputError) -> dict[str, Any]:
    location = Location(error.file, error.line) if error.file else None
    return _notification("error", error.message, location)


def render_sarif(run: RunResult, suggestions: Suggestions | None = None) -> str:
    results = [entry for result in run.principals for entry in _principal_results(result, run)]
    notifications = [_input_error(error) for error in run.errors]
    notifications += [_notification("note", note) for note in run.notes]
    document = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "iam-lastused",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": list(_RULES),
                    }
                },
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }
    return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
