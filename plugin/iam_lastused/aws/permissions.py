"""The AWS operations this tool may call: all read-only. The README's minimal IAM
policy is exactly this list (a test holds them equal), and every client the tool
creates refuses any other operation before it is sent."""

from __future__ import annotations

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


class OperationNotAllowed(Exception):
    """A call outside the read-only allow-list: a bug, never sent to AWS."""


def policy_actions() -> list[str]:
    """The allow-list as IAM policy actions, e.g. `iam:GetRole`."""
    return sorted(f"{service}:{op}" for service, ops in ALLOWED_OPERATIONS.items() for op in ops)


def _refuse_unlisted(model: Any, **_kwargs: Any) -> None:
    service = model.service_model.endpoint_prefix
    if model.name not in ALLOWED_OPERATIONS.get(service, ()):
        raise OperationNotAllowed(f"{service}:{model.name} is not in iam-lastused's read-only allow-list")


def guarded(client: Any) -> Any:
    """The client, made to refuse any operation outside the allow-list."""
    client.meta.events.register("before-call", _refuse_unlisted)
    return client
