"""The AWS operations this tool may call: all read-only but one. The README's minimal
IAM policy for a run is exactly `ALLOWED_OPERATIONS` (a test holds them equal); the
sweep's role, a store's reader, an Access Analyzer reader and a run's permission-set
lookups (Identity Center) each have their own list.
Every client the tool creates refuses any operation outside these lists before it is
sent, and `s3:PutObject`, the one write (a sweep's snapshot), unless the client was
made for a store and the key lies under that store's prefix."""

from __future__ import annotations

import functools
from typing import Any

ALLOWED_OPERATIONS: dict[str, tuple[str, ...]] = {
    "iam": (
        "GenerateServiceLastAccessedDetails",
        "GetServiceLastAccessedDetails",
        "GetRole",
        "GetUser",
        "GetGroup",
        "GetPolicy",
        "GetPolicyVersion",
    ),
    "sts": ("GetCallerIdentity", "AssumeRole"),
    "cloudformation": ("ListStackResources", "GetTemplate", "DescribeChangeSet", "DescribeStacks"),
}
SWEEP_OPERATIONS: dict[str, tuple[str, ...]] = {
    "iam": (
        "GenerateServiceLastAccessedDetails",
        "GetServiceLastAccessedDetails",
        "ListRoles",
        "ListUsers",
        "ListGroups",
        "ListPolicies",
        "GetPolicyVersion",
    ),
    "sts": ("GetCallerIdentity", "AssumeRole"),
    "organizations": ("ListAccounts", "ListAccountsForParent", "ListOrganizationalUnitsForParent"),
    "s3": ("PutObject",),
}
STORE_READER_OPERATIONS: dict[str, tuple[str, ...]] = {"s3": ("GetObject", "ListObjectsV2")}
ACCESS_ANALYZER_OPERATIONS: dict[str, tuple[str, ...]] = {
    "access-analyzer": ("GetAnalyzer", "ListFindingsV2", "GetFindingV2"),
}
IDENTITY_CENTER_OPERATIONS: dict[str, tuple[str, ...]] = {
    "sso": (
        "ListInstances",
        "ListPermissionSets",
        "DescribePermissionSet",
        "ListAccountsForProvisionedPermissionSet",
    ),
    "iam": ("ListRoles",),
}
"""A run's lookups for permission sets: sso-admin's (whose actions are `sso:`) in the account
that administers Identity Center, `iam:ListRoles` in each account a permission set is in."""
ROLES = {
    "run": ALLOWED_OPERATIONS,
    "sweep": SWEEP_OPERATIONS,
    "store-reader": STORE_READER_OPERATIONS,
    "access-analyzer": ACCESS_ANALYZER_OPERATIONS,
    "identity-center": IDENTITY_CENTER_OPERATIONS,
}


class OperationNotAllowed(Exception):
    """A call outside the allow-list: a bug, never sent to AWS."""


def policy_actions(role: str = "run") -> list[str]:
    """A role's allow-list as IAM policy actions, e.g. `iam:GetRole`. ListObjectsV2 is
    authorised by `s3:ListBucket`."""
    actions = {"ListObjectsV2": "ListBucket"}
    return sorted(
        f"{service}:{actions.get(op, op)}" for service, ops in ROLES[role].items() for op in ops
    )


def _refuse_unlisted(role: str, model: Any, **_kwargs: Any) -> None:
    service = model.service_model.endpoint_prefix
    if model.name not in ROLES[role].get(service, ()):
        raise OperationNotAllowed(f"{service}:{model.name} is not in iam-lastused's {role} allow-list")


def _refuse_put_outside(bucket: str | None, prefix: str, params: dict[str, Any], **_kwargs: Any) -> None:
    key = str(params.get("Key", ""))
    inside = params.get("Bucket") == bucket and key.startswith(prefix) and ".." not in key.split("/")
    if bucket is None or not inside:
        where = f"s3://{params.get('Bucket')}/{key}"
        raise OperationNotAllowed(f"s3:PutObject to {where} is outside the store: refused")


def guarded(client: Any, role: str = "run", store: tuple[str, str] | None = None) -> Any:
    """The client, made to refuse any operation outside `role`'s allow-list;
    `s3:PutObject` only under `store` (bucket, key prefix), and never without one."""
    client.meta.events.register("before-call", functools.partial(_refuse_unlisted, role))
    bucket, prefix = store if store else (None, "")
    client.meta.events.register(
        "before-parameter-build.s3.PutObject", functools.partial(_refuse_put_outside, bucket, prefix)
    )
    return client
