"""Turning what the user or the code names into IAM ARNs."""

from __future__ import annotations

import re

from .model import InputError, Kind, Principal

_IAM_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):"
    r"(?P<kind>role|user|group|policy)(?P<path>/(?:[^/]+/)*)(?P<name>[^/]+)$"
)


def parse_arn(arn: str) -> re.Match[str] | None:
    return _IAM_ARN.match(arn.strip())


def principal_from_arn(arn: str) -> Principal | InputError:
    """A principal for an ARN given on the command line."""
    match = parse_arn(arn)
    if not match:
        return InputError(
            f"not an IAM role, user, group or managed policy ARN: {arn!r} "
            "(expected arn:aws:iam::123456789012:role/NAME)"
        )
    kind: Kind = match["kind"]  # type: ignore[assignment]
    return Principal(
        address=arn,
        source="arn",
        kind=kind,
        arn=arn,
        name=match["name"],
        path=match["path"],
    )


def build_arn(partition: str, account: str, kind: Kind, path: str, name: str) -> str:
    path = path if path.endswith("/") else path + "/"
    path = path if path.startswith("/") else "/" + path
    return f"arn:{partition}:iam::{account}:{kind}{path}{name}"
