"""CloudFormation stacks: which stack each template is deployed as, the physical
names a stack gave its principals, and a stack's principals before and after a pending
change set, from what aws/stacks.py read of it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iam_lastused.data_files import DataFileError, load_data
from iam_lastused.model import Principal, SourceResult
from iam_lastused.resolve import parse_arn
from iam_lastused.sources.cloudformation.template import Context, scan_template

if TYPE_CHECKING:
    from iam_lastused.aws.stacks import DeployedStack

CHANGE_ACTIONS = {
    "Add": "create", "Modify": "update", "Remove": "delete", "Import": "create", "Dynamic": "update",
}


class StackError(Exception):
    """The mapping of templates to stacks cannot be read."""


def read_stack_mapping(
    paths: Sequence[Path], entries: Sequence[str], mapping_file: Path | None
) -> dict[Path, str]:
    """Which stack each template is deployed as: `[TEMPLATE=]NAME` entries (a bare name
    when exactly one template is given), and a YAML or JSON file mapping template paths
    to stack names."""
    stacks: dict[Path, str] = {}
    if mapping_file:
        try:
            mapping = load_data(mapping_file, "the stack mapping")
        except DataFileError as exc:
            raise StackError(str(exc)) from None
        if not isinstance(mapping, dict):
            raise StackError(f"{mapping_file}: expected a mapping of template paths to stack names")
        stacks.update({Path(str(k)): str(v) for k, v in mapping.items()})
    templates = [path for path in paths if not path.is_dir()]
    for entry in entries:
        template, equals, name = entry.rpartition("=")
        if equals:
            stacks[Path(template)] = name
        elif len(templates) == 1:
            stacks[templates[0]] = name
        else:
            raise StackError(f"--stack {name}: name the template too (--stack TEMPLATE={name})")
    return stacks


def resolve_from_stack(
    principals: Sequence[Principal],
    stack_resources: Mapping[str, str],
    path_of: Callable[[str, str], str | None],
) -> list[Principal]:
    """Principals with their physical IDs from the stack's resources (logical ID to
    physical ID): a role, user or group's is its name, a managed policy's its ARN.
    One the stack lacks is not deployed."""
    resolved = []
    for principal in principals:
        if principal.source != "cloudformation":
            resolved.append(principal)
            continue
        physical = stack_resources.get(principal.address.rpartition("/")[2])
        if physical is None:
            resolved.append(replace(principal, deployed=False, unresolved=None))
        elif principal.kind == "policy":
            match = parse_arn(physical)
            name, path = (match["name"], match["path"]) if match else (principal.name, principal.path)
            resolved.append(replace(principal, arn=physical, name=name, path=path, unresolved=None))
        else:
            path = path_of(principal.kind, physical) or principal.path
            resolved.append(replace(principal, name=physical, path=path, unresolved=None))
    return resolved



def read_change_set(deployed: DeployedStack, context: Context | None = None) -> SourceResult:
    """A stack's principals as deployed, or with a change set's template and changes
    applied: each principal's change, and its grants before. Each side is read with
    its own parameter values, under those `context` gives."""
    context = context or Context()
    stack, change_set = deployed.stack, deployed.change_set
    label = Path(f"cloudformation:{stack}" + (f"/{change_set}" if change_set else ""))
    current_values = {**deployed.parameters, **context.parameters}
    before = scan_template(
        label, stack, text=deployed.template, context=replace(context, parameters=current_values)
    )
    if deployed.pending_template is None:
        return before
    pending_values = {**deployed.pending_parameters, **context.parameters}
    found = scan_template(
        label, stack, text=deployed.pending_template, context=replace(context, parameters=pending_values)
    )
    actions = _change_actions(deployed.changes)
    previous = {p.address: p for p in before.principals}
    principals = [
        replace(
            p,
            change=actions.get(p.address.rpartition("/")[2], "no-op"),
            grants_before=previous[p.address].grants if p.address in previous else None,
        )
        for p in found.principals
    ]
    return replace(found, principals=tuple(principals))


def _change_actions(changes: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each logical ID the change set touches (its `ResourceChange`s), with its change
    in the plan's terms."""
    actions: dict[str, str] = {}
    for detail in changes:
        action = CHANGE_ACTIONS.get(detail.get("Action", ""), "update")
        if action == "update" and detail.get("Replacement") == "True":
            action = "replace"
        actions[detail.get("LogicalResourceId", "")] = action
    return actions
