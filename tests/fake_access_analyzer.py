"""IAM Access Analyzer's unused-access analyzer, which moto does not implement: a
botocore `before-send` hook (as fake_last_accessed.py) answering `GetAnalyzer`,
`ListFindingsV2` and `GetFindingV2` in the service's REST-JSON.

Its findings are computed from the same state the last-accessed fake answers from:
the principals moto's IAM knows, and `LastAccessedFake.activity` (each service a
principal is granted, with its last use or None). A role that used nothing within the
window is an `UnusedIAMRole`; otherwise each service not used within it is an
`UnusedPermission` detail, with its last use if any, as AWS computes them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.awsrequest import AWSResponse
from fake_last_accessed import LastAccessedFake, _RawBody

ANALYZER_ARN = "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/unused-access"


@dataclass
class AccessAnalyzerFake:
    last_accessed: LastAccessedFake
    arn: str = ANALYZER_ARN
    window_days: int = 90
    organization: bool = False
    status: str = "ACTIVE"
    excluded_accounts: list[str] = field(default_factory=list)
    excluded_tags: list[dict[str, str]] = field(default_factory=list)
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def __call__(self, request, **_kwargs) -> AWSResponse | None:
        if "access-analyzer." not in request.url:
            return None
        url = urlsplit(request.url)
        path = unquote(url.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = json.loads(request.body or b"{}") if request.method == "POST" else {}
        if request.method == "GET" and path.startswith("/analyzer/"):
            self.calls.append(("GetAnalyzer", {"analyzerName": path.rpartition("/")[2]}))
            return self._get_analyzer(path.rpartition("/")[2])
        if request.method == "POST" and path == "/findingv2":
            self.calls.append(("ListFindingsV2", body))
            return self._list(body)
        if request.method == "GET" and path.startswith("/findingv2/"):
            self.calls.append(("GetFindingV2", {"id": path.rpartition("/")[2], **query}))
            return self._get(path.rpartition("/")[2], query.get("analyzerArn", ""))
        return _error(400, "ValidationException", f"the fake has no {request.method} {path}")

    # -- the analyzer and its findings ------------------------------------------
    def _get_analyzer(self, name: str) -> AWSResponse:
        if name != self.arn.rpartition("/")[2]:
            return _error(404, "ResourceNotFoundException", f"Analyzer {name} not found")
        exclusions = []
        if self.excluded_accounts:
            exclusions.append({"accountIds": self.excluded_accounts})
        if self.excluded_tags:
            exclusions.append({"resourceTags": self.excluded_tags})
        return _ok({"analyzer": {
            "arn": self.arn,
            "name": name,
            "type": "ORGANIZATION_UNUSED_ACCESS" if self.organization else "ACCOUNT_UNUSED_ACCESS",
            "createdAt": (datetime.now(timezone.utc) - timedelta(days=400)).isoformat(),
            "status": self.status,
            "configuration": {"unusedAccess": {
                "unusedAccessAge": self.window_days, "analysisRule": {"exclusions": exclusions},
            }},
        }})

    def findings(self) -> list[dict]:
        cutoff = datetime.now(timezone.utc) - timedelta(days=self.window_days)
        found = []
        for arn, activity in sorted(self.last_accessed.activity.items()):
            kind = arn.split(":")[5].split("/")[0]
            account = arn.split(":")[4]
            if kind not in ("role", "user") or not self.last_accessed._exists(arn):
                continue
            outside = not self.organization and account != self.arn.split(":")[4]
            if account in self.excluded_accounts or outside:
                continue
            used = [when for when in activity.values() if when is not None and when >= cutoff]
            base = {"resource": arn, "resourceType": f"AWS::IAM::{kind.capitalize()}",
                    "resourceOwnerAccount": account, "status": "ACTIVE",
                    "analyzedAt": datetime.now(timezone.utc).isoformat(),
                    "createdAt": cutoff.isoformat(), "updatedAt": cutoff.isoformat()}
            if kind == "role" and not used:
                last = max((when for when in activity.values() if when is not None), default=None)
                details = {} if last is None else {"lastAccessed": last.isoformat()}
                found.append({**base, "id": f"role-{len(found)}", "findingType": "UnusedIAMRole",
                              "findingDetails": [{"unusedIamRoleDetails": details}]})
                continue
            unused = [(ns, when) for ns, when in sorted(activity.items()) if when is None or when < cutoff]
            if unused:
                found.append({**base, "id": f"permission-{len(found)}", "findingType": "UnusedPermission",
                              "findingDetails": [self._permission(arn, ns, when) for ns, when in unused]})
        return found

    def _permission(self, arn: str, namespace: str, when: datetime | None) -> dict:
        detail: dict = {"serviceNamespace": namespace}
        if when is not None:
            detail["lastAccessed"] = when.isoformat()
        actions = self.last_accessed.actions.get(arn, {}).get(namespace)
        if actions:
            detail["actions"] = [
                {"action": name, **({"lastAccessed": at.isoformat()} if at else {})}
                for name, at in sorted(actions.items())
            ]
        return {"unusedPermissionDetails": detail}

    def _list(self, body: dict) -> AWSResponse:
        if body.get("analyzerArn") != self.arn:
            return _error(404, "ResourceNotFoundException", "Analyzer not found")
        criteria = body.get("filter") or {}

        def matches(finding: dict) -> bool:
            for key, criterion in criteria.items():
                if "eq" in criterion and finding.get(key) not in criterion["eq"]:
                    return False
            return True

        summaries = [
            {k: v for k, v in finding.items() if k != "findingDetails"}
            for finding in self.findings() if matches(finding)
        ]
        return _ok({"findings": summaries})

    def _get(self, finding_id: str, analyzer_arn: str) -> AWSResponse:
        finding = next((f for f in self.findings() if f["id"] == finding_id), None)
        if analyzer_arn != self.arn or finding is None:
            return _error(404, "ResourceNotFoundException", f"Finding {finding_id} not found")
        return _ok(finding)


def _ok(payload: dict) -> AWSResponse:
    return AWSResponse("https://access-analyzer.us-east-1.amazonaws.com/", 200,
                       {"content-type": "application/json"}, _RawBody(json.dumps(payload).encode()))


def _error(status: int, code: str, message: str) -> AWSResponse:
    return AWSResponse("https://access-analyzer.us-east-1.amazonaws.com/", status,
                       {"content-type": "application/json", "x-amzn-errortype": code},
                       _RawBody(json.dumps({"message": message}).encode()))
