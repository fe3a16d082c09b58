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
from iam_lastused.analysis import rules
from iam_lastused.analysis.rule import Rule
from iam_lastused.model import InputError, Location, RunResult
from iam_lastused.render.common import artifact_uri
from iam_lastused.render.escape import json_safe
from iam_lastused.render.findings import Finding, findings
from iam_lastused.render.json_report import role_json, usage_source_json
from iam_lastused.suggest.verdicts import Suggestions

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/iam-lastused/"
FINGERPRINT_KEY = "iamLastUsed/v1"


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.full},
        "help": {"text": rule.help},
        "defaultConfiguration": {"level": rule.level},
        "properties": {"tags": list(rule.tags)},
    }




def _physical_location(location: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(location.file)}}
    if (location.line or 0) >= 1:
        physical["region"] = {"startLine": location.line}
    return {"physicalLocation": physical}


def _locations(locations: Sequence[Location]) -> list[dict[str, Any]]:
    return [_physical_location(location) for location in locations]


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    principal = finding.result.principal
    entry: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": index[finding.rule.id],
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
    if finding.accounts:
        entry["properties"]["accounts"] = list(finding.accounts)
    if principal.roles:
        entry["properties"]["roles"] = [role_json(role) for role in principal.roles]
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


def _run_properties(run: RunResult) -> dict[str, Any]:
    """Where the usage data came from, and each permission set's role in each of its
    accounts (findings carry them too, but a permission set may have none)."""
    properties: dict[str, Any] = {"usageSource": usage_source_json(run.usage_source)}
    permission_sets = [
        {"principal": result.principal.address, "roles": [role_json(role) for role in result.principal.roles]}
        for result in run.principals
        if result.principal.roles
    ]
    if permission_sets:
        properties["permissionSets"] = permission_sets
    return properties


def render_sarif(run: RunResult, suggestions: Suggestions | None = None) -> str:
    index = {rule.id: position for position, rule in enumerate(rules.RULES)}
    results = [_result(finding, index) for finding in findings(run)]
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
                        "rules": [_rule(rule) for rule in rules.RULES],
                    }
                },
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
                "properties": _run_properties(run),
            }
        ],
    }
    return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
