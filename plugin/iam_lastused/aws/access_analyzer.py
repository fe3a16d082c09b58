"""IAM Access Analyzer's unused-access findings: the analyzer's configuration
(`GetAnalyzer`), the ACTIVE `UnusedPermission` and `UnusedIAMRole` findings on given
principals (`ListFindingsV2` filtered on their ARNs), and each finding's details
(`GetFindingV2`). No job is generated: the analyzer has done the work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from iam_lastused.aws import session as aws
from iam_lastused.aws.errors import failure
from iam_lastused.aws.permissions import guarded

FINDING_TYPES = ("UnusedPermission", "UnusedIAMRole")
_FILTER_VALUES = 20  # ListFindingsV2 takes at most 20 values in one criterion


class AnalyzerError(Exception):
    """The analyzer cannot be read: no finding can be."""


@dataclass(frozen=True)
class Analyzer:
    arn: str
    organization: bool
    """Its zone of trust: the organisation, else its own account."""
    window_days: int
    """`unusedAccessAge`: activity older than this is unused."""
    excluded_accounts: frozenset[str] = frozenset()
    excluded_tags: tuple[dict[str, str], ...] = ()
    """Each entry excludes principals carrying all of its tags."""

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


@dataclass(frozen=True)
class UnusedService:
    namespace: str
    last_accessed: datetime | None
    actions: tuple[tuple[str, datetime | None], ...] = ()


@dataclass
class Findings:
    """For each principal ARN with findings: its unused services, and whether the whole
    role is unused (then with the role's own last use, if any)."""

    services: dict[str, list[UnusedService]] = field(default_factory=dict)
    unused_roles: dict[str, datetime | None] = field(default_factory=dict)


def analyzer_client(session: Any, analyzer_arn: str) -> Any:
    region = analyzer_arn.split(":")[3] if analyzer_arn.count(":") >= 5 else None
    return guarded(
        session.client("accessanalyzer", region_name=region or None, config=aws.BOTOCORE_CONFIG),
        "access-analyzer",
    )


def read_analyzer(client: Any, analyzer_arn: str) -> Analyzer:
    name = analyzer_arn.rpartition("/")[2]
    try:
        found = client.get_analyzer(analyzerName=name)["analyzer"]
    except (ClientError, BotoCoreError) as exc:
        how = failure(exc, "access-analyzer")
        raise AnalyzerError(f"cannot read the analyzer {analyzer_arn}{how}") from None
    if found.get("type") not in ("ACCOUNT_UNUSED_ACCESS", "ORGANIZATION_UNUSED_ACCESS"):
        raise AnalyzerError(f"{analyzer_arn} is not an unused-access analyzer (type {found.get('type')})")
    if found.get("status") != "ACTIVE":
        raise AnalyzerError(f"the analyzer {analyzer_arn} is {found.get('status')}, not ACTIVE")
    unused = (found.get("configuration") or {}).get("unusedAccess") or {}
    exclusions = (unused.get("analysisRule") or {}).get("exclusions") or []
    return Analyzer(
        arn=found["arn"],
        organization=found["type"] == "ORGANIZATION_UNUSED_ACCESS",
        window_days=int(unused.get("unusedAccessAge", 90)),
        excluded_accounts=frozenset(a for rule in exclusions for a in rule.get("accountIds") or ()),
        excluded_tags=tuple(tags for rule in exclusions for tags in rule.get("resourceTags") or ()),
    )


def read_findings(client: Any, analyzer: Analyzer, arns: Iterable[str]) -> Findings:
    """The ACTIVE unused-access findings on `arns`."""
    wanted = list(dict.fromkeys(arns))
    found = Findings()
    try:
        for start in range(0, len(wanted), _FILTER_VALUES):
            criteria = {
                "resource": {"eq": wanted[start:start + _FILTER_VALUES]},
                "status": {"eq": ["ACTIVE"]},
                "findingType": {"eq": list(FINDING_TYPES)},
            }
            paginator = client.get_paginator("list_findings_v2")
            pages = paginator.paginate(analyzerArn=analyzer.arn, filter=criteria)
            for summary in (s for page in pages for s in page["findings"]):
                _add(found, summary["resource"], _details(client, analyzer.arn, summary["id"]))
    except (ClientError, BotoCoreError) as exc:
        raise AnalyzerError(f"cannot read the analyzer's findings{failure(exc, 'access-analyzer')}") from None
    return found


def _details(client: Any, analyzer_arn: str, finding_id: str) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    for page in client.get_paginator("get_finding_v2").paginate(analyzerArn=analyzer_arn, id=finding_id):
        details += page.get("findingDetails") or []
    return details


def _add(found: Findings, arn: str, details: list[dict[str, Any]]) -> None:
    for detail in details:
        if "unusedIamRoleDetails" in detail:
            found.unused_roles[arn] = detail["unusedIamRoleDetails"].get("lastAccessed")
        elif "unusedPermissionDetails" in detail:
            unused = detail["unusedPermissionDetails"]
            actions = tuple((a["action"], a.get("lastAccessed")) for a in unused.get("actions") or ())
            found.services.setdefault(arn, []).append(
                UnusedService(str(unused["serviceNamespace"]).lower(), unused.get("lastAccessed"), actions)
            )


def principal_tags(iam: Any, kind: str, name: str) -> dict[str, str] | None:
    """A role's or user's tags (`GetRole`, `GetUser`), or None where IAM will not say."""
    try:
        if kind == "role":
            entity = iam.get_role(RoleName=name)["Role"]
        else:
            entity = iam.get_user(UserName=name)["User"]
    except (ClientError, BotoCoreError):
        return None
    return {tag["Key"]: tag["Value"] for tag in entity.get("Tags") or ()}
