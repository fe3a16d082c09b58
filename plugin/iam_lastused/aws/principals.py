"""What IAM says of the principals named in code: whether each exists (and the ARN and
creation date IAM has for it), and a role's, user's or group's path."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from iam_lastused.aws.errors import translated
from iam_lastused.model import Principal

_GETTERS = {
    "role": ("get_role", "RoleName", "Role"),
    "user": ("get_user", "UserName", "User"),
    "group": ("get_group", "GroupName", "Group"),
}


def confirm_deployed(client: Any, principal: Principal) -> Principal:
    """The principal with the ARN IAM has for it, or marked not deployed.

    Any other answer from IAM (AccessDenied, say) leaves it as it was: the report engine
    then meets the same problem and reports it for this principal. One whose deployment
    a source already knows (a logical ID its stack lacks) is left alone. When botocore
    cannot ask at all (no credentials, no endpoint): AwsError (NoCredentials).
    """
    if principal.arn is None or principal.unresolved or principal.deployed is not None:
        return principal
    with translated():
        try:
            if principal.kind == "policy":
                entity = client.get_policy(PolicyArn=principal.arn)["Policy"]
            else:
                method, parameter, key = _GETTERS[principal.kind]
                entity = getattr(client, method)(**{parameter: principal.name})[key]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return replace(principal, deployed=False)
            return principal
    return replace(principal, arn=entity["Arn"], deployed=True, created=entity.get("CreateDate"))


def iam_path(client: Any, kind: str, name: str) -> str | None:
    """The path IAM has for a role, user or group, or None if IAM will not say
    (AwsError when botocore cannot ask)."""
    if kind not in _GETTERS:
        return None
    method, parameter, key = _GETTERS[kind]
    with translated():
        try:
            return str(getattr(client, method)(**{parameter: name})[key]["Path"])
        except ClientError:
            return None
