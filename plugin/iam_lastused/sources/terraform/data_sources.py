"""The AWS data sources whose answers are known before apply: the partition, the
account and region (when the scan is told them), and AWS managed policies by name.

What the scan knows comes from the command line (`--account-id`, `--region`, the
partition of the region) or an access-data file naming one account: the scan itself
never calls AWS, so an account not given stays unknown and says so.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from iam_lastused.aws.partitions import dns_suffixes
from iam_lastused.environment import Environment
from iam_lastused.sources.terraform.hcl import Block
from iam_lastused.sources.terraform.values import Scope, evaluate, why_unknown
from iam_lastused.sources.unknown import Unknown

ACCOUNT_UNKNOWN = "the account is known only with --account-id"
REGION_UNKNOWN = "the region is known only with --region"


KNOWN_TYPES = frozenset({"aws_partition", "aws_caller_identity", "aws_region", "aws_iam_policy"})

class InTreePolicies(Protocol):
    """The aws_iam_policy resources the code defines, each found as its `.arn` (a value
    tagged with that resource), or None."""

    def by_arn(self, arn: str) -> Any: ...

    def by_name(self, name: str, path_prefix: str | None) -> Any:
        """The one policy of that name (on a path under `path_prefix`), whatever the account."""
        ...


@functools.cache
def aws_managed_policies(partition: str) -> dict[str, str]:
    """AWS managed policies by name, to their ARN (with its path): SAM's bundled table."""
    from samtranslator.internal.managed_policies import get_bundled_managed_policy_map

    return dict(get_bundled_managed_policy_map(partition) or {})


def attribute(
    data_type: str, address: str, block: Block, scope: Scope, attr: str, environment: Environment,
    policies: InTreePolicies,
) -> Any:
    """`attr` of the data source `block` (of a type in KNOWN_TYPES), or Unknown with why."""
    if data_type == "aws_partition":
        partition = environment.partition
        values = {
            "partition": partition,
            "id": partition,
            "dns_suffix": dns_suffixes().get(partition, Unknown(f"{address}.dns_suffix is not known")),
            "reverse_dns_prefix": ".".join(reversed(dns_suffixes().get(partition, "").split("."))),
        }
        return values.get(attr, Unknown(f"{address}.{attr} is not evaluated"))
    if data_type == "aws_caller_identity":
        if attr in ("account_id", "id"):
            return environment.account_id or Unknown(ACCOUNT_UNKNOWN)
        return Unknown(f"{address}.{attr} is read at apply")
    if data_type == "aws_region":
        if attr not in ("name", "id", "region"):
            return Unknown(f"{address}.{attr} is read at apply")
        for argument in ("region", "name"):
            if argument in block["attrs"]:
                return evaluate(block["attrs"][argument], scope)
        return environment.region or Unknown(REGION_UNKNOWN)
    return _policy_attribute(address, block, scope, attr, environment, policies)


def _policy_attribute(
    address: str, block: Block, scope: Scope, attr: str, environment: Environment, policies: InTreePolicies
) -> Any:
    arn = _policy_arn(address, block, scope, environment)
    if attr in ("arn", "id"):
        if not isinstance(arn, str):
            return _by_name(block, scope, policies, arn)
        found = policies.by_arn(arn)
        if found is None and "arn" not in block["attrs"] and ":iam::aws:" not in arn:
            return _by_name(block, scope, policies, Unknown(
                f"{address}: {arn.rsplit('/', 1)[-1]} is neither an AWS managed policy nor "
                "defined in the code: it is found at apply"))
        return arn if found is None else found
    if attr == "name" and "name" in block["attrs"]:
        return evaluate(block["attrs"]["name"], scope)
    if attr == "name" and isinstance(arn, str):
        return arn.rsplit("/", 1)[-1]
    if attr == "policy" and isinstance(arn, str):
        return Unknown(f"{address}.policy: the document of {arn} is read from AWS when Terraform plans")
    return Unknown(f"{address}.{attr} is read at apply")


def _by_name(block: Block, scope: Scope, policies: InTreePolicies, otherwise: Any) -> Any:
    """The policy the code defines under the name the data source looks up (its account
    need not be known), else `otherwise`."""
    attrs = block["attrs"]
    if "arn" in attrs or "name" not in attrs:
        return otherwise
    name = evaluate(attrs["name"], scope)
    prefix = evaluate(attrs["path_prefix"], scope) if "path_prefix" in attrs else None
    if not isinstance(name, str) or not isinstance(prefix, (str, type(None))):
        return otherwise
    found = policies.by_name(name, prefix)
    return otherwise if found is None else found


def _policy_arn(address: str, block: Block, scope: Scope, environment: Environment) -> Any:
    """The ARN a `data "aws_iam_policy"` finds: the one given, or an AWS managed
    policy's by its name; a customer managed one's by its name when the code defines
    it and the account is environment."""
    attrs = block["attrs"]
    if "arn" in attrs:
        return evaluate(attrs["arn"], scope)
    if "name" not in attrs:
        return Unknown(f"{address}: a policy found by path_prefix alone is read at apply")
    name = evaluate(attrs["name"], scope)
    if not isinstance(name, str):
        return Unknown(f"{address}: the name is not known: {why_unknown(name) or 'not a string'}")
    prefix = evaluate(attrs["path_prefix"], scope) if "path_prefix" in attrs else None
    path = prefix if isinstance(prefix, str) and prefix.startswith("/") and prefix.endswith("/") else "/"
    managed = aws_managed_policies(environment.partition).get(name)
    in_path = managed is not None and managed.startswith(f"arn:{environment.partition}:iam::aws:policy{path}")
    if managed is not None and (prefix is None or in_path):
        return managed
    if environment.account_id is None:
        return Unknown(f"{address}: {name} is not an AWS managed policy, and {ACCOUNT_UNKNOWN}")
    return f"arn:{environment.partition}:iam::{environment.account_id}:policy{path}{name}"
