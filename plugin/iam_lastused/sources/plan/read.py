"""IAM principals and what they are granted, read from a Terraform plan.

The plan (`terraform show -json`) gives what the HCL source has to guess: the
ARN of every principal that exists, the change Terraform will make to it, and
the policy documents as Terraform computed them, before and after the change.
What is known only after apply stays unknown (a grant with `known=False`).

A role's `inline_policy` and `managed_policy_arns` are computed attributes: the
provider fills them with every policy the role has, including the ones other
resources in the plan manage. They count only where the configuration sets them,
as in the HCL source; otherwise a policy a change removes would still be seen
on the role's unchanged copy of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from iam_lastused.files import Root
from iam_lastused.model import (
    Grant,
    InputError,
    Kind,
    Location,
    PolicyReference,
    Principal,
    SourceResult,
    Statement,
)
from iam_lastused.sources.iam_resources import PRINCIPAL_TYPES, TERRAFORM, collect
from iam_lastused.sources.plan.load import check_plan
from iam_lastused.sources.policy_references import reference_grant
from iam_lastused.sources.terraform.reader import terraform_files
from iam_lastused.sources.terraform.scan import scan_terraform
from iam_lastused.sources.terraform.values import policy_document
from iam_lastused.sources.unknown import Unknown

_CHANGES = {
    ("no-op",): "no-op",
    ("create",): "create",
    ("read",): "read",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
}
_AFTER_APPLY = Unknown("known only after apply")
_INSTANCE_KEY = re.compile(r'\[(?:"(?:[^"\\]|\\.)*"|[0-9]+)\]')
_REFERENCE = re.compile(r"(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_PERMISSION_SET_ARN = re.compile(r"arn:aws[a-z-]*:sso:::permissionSet/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}")
_BOUNDARY = "a permissions boundary"


# ---------------------------------------------------------------------------
# The plan's resources
# ---------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    """An object of the plan, or an empty one where the plan has something else."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """An array of the plan, or an empty one where the plan has something else."""
    return value if isinstance(value, list) else []


def _with_unknowns(value: Any, mask: Any) -> Any:
    """`value` with each part `after_unknown` marks replaced by an Unknown."""
    if mask is True:
        return _AFTER_APPLY
    if isinstance(mask, dict) and mask:
        merged = dict(value) if isinstance(value, dict) else {}
        for key, inner in mask.items():
            merged[key] = _with_unknowns(merged.get(key), inner)
        return merged
    if isinstance(mask, list) and mask:
        items = list(value) if isinstance(value, list) else []
        items += [None] * (len(mask) - len(items))
        return [_with_unknowns(item, mask[i] if i < len(mask) else None) for i, item in enumerate(items)]
    return value


def _after(value: Any, mask: Any) -> Any:
    try:
        return _with_unknowns(value, mask)
    except RecursionError:  # an after_unknown nested deeper than the stack: not a plan Terraform wrote
        return _AFTER_APPLY


@dataclass
class _Resource:
    address: str
    base: str  # the address without the resource's own instance key
    module: str
    type: str
    index: Any
    change: str
    before: dict[str, Any] | None
    after: Any
    config: dict[str, Any]

    def references(self, attr: str) -> list[str]:
        references = _dict(self.config.get(attr)).get("references")
        return [reference for reference in _list(references) if isinstance(reference, str)]


def _change(actions: Any) -> str:
    items = _list(actions)
    actions = tuple(items) if all(isinstance(action, str) for action in items) else ()
    return _CHANGES.get(actions, "-".join(actions))


def _module_config(configuration: Any, module: str) -> dict[str, Any]:
    config = _dict(_dict(configuration).get("root_module"))
    for name in re.findall(r"module\.([\w-]+)", _INSTANCE_KEY.sub("", module)):
        config = _dict(_dict(_dict(config.get("module_calls")).get(name)).get("module"))
    return config


def _resources(plan: dict[str, Any]) -> Iterator[_Resource]:
    configs: dict[str, dict[str, Any]] = {}
    for change in _list(plan.get("resource_changes")):
        if not isinstance(change, dict) or change.get("mode") != "managed" or change.get("deposed"):
            continue
        resource_type, module = change.get("type"), change.get("module_address") or ""
        if not isinstance(resource_type, str) or not isinstance(module, str):
            continue
        if resource_type not in TERRAFORM or not isinstance(change.get("address"), str):
            continue
        if module not in configs:
            resources = map(_dict, _list(_module_config(plan.get("configuration"), module).get("resources")))
            configs[module] = {
                item["address"]: _dict(item.get("expressions"))
                for item in resources
                if isinstance(item.get("address"), str)
            }
        body = _dict(change.get("change"))
        before, after = body.get("before"), body.get("after")
        name = change.get("name", "")
        yield _Resource(
            address=change["address"],
            base=f"{module}.{resource_type}.{name}" if module else f"{resource_type}.{name}",
            module=module,
            type=resource_type,
            index=change.get("index"),
            change=_change(body.get("actions")),
            before=None if before is None else _dict(before),
            after=None if after is None else _after(after, body.get("after_unknown")),
            config=configs[module].get(f"{resource_type}.{name}", {}),
        )


def _prior_arns(plan: dict[str, Any]) -> dict[str, str]:
    arns: dict[str, str] = {}
    modules = [_dict(_dict(_dict(plan.get("prior_state")).get("values")).get("root_module"))]
    while modules:
        module = modules.pop()
        modules.extend(_dict(child) for child in _list(module.get("child_modules")))
        for resource in map(_dict, _list(module.get("resources"))):
            arn, address = _dict(resource.get("values")).get("arn"), resource.get("address")
            if resource.get("mode") == "managed" and isinstance(arn, str) and isinstance(address, str):
                arns[address] = arn
    return arns


# ---------------------------------------------------------------------------
# Grants, one side (before or after the change) at a time
# ---------------------------------------------------------------------------


@dataclass
class _Found:
    """What reading a plan reported, shared by its two sides."""

    file: str
    errors: dict[InputError, None] = field(default_factory=dict)
    notes: dict[str, None] = field(default_factory=dict)
    documents: dict[tuple[str, str], Grant] = field(default_factory=dict)


@dataclass
class _Side:
    """What each principal is granted on one side of the change."""

    found: _Found
    resources: list[_Resource]
    values: Callable[[_Resource], Any]
    principals: dict[str, _Resource] = field(default_factory=dict)
    by_base: dict[str, list[_Resource]] = field(default_factory=dict)
    by_name: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    by_arn: dict[str, str] = field(default_factory=dict)
    grants: dict[str, list[Grant]] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    boundaries: dict[str, Grant] = field(default_factory=dict)
    assigned: dict[str, list[str]] = field(default_factory=dict)
    assigned_unknown: dict[str, str] = field(default_factory=dict)
    unlinked_accounts: set[str] = field(default_factory=set)
    """The permission sets (by address without instance key) that an assignment names
    by an instance the plan does not say (`team[each.value.set].arn`, not yet applied);
    `*` where one names a permission set the plan does not say at all (through a module's
    variable)."""
    unlinked_grants: set[str] = field(default_factory=set)
    """The same, for the resources that grant to them or set their boundary."""

    def __post_init__(self) -> None:
        for resource in self.resources:
            values = self.values(resource)
            if TERRAFORM[resource.type].kind is None or not isinstance(values, dict):
                continue
            self.principals[resource.address] = resource
            self.by_base.setdefault(resource.base, []).append(resource)
            if isinstance(values.get("name"), str):
                self.by_name.setdefault((resource.type, values["name"]), []).append(resource.address)
            if isinstance(values.get("arn"), str):
                self.by_arn[values["arn"]] = resource.address

    @property
    def location(self) -> Location:
        return Location(self.found.file, None)

    def collect(self) -> None:
        collected = collect((r for r in self.resources if isinstance(self.values(r), dict)), self)
        self.grants, self.sources = collected.grants, collected.via
        self.boundaries, self.assigned = collected.boundaries, collected.accounts
        self.assigned_unknown = collected.accounts_unknown

    # iam_resources.Reader: the plan's resources, on this side of the change

    def key(self, resource: _Resource) -> str:
        return resource.address

    def type(self, resource: _Resource) -> str:
        return resource.type

    def sets(self, resource: _Resource, attr: str) -> bool:
        return attr in resource.config

    def inline_policies(self, role: _Resource, attr: str) -> list[Grant]:
        inline = self.values(role).get(attr)
        grants = []
        for item in inline if isinstance(inline, list) else [inline] if isinstance(inline, Unknown) else []:
            policy = item.get("policy") if isinstance(item, dict) else item
            if policy != "":  # `inline_policy {}` (no inline policies at all) plans as name and policy ""
                grants.append(self.document_of(role, policy))
        return grants

    def policy_references(
        self, resource: _Resource, attr: str, within: dict[str, Any] | None = None
    ) -> list[Grant]:
        """The customer managed policies `attr` (of the resource, or of a block `within` it) names."""
        grants = []
        for item in _list((self.values(resource) if within is None else within).get(attr)):
            name, path = _dict(item).get("name"), _dict(item).get("path") or "/"
            if isinstance(name, str) and isinstance(path, str):
                grants.append(reference_grant(self.location, name, path))
            else:
                unknown = "the customer managed policy is known only after apply"
                grants.append(Grant(self.location, known=False, unknown=unknown))
        return grants

    def boundary(self, resource: _Resource, attr: str) -> Grant:
        """The permissions boundary: a role's or user's policy ARN, or a permission set's
        `permissions_boundary` block. It limits, it grants nothing."""
        value = self.values(resource).get(attr)
        if isinstance(value, str) and value:
            return Grant(self.location, policy_arn=value, known=False, unknown=_BOUNDARY)
        block = _dict(next(iter(_list(value)), None))
        arn = block.get("managed_policy_arn")
        if isinstance(arn, str) and arn:
            return Grant(self.location, policy_arn=arn, known=False, unknown=_BOUNDARY)
        references = self.policy_references(resource, "customer_managed_policy_reference", block)
        if references and references[0].policy_reference:
            return replace(references[0], unknown=_BOUNDARY)
        return Grant(self.location, known=False, unknown=f"{_BOUNDARY}, known only after apply")

    def accounts(self, resource: _Resource, attr: str) -> tuple[list[str], str | None]:
        value = self.values(resource).get(attr)
        if isinstance(value, str) and _ACCOUNT_ID.fullmatch(value):
            return [value], None
        return [], "known only after apply" if isinstance(value, Unknown) else "not an account ID"

    def unreadable(self, resource: _Resource) -> None:
        error = InputError(f"{resource.address}: nested too deeply to read", self.found.file)
        self.found.errors[error] = None

    def document(self, resource: _Resource, attr: str, own: bool) -> Grant:
        return self.document_of(resource, self.values(resource).get(attr))

    def document_of(self, resource: _Resource, policy: Any) -> Grant:
        """The grant of a policy document, as Terraform rendered it."""
        if not isinstance(policy, str):
            reason = "the policy is known only after apply" if isinstance(policy, Unknown) else "no policy"
            return Grant(self.location, known=False, unknown=reason)
        key = (resource.address, policy)  # most documents are the same before and after
        if key not in self.found.documents:

            def report(error: InputError) -> None:
                self.found.errors[replace(error, message=f"{resource.address}: {error.message}")] = None

            document = policy_document(policy, self.location, report)
            statements = tuple(statement for _, statement in document.statements)
            self.found.documents[key] = Grant(
                self.location, statements, known=document.known, unknown=document.reason
            )
        return self.found.documents[key]

    def attached(self, resource: _Resource, attr: str) -> tuple[list[Grant], list[str]]:
        """The grants of a policy_arn argument, and the in-plan policies they come from."""
        return self._attached(resource, attr, self.values(resource).get(attr))

    def _attached(self, resource: _Resource, attr: str, value: Any) -> tuple[list[Grant], list[str]]:
        if value is None:
            return [], []
        if isinstance(value, list):
            found = [self._attached(resource, attr, item) for item in value]
            return [g for grants, _ in found for g in grants], [s for _, sources in found for s in sources]
        if isinstance(value, str):
            policy = self.by_arn.get(value)
            if policy is None:
                return [Grant(self.location, policy_arn=value, known=False)], []
            return self.grants_of_policy(policy), [policy]
        policies = self.referenced(resource, attr, "aws_iam_policy")
        if not policies:
            self.found.notes[f"{resource.address}: the attached policy is known only after apply"] = None
            unknown = "the attached policy is known only after apply"
            return [Grant(self.location, known=False, unknown=unknown)], []
        return [grant for policy in policies for grant in self.grants_of_policy(policy)], policies

    def grants_of_policy(self, address: str) -> list[Grant]:
        return [self.document(self.principals[address], "policy", own=True)]

    def targets(self, resource: _Resource, attr: str, kind: Kind) -> list[str]:
        """The principals of `kind` that a role/user/group argument names."""
        return self._targets(resource, attr, self.values(resource).get(attr), kind)

    def _targets(self, resource: _Resource, attr: str, value: Any, kind: Kind) -> list[str]:
        if value is None:
            return []
        if isinstance(value, list):
            found = [self._targets(resource, attr, item, kind) for item in value]
            return list(dict.fromkeys(target for targets in found for target in targets))
        if isinstance(value, str) and kind == "permission-set":  # named by its ARN
            if value in self.by_arn:
                return [self.by_arn[value]]
            shown = value if _PERMISSION_SET_ARN.fullmatch(value) else "named by an ARN"
            self.found.notes[f"{resource.address}: permission set {shown} is not in the plan"] = None
            return []
        if isinstance(value, str):
            matches = self.by_name.get((PRINCIPAL_TYPES[kind], value), [])
            if not matches:
                self.found.notes[f"{resource.address}: {kind} {value} is not in the plan"] = None
            return matches
        matches = self.referenced(resource, attr, PRINCIPAL_TYPES[kind])
        if not matches and kind == "permission-set":
            self.unlinked(resource, attr)
            return []  # taken from the HCL, where it is known (read_plan)
        if not matches:
            self.found.notes[f"{resource.address}: the {kind} is known only after apply"] = None
        return matches

    def unlinked(self, resource: _Resource, attr: str) -> None:
        """Records the permission sets `attr` names that the plan cannot say: those of
        several instances it names by an instance key the plan does not give, or any."""
        unlinked = self.unlinked_accounts if TERRAFORM[resource.type].assignments else self.unlinked_grants
        bases = []
        for reference in resource.references(attr):
            match = _REFERENCE.match(reference)
            if match and not match.group(1) and match.group(2) == PRINCIPAL_TYPES["permission-set"]:
                bases.append(f"{resource.module}.{match.group(2)}.{match.group(3)}".lstrip("."))
        unlinked.update(bases or ["*"])

    def referenced(self, resource: _Resource, attr: str, resource_type: str) -> list[str]:
        """The principals of `resource_type` that the configuration of `attr` refers to
        in the same module instance: the one with the same instance key, else the only one."""
        found: list[str] = []
        for reference in resource.references(attr):
            match = _REFERENCE.match(reference)
            if not match or match.group(1) or match.group(2) != resource_type:
                continue
            base = f"{resource.module}.{resource_type}.{match.group(3)}".lstrip(".")
            candidates = self.by_base.get(base, [])
            same_key = [p for p in candidates if p.index == resource.index]
            chosen = same_key if len(candidates) > 1 else candidates
            found.extend(p.address for p in chosen if p.address not in found)
        return found


@dataclass
class _Plan:
    found: _Found
    resources: list[_Resource]
    before: _Side
    after: _Side


def _read(plan: dict[str, Any], file: str) -> _Plan:
    check_plan(plan)
    found = _Found(file)
    resources = list(_resources(plan))
    before = _Side(found, resources, lambda resource: resource.before)
    after = _Side(found, resources, lambda resource: resource.after)
    before.collect()
    after.collect()
    return _Plan(found, resources, before, after)


# ---------------------------------------------------------------------------
# Source locations, from the HCL the plan was made from
# ---------------------------------------------------------------------------


def _statement_key(statement: Statement) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    return statement.effect, tuple(sorted(statement.actions)), tuple(sorted(statement.not_actions))


class _Locator:
    """Where the HCL principal of the same address defines each of its grants."""

    def __init__(self, principal: Principal | None) -> None:
        self.principal = principal
        self.statements: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[Location, Location]] = {}
        self.arns: dict[str, Location] = {}
        self.references: dict[PolicyReference, Location] = {}
        for grant in (principal.grants if principal else None) or ():
            if grant.policy_arn:
                self.arns.setdefault(grant.policy_arn, grant.location)
            if grant.policy_reference:
                self.references.setdefault(grant.policy_reference, grant.location)
            for statement in grant.statements:
                self.statements.setdefault(_statement_key(statement), (grant.location, statement.location))

    def grant(self, grant: Grant) -> Grant:
        if self.principal is None:
            return grant
        if grant.policy_arn in self.arns:
            return replace(grant, location=self.arns[grant.policy_arn])
        if grant.policy_reference in self.references:
            return replace(grant, location=self.references[grant.policy_reference])
        located = [self.statements.get(_statement_key(statement)) for statement in grant.statements]
        statements = tuple(
            replace(statement, location=found[1]) if found else statement
            for statement, found in zip(grant.statements, located, strict=True)
        )
        where = next((found[0] for found in located if found), grant.location)
        return replace(grant, location=where, statements=statements)

    def boundary(self, boundary: Grant | None) -> Grant | None:
        """The boundary, at the HCL's `permissions_boundary` block."""
        if boundary is None or self.principal is None or self.principal.boundary is None:
            return boundary
        return replace(boundary, location=self.principal.boundary.location)


