"""Turning what the user or the code names into IAM ARNs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from iam_lastused.aws.identity_center import RESERVED_PATH
from iam_lastused.aws.partitions import default_region, partition_for_region
from iam_lastused.environment import Environment
from iam_lastused.iam_names import name_problem
from iam_lastused.model import InputError, Kind, Principal

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
    return f"arn:{partition}:iam::{account}:{kind}{_slashed(path)}{name}"


def _slashed(path: str) -> str:
    """A path as IAM writes it: a slash first and last."""
    path = path if path.endswith("/") else path + "/"
    return path if path.startswith("/") else "/" + path


def account_from_arns(arns: Iterable[str]) -> Environment | None:
    """The one account all these ARNs belong to (AWS-owned policies, and the roles Identity
    Center provisions in each account a permission set is assigned to, aside), else None."""
    accounts = {
        (m["partition"], m["account"])
        for m in map(parse_arn, arns)
        if m is not None and f":role{RESERVED_PATH}" not in m.string
    }
    if len(accounts) != 1:
        return None
    partition, account_id = accounts.pop()
    return Environment(account_id, None, partition)


def partition_of_region(region: str | None) -> str:
    """The partition of `region` (else of the configured default region), by botocore's
    own endpoint data; `aws` when neither is known."""
    region = region or default_region()
    return (partition_for_region(region) or "aws") if region else "aws"


def with_valid_names(principals: Sequence[Principal]) -> list[Principal]:
    """Each principal whose name or path breaks IAM's rules made `invalid_name`, with why
    and without the value (which the code computed: a file's content, a secret...).
    One IAM confirmed (`deployed`) has the name IAM knows it by."""
    checked = []
    for principal in principals:
        name = principal.name
        if name is not None and not principal.deployed:
            problem = name_problem(principal.kind, name, _slashed(principal.path))
            if problem:
                principal = replace(principal, name=None, arn=None, path="/", unresolved=problem,
                                    invalid_name=True)
        checked.append(principal)
    return checked


def with_arns(
    principals: Sequence[Principal], environment: Environment | None, why_unknown: str
) -> list[Principal]:
    """Each principal named in code, given the ARN its name implies in `environment`'s account. A
    permission set has no IAM ARN: it resolves to its role in each account it is assigned
    to, found by its name (runner.Run.with_roles)."""
    resolved = []
    for principal in principals:
        if principal.arn or principal.unresolved or principal.deployed is False:
            resolved.append(principal)  # not deployed (its stack lacks it): no name to resolve
        elif principal.name is None:
            resolved.append(replace(principal, unresolved="the name cannot be known before apply"))
        elif principal.kind == "permission-set":
            resolved.append(principal)
        elif environment is None or environment.account_id is None:
            resolved.append(replace(principal, unresolved=why_unknown))
        else:
            arn = build_arn(
                environment.partition, environment.account_id, principal.kind, principal.path, principal.name
            )
            resolved.append(replace(principal, arn=arn))
    return resolved
