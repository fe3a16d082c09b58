"""What a run reads of deployed CloudFormation stacks for the sources, through
aws/stacks.py: before the sources read, each named stack's deployed parameter values;
for `cfn`, a stack (and change set) itself; after, the physical names stacks gave the
principals: CloudFormation's through the stacks the user names (`Run.resolve_stacks`),
CDK's through the stacks their cloud assembly names, each nested stack through its
parent's (the sources' `with_stack_names` says which name is whose)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from iam_lastused.aws.errors import AwsError, NoCredentials
from iam_lastused.aws.principals import iam_path
from iam_lastused.aws.stacks import (
    DeployedStack,
    StackMissing,
    deployed_parameters,
    read_stack,
    stack_resources,
)
from iam_lastused.model import Principal
from iam_lastused.runner import Run, UsageError
from iam_lastused.sources import StackChain, stack_chains, with_stack_names


def parameters(run: Run, stacks: set[str]) -> dict[str, dict[str, str]]:
    """Each stack's deployed parameter values; a stack that cannot be read is warned of
    (its resources are then not read either) and its templates keep their defaults."""
    found = {}
    for name in sorted(stacks) if run.access_data is None else ():
        try:
            found[name] = deployed_parameters(run.client("cloudformation"), name)
        except AwsError as exc:
            run.warn(f"{exc} (cloudformation:DescribeStacks)")
    return found


def deployed(run: Run, stack: str, change_set: str | None) -> DeployedStack:
    """A stack's templates and parameter values, and its change set's (UsageError when
    they cannot be read: they are the run's one input)."""
    try:
        return read_stack(run.client("cloudformation"), stack, change_set)
    except AwsError as exc:
        raise UsageError(str(exc)) from None


def named(run: Run, principals: Sequence[Principal], stacks: set[str]) -> list[Principal]:
    """The principals with the physical names their deployed stacks gave them: those of
    the templates deployed as `stacks`, then, live, CDK's."""
    found = run.resolve_stacks(principals, stacks) if stacks else list(principals)
    if run.access_data is None and any(p.source == "cdk" for p in found):  # named in the manifest
        client, path_of = run.client("cloudformation"), functools.partial(iam_path, run.client("iam"))
        resources: dict[StackChain, dict[str, str] | None] = {}
        for chain in stack_chains(found):
            _stack_resources(chain, client, resources, run.warn)
        found = with_stack_names(found, resources, path_of)
    return found


def _stack_resources(
    chain: StackChain,
    client: Any,
    found: dict[StackChain, dict[str, str] | None],
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