def _hcl_principals(config_dir: Path | None, root: Root | None) -> dict[str, Principal]:
    """The principals of the configuration the plan was made from, by address: its root module's
    files and the modules they call, as terraform loads them (module calls followed,
    installed ones through the manifest); never the tree below, which may hold other
    roots by the thousand."""
    if config_dir is None or not config_dir.is_dir():
        return {}
    # each file of the directory: the scan reads their module, and no directory below
    principals = scan_terraform(terraform_files(config_dir), root=root).principals
    return {principal.address: principal for principal in principals}


# ---------------------------------------------------------------------------
# Principals
# ---------------------------------------------------------------------------


def read_plan(
    plan: dict[str, Any], file: str, config_dir: Path | None = None, root: Root | None = None
) -> SourceResult:
    """The principals in a plan's resource changes. With `config_dir`, the directory
    the plan was made in, principals and statements get their file:line from its HCL
    (files it names read only inside `root`)."""
    read = _read(plan, file)
    prior_arns = _prior_arns(plan)
    hcl = _hcl_principals(config_dir, root)
    by_definition: dict[str, Principal] = {}
    for address, principal in hcl.items():  # the HCL's instance keys may not be the plan's
        by_definition.setdefault(_INSTANCE_KEY.sub("[*]", address), principal)
    position = {resource.address: index for index, resource in enumerate(read.resources)}
    principals = []
    for resource in read.resources:
        kind = TERRAFORM[resource.type].kind
        if kind is None:
            continue
        same = hcl.get(resource.address) or by_definition.get(_INSTANCE_KEY.sub("[*]", resource.address))
        locator = _Locator(same)
        principal = _principal(resource, kind, read, prior_arns, locator, position)
        if kind == "permission-set" and resource.after is not None:
            same_address = hcl.get(resource.address)
            principal = _unlinked_from_hcl(principal, resource, read.after, read.found, same_address)
        principals.append(principal)
    return SourceResult(tuple(principals), tuple(read.found.errors), tuple(read.found.notes))


