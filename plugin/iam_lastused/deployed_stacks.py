"""CDK principals named through their deployed stacks: each principal's stack (and
nested stacks) read with `cloudformation:ListStackResources` (aws/stacks.py), then the
CloudFormation source's `resolve_from_stack` under its stack address (sources/cdk.py
says why)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from iam_lastused.aws.errors import AwsError, NoCredentials
from iam_lastused.aws.stacks import StackMissing, stack_resources
from iam_lastused.model import Principal
from iam_lastused.sources.cloudformation.stacks import resolve_from_stack


def resolve_through_stacks(
    principals: Sequence[Principal],
    client: Any,
    path_of: Callable[[str, str], str | None],
    warn: Callable[[str], None],
) -> list[Principal]:
    """CDK principals with the physical names their deployed stacks gave them
    (`cloudformation:ListStackResources`, a nested stack's through its parent's). A
    stack that does not exist yet means its principals are not deployed; a stack that
    cannot be read leaves its principals as the code names them, with a warning."""
    chains = sorted({
        tuple(p.stack_address.split("/")[:-1]) for p in principals if p.stack_address and p.source == "cdk"
    })
    resources: dict[tuple[str, ...], dict[str, str] | None] = {}
    for chain in chains:
        _stack_resources(chain, client, resources, warn)
    resolved = []
    for principal in principals:
        if not principal.stack_address or principal.source != "cdk":
            resolved.append(principal)
            continue
        chain = tuple(principal.stack_address.split("/")[:-1])
        found = resources[chain]
        if found is None:  # not read: left as it was
            resolved.append(principal)
            continue
        view = replace(principal, address=principal.stack_address, source="cloudformation")
        [done] = resolve_from_stack([view], found, path_of)
        resolved.append(replace(done, address=principal.address, source=principal.source))
    return resolved


def _stack_resources(
    chain: tuple[str, ...],
    client: Any,
    found: dict[tuple[str, ...], dict[str, str] | None],
    warn: Callable[[str], None],
) -> dict[str, str] | None:
    """A stack's resources by logical ID: `{}` when the stack is not deployed, None
    when it cannot be read."""
    if chain in found:
        return found[chain]
    if len(chain) == 1:
        name = chain[0]
    else:
        parent = _stack_resources(chain[:-1], client, found, warn)
        if parent is None:
            found[chain] = None
            return None
        if chain[-1] not in parent:
            found[chain] = {}
            return found[chain]
        name = parent[chain[-1]]
    try:
        found[chain] = stack_resources(client, name)
    except NoCredentials:
        warn("no AWS credentials: CDK principals with generated names are not resolved through their stacks")
        found[chain] = None
    except StackMissing:
        found[chain] = {}
    except AwsError as exc:
        warn(f"cannot read stack {chain[0]} (cloudformation:ListStackResources): {exc}")
        found[chain] = None
    return found[chain]
