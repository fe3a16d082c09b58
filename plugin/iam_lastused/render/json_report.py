"""The JSON report, schema_version 1 (documented in the README).

Later versions may add fields; the fields here keep their names and meaning.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from iam_lastused.model import (
    AccountRole,
    ActionResult,
    Grant,
    Location,
    PrincipalResult,
    RunResult,
    ServiceResult,
    Suppression,
    UsageSource,
)
from iam_lastused.render.escape import json_safe
from iam_lastused.render.suggestions import suggestions_json
from iam_lastused.suggest.verdicts import Suggestions

SCHEMA_VERSION = 1


def _date(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _location(location: Location) -> dict[str, Any]:
    return {"file": location.file, "line": location.line}


def _suppression(suppression: Suppression | None) -> dict[str, Any] | None:
    if suppression is None:
        return None
    where = suppression.location
    return {
        "reason": suppression.reason,
        "file": where.file if where else None,
        "line": where.line if where else None,
    }


def _action(action: ActionResult) -> dict[str, Any]:
    return {
        "name": action.name,
        "state": action.state,
        "last_accessed": _date(action.last_accessed),
        "last_accessed_region": action.region,
    }


def _service(service: ServiceResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "namespace": service.namespace,
        "name": service.name,
        "state": service.state,
        "last_accessed": _date(service.last_accessed),
        "last_accessed_region": service.region,
        "granted_by": [_location(loc) for loc in service.granted_by],
        "suppressed": _suppression(service.suppressed),
        "unused_actions": list(service.unused_actions) if service.unused_actions is not None else None,
        "accounts": list(service.accounts),
    }
    if service.actions is not None:
        entry["actions"] = [_action(a) for a in service.actions]
    return entry


def role_json(role: AccountRole) -> dict[str, Any]:
    """A permission set's role in one account: its ARN and when it was created, or, with
    `arn` null, whether it is not deployed there and why it could not be read."""
    return {
        "account": role.account,
        "arn": role.arn,
        "created": _date(role.created),
        "not_deployed": role.not_deployed,
        "reason": role.why,
    }


def _boundary(boundary: Grant | None) -> dict[str, Any] | None:
    if boundary is None:
        return None
    reference = boundary.policy_reference
    return {
        **_location(boundary.location),
        "policy_arn": boundary.policy_arn,
        "policy_name": reference.name if reference else None,
        "policy_path": reference.path if reference else None,
    }


def principal_json(result: PrincipalResult) -> dict[str, Any]:
    principal = result.principal
    location = principal.location
    return {
        "address": principal.address,
        "source": principal.source,
        "file": location.file if location else None,
        "line": location.line if location else None,
        "kind": principal.kind,
        "arn": principal.arn,
        "status": result.status,
        "error": result.error,
        "services": [
            _service(s) for s in sorted((*result.services, *result.unreported), key=lambda s: s.namespace)
        ],
        "unused_services": result.namespaces_in("unused"),
        "stale_services": result.namespaces_in("stale"),
        "suppressed_services": sorted(s.namespace for s in result.suppressed()),
        "change": principal.change,
        "granted_services": list(result.granted) if result.granted is not None else None,
        "added_services": list(result.added),
        "removed_services": list(result.removed),
        "grants_complete": result.grants_complete,
        "unknown_grants": [
            {"file": where.file, "line": where.line, "reason": reason} for where, reason in result.unknown
        ],
        "static_findings": [
            {
                "rule": finding.rule,
                "message": finding.message,
                "file": finding.location.file if finding.location else None,
                "line": finding.location.line if finding.location else None,
            }
            for finding in result.static
        ],
        "accounts": list(principal.accounts) if principal.accounts is not None else None,
        "roles": [role_json(role) for role in principal.roles],
        "boundary": _boundary(principal.boundary),
    }


def usage_source_json(source: UsageSource) -> dict[str, Any]:
    """Where the usage data came from: `live` (AWS: the account and identity that read
    it), `file` (the access-data file and when it was written), `store` (a sweep's
    store), `access-analyzer` (the analyzer) or `none`."""
    identity = source.identity
    return {
        "kind": source.kind,
        "account": identity.account if identity else None,
        "identity_arn": identity.arn if identity else None,
        "file": source.file,
        "file_date": source.file_date.isoformat() if source.file_date else None,
        "store": source.store,
        "analyzer_arn": source.analyzer_arn,
    }


def render_json(run: RunResult, suggestions: Suggestions | None = None) -> str:
    """The JSON report; with `suggestions`, its `suggestions` field."""
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "stale_days": run.stale_days,
        "usage_source": usage_source_json(run.usage_source),
        "principals": [principal_json(p) for p in run.principals],
        "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in run.errors],
        "notes": list(run.notes),
    }
    if suggestions is not None:
        document["suggestions"] = suggestions_json(suggestions)
    return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