def _principal(
    resource: _Resource,
    kind: Kind,
    read: _Plan,
    prior_arns: dict[str, str],
    locator: _Locator,
    position: dict[str, int],
) -> Principal:
    before, after, address = resource.before, resource.after, resource.address
    deployed = before is not None
    values = after if isinstance(after, dict) else before or {}
    arn = ((before or {}).get("arn") or prior_arns.get(resource.address)) if deployed else None
    name, path = values.get("name"), values.get("path")

    def grants(side: _Side) -> tuple[Grant, ...]:
        return tuple(dict.fromkeys(locator.grant(grant) for grant in side.grants.get(resource.address, [])))

    via = {*read.before.sources.get(resource.address, ()), *read.after.sources.get(resource.address, ())}
    via.discard(resource.address)
    return Principal(
        address=resource.address,
        source="terraform-plan",
        kind=kind,
        location=locator.principal.location if locator.principal else Location(read.found.file, None),
        arn=arn if isinstance(arn, str) else None,
        name=name if isinstance(name, str) else None,
        path=path if isinstance(path, str) else "/",
        grants=grants(read.after) if after is not None else (),
        unresolved="the plan has no ARN for it" if deployed and not isinstance(arn, str) else None,
        deployed=deployed,
        change=resource.change,
        grants_before=grants(read.before) if deployed else None,
        granted_via=tuple(sorted(via, key=position.__getitem__)),
        boundary=locator.boundary((read.after if after is not None else read.before).boundaries.get(address)),
    )


