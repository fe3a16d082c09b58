"""The statements of managed policies that the code attaches but does not define: AWS
managed policies, or customer managed ones from elsewhere.

Without them a principal's grants are incomplete, and analysis cannot tell which grant a
service in its report comes from, so every service the report lists stays a finding.
With them, each such attachment is judged like any other grant. The documents come from
the access-data file (an entry holding what `aws iam get-policy-version` prints) or from
IAM (`GetPolicy` for the default version, then `GetPolicyVersion`), cached like reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from iam_lastused.aws.reports import ACCESS_DENIED_CODES, CACHE_TTL_SECONDS
from iam_lastused.model import Grant, Principal
from iam_lastused.policy import from_document
from iam_lastused.store import cache


@dataclass(frozen=True)
class Documents:
    """The documents found, by policy ARN, and what to tell the user about the rest."""

    found: dict[str, Any]
    notes: tuple[str, ...] = ()


def attached_policy_arns(principals: Iterable[Principal]) -> list[str]:
    """The ARNs of the policies whose statements the principals' grants lack."""
    arns = [
        grant.policy_arn
        for principal in principals
        for grant in (*(principal.grants or ()), *(principal.grants_before or ()))
        if grant.policy_arn and not grant.known and not grant.statements
    ]
    return list(dict.fromkeys(arns))


_AWS_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/")
# What IAM accepts in a policy ARN: a path and a name of letters, digits and +=,.@_-
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/(?:[\w+=,.@-]+/)*[\w+=,.@-]+$", re.ASCII)


def is_aws_managed(arn: str) -> bool:
    return bool(_AWS_MANAGED.match(arn))


def as_access_data(documents: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Documents as access-data entries, in the shape `aws iam get-policy-version` prints."""
    return {arn: {"PolicyVersion": {"Document": document}} for arn, document in documents.items()}


def documents_from_access_data(data: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The policy documents an access-data file holds: the entries in the shape of
    `aws iam get-policy-version` output (a `PolicyVersion` with a `Document`)."""
    found = {}
    for arn, entry in data.items():
        version = entry.get("PolicyVersion")
        if isinstance(version, Mapping) and "Document" in version:
            document = _decoded(version["Document"])
            if document is not None:
                found[arn] = document
    return found


def _decoded(document: Any) -> Any:
    """A document as IAM's API returns it (URL-encoded JSON text) or as the CLI prints it."""
    if not isinstance(document, str):
        return document
    try:
        return json.loads(unquote(document))
    except ValueError:
        return None


def fetch_documents(client: Any, arns: Sequence[str], use_cache: bool = True) -> Documents:
    """Each policy's default version from IAM. A policy that cannot be read keeps its
    statements unknown, with a note; a refusal to read an AWS managed policy is said once
    and ends the reads, since it is the caller's permissions, not the policy. Only AWS
    managed policies, public to every caller, are cached: a customer managed policy is
    read by who may read it, each run."""
    found: dict[str, Any] = {}
    notes: list[str] = []
    for arn in arns:
        if not _POLICY_ARN.match(arn):
            notes.append(f"{arn}: not a managed policy ARN: its services stay findings")
            continue
        cacheable = use_cache and is_aws_managed(arn)
        cached = cache.load("policies", arn, CACHE_TTL_SECONDS) if cacheable else None
        if cached is not None:
            found[arn] = cached
            continue
        try:
            version = client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = client.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            if code in ACCESS_DENIED_CODES and is_aws_managed(arn):
                # Anyone may read an AWS managed policy: a refusal is the caller's permissions.
                notes.append(
                    f"AccessDenied: the caller lacks the permission iam:{exc.operation_name}: the "
                    "services of AWS managed policies stay findings"
                )
                break
            notes.append(f"{arn}: cannot read the policy ({code}): what it grants is not known")
            continue
        except BotoCoreError as exc:
            notes.append(f"cannot read managed policies from IAM: {exc}")
            break
        document = _decoded(document.get("Document"))
        if document is None:
            continue
        found[arn] = document
        if cacheable:
            cache.store("policies", arn, document)
    return Documents(found, tuple(notes))


def with_documents(principals: Sequence[Principal], documents: Mapping[str, Any]) -> tuple[Principal, ...]:
    """The principals, each attachment of a policy in `documents` given its statements,
    located at the attachment (the only place the code names them)."""
    if not documents:
        return tuple(principals)

    def filled(grants: tuple[Grant, ...] | None) -> tuple[Grant, ...] | None:
        if grants is None:
            return None
        return tuple(_filled(grant, documents) for grant in grants)

    return tuple(
        replace(p, grants=filled(p.grants), grants_before=filled(p.grants_before)) for p in principals
    )


def _filled(grant: Grant, documents: Mapping[str, Any]) -> Grant:
    if grant.known or grant.statements or grant.policy_arn is None or grant.policy_arn not in documents:
        return grant
    document = from_document(documents[grant.policy_arn], lambda index, statement: grant.location)
    return replace(grant, statements=tuple(s for _, s in document.statements), known=document.known)
