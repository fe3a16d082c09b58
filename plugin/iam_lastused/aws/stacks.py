"""CloudFormation stacks as deployed: each resource's physical ID, the parameter values
a stack was deployed with, and its template before and after a pending change set."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from iam_lastused.aws.errors import AwsError, translated


class StackMissing(AwsError):
    """The stack does not exist (not deployed yet)."""


class ParametersUnreadable(AwsError):
    """A stack's (or change set's) parameter values cannot be read."""


@dataclass(frozen=True)
class DeployedStack:
    """A stack's template and parameter values as deployed and, with a change set, as
    the change set would make them, with each resource change it lists
    (`ResourceChange` of DescribeChangeSet)."""

    stack: str
    template: str
    parameters: Mapping[str, str]
    change_set: str | None = None
    pending_template: str | None = None
    pending_parameters: Mapping[str, str] = field(default_factory=dict)
    changes: tuple[Mapping[str, Any], ...] = ()


def stack_resources(client: Any, stack: str) -> dict[str, str]:
    """Logical ID to physical ID for every resource of a stack
    (`cloudformation:ListStackResources`): StackMissing when there is no such stack,
    AwsError (NoCredentials) when it cannot be read."""
    resources: dict[str, str] = {}
    with translated():
        try:
            for page in client.get_paginator("list_stack_resources").paginate(StackName=stack):
                for summary in page["StackResourceSummaries"]:
                    if summary.get("PhysicalResourceId"):
                        resources[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ValidationError" and "does not exist" in str(error.get("Message", "")):
                raise StackMissing(str(exc), "ValidationError") from exc
            raise
    return resources


def deployed_parameters(client: Any, stack: str, change_set: str | None = None) -> dict[str, str]:
    """The parameter values a stack was deployed with (`cloudformation:DescribeStacks`),
    or those a change set gives (`cloudformation:DescribeChangeSet`); AwsError when
    they cannot be read (ParametersUnreadable)."""
    try:
        with translated():
            if change_set:
                answer = client.describe_change_set(StackName=stack, ChangeSetName=change_set)
                found = answer.get("Parameters")
            else:
                found = client.describe_stacks(StackName=stack)["Stacks"][0].get("Parameters")
    except (AwsError, IndexError, KeyError) as exc:
        raise ParametersUnreadable(f"cannot read the parameters of stack {stack}: {exc}") from exc
    return {
        str(item["ParameterKey"]): str(item.get("ResolvedValue", item["ParameterValue"]))
        for item in found or []
        if "ParameterKey" in item and "ParameterValue" in item
    }


def read_stack(client: Any, stack: str, change_set: str | None = None) -> DeployedStack:
    """A stack's template and parameter values, and a change set's (AwsError when they
    cannot be read)."""
    try:
        template = _template_text(client, StackName=stack)
        parameters = deployed_parameters(client, stack)
        if not change_set:
            return DeployedStack(stack, template, parameters)
        pending = _template_text(client, StackName=stack, ChangeSetName=change_set)
        pending_parameters = deployed_parameters(client, stack, change_set)
        changes = _changes(client, stack, change_set)
    except ParametersUnreadable:
        raise
    except AwsError as exc:
        raise AwsError(f"cannot read stack {stack}: {exc}", exc.code) from exc
    return DeployedStack(stack, template, parameters, change_set, pending, pending_parameters, changes)


def _template_text(client: Any, **params: str) -> str:
    with translated():
        body = client.get_template(**params)["TemplateBody"]
    return body if isinstance(body, str) else json.dumps(body, indent=2)


def _changes(client: Any, stack: str, change_set: str) -> tuple[Mapping[str, Any], ...]:
    """Each resource change the change set lists, over all its pages."""
    with translated():
        paginator = client.get_paginator("describe_change_set")
        pages = paginator.paginate(StackName=stack, ChangeSetName=change_set)
        return tuple(change.get("ResourceChange", {}) for page in pages for change in page.get("Changes", []))