def _unlinked_from_hcl(
    principal: Principal, resource: _Resource, side: _Side, found: _Found, hcl: Principal | None
) -> Principal:
    """A permission set with the accounts the plan assigns it to. Where an assignment, or
    a resource that grants to it, names it by an instance the plan does not say (not yet
    applied: `pset[each.value.name].arn`), what the HCL gives it too."""
    address = resource.address
    accounts = list(side.assigned.get(address, ()))
    grants, boundary = principal.grants, principal.boundary
    if {resource.base, "*"} & side.unlinked_accounts:
        if hcl is not None and hcl.accounts is not None:
            accounts.extend(hcl.accounts)
        else:
            found.notes[f"{address}: the accounts it is assigned to are known only after apply"] = None
    if {resource.base, "*"} & side.unlinked_grants:
        if hcl is not None:
            grants = tuple(dict.fromkeys((*(grants or ()), *(hcl.grants or ()))))
            boundary = boundary or hcl.boundary
        else:
            found.notes[f"{address}: what the resources that name it by instance grant it "
                        "is known only after apply"] = None
    if address in side.assigned_unknown:
        unknown = side.assigned_unknown[address]
        found.notes[f"{address}: an account it is assigned to is not known: {unknown}"] = None
    assigned = tuple(dict.fromkeys(accounts)) or None
    return replace(principal, grants=grants, boundary=boundary, accounts=assigned)
