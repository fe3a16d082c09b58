"""IAM principals and what they are granted: every instance of every IAM resource of
the scan's module instances, read by the shared collector (iam_resources.collect)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from iam_lastused.model import Grant, InputError, Kind, Location, Principal
from iam_lastused.policy import PolicyDoc
from iam_lastused.sources.iam_resources import PRINCIPAL_TYPES, TERRAFORM, collect
from iam_lastused.sources.policy_references import reference_grant
from iam_lastused.sources.terraform.hcl import Block
from iam_lastused.sources.terraform.instances import ALL, Instance, ResourceKey, instance_suffix
from iam_lastused.sources.terraform.values import Scope, evaluate, expanded, policy_document
from iam_lastused.sources.unknown import Unknown

if TYPE_CHECKING:
    from iam_lastused.sources.terraform.scan import Scan

_BOUNDARY = "a permissions boundary"
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_PERMISSION_SET_ARN = re.compile(r"arn:aws[a-z-]*:sso:::permissionSet/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}")


class PolicyIndex:
    """The aws_iam_policy instances the code defines, found by ARN or by name, as
    references to them and `data "aws_iam_policy"` find them."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan
        self._names: tuple[int, list[tuple[str, str, ResourceKey]]] | None = None
        self._finding = False

    def by_arn(self, arn: str) -> ResourceKey | None:
        """The policy whose ARN is `arn` (only when the account is known, as then are
        the ARNs of the policies the code defines)."""
        environment = self.scan.environment
        if environment.account_id is None:
            return None
        prefix = f"arn:{environment.partition}:iam::{environment.account_id}:policy"
        return next((key for path, name, key in self._policies() if f"{prefix}{path}{name}" == arn), None)

    def by_name(self, name: str, path_prefix: str | None) -> ResourceKey | None:
        """The one policy named `name`, on a path under `path_prefix`, as
        `data "aws_iam_policy"` finds it in any account."""
        found = [key for path, own, key in self._policies()
                 if own == name and path.startswith(path_prefix or "/")]
        return found[0] if len(found) == 1 else None

    def _policies(self) -> list[tuple[str, str, ResourceKey]]:
        """The path and name of each aws_iam_policy instance whose name is known (none
        while they are being found: a policy's name may read a data source that looks
        policies up)."""
        instances = self.scan.instances
        if self._finding:
            return []
        if self._names is None or self._names[0] != len(instances):
            self._finding = True
            try:
                found: list[tuple[str, str, ResourceKey]] = []
                for instance in list(instances):
                    for resource_type, name in list(instance.resources):
                        if resource_type != "aws_iam_policy":
                            continue
                        for key in instance.keys(resource_type, name):
                            if key is ALL:
                                continue
                            policy_name = instance.name(resource_type, name, key)
                            path = instance.iam_path(resource_type, name, key)
                            if isinstance(policy_name, str) and isinstance(path, str):
                                policy = ResourceKey(instance, resource_type, name, key)
                                found.append((path, policy_name, policy))
            finally:
                self._finding = False
            self._names = (len(instances), found)
        return self._names[1]


@dataclass(frozen=True)
class _Resource:
    """One instance of a resource (`key` None where it has no count or for_each; ALL
    where they cannot be settled, with why in `unsettled`)."""

    instance: Instance
    type: str
    name: str
    file: str
    block: Block
    key: Any = None
    unsettled: str | None = None

    @property
    def location(self) -> Location:
        return Location(self.file, self.block["line"])

    @property
    def where(self) -> str:
        return f"{self.instance.prefix}{self.type}.{self.name}"

    @property
    def address(self) -> str:
        return f"{self.where}{instance_suffix(self.key)}"

    def value(self, attr: str) -> Any:
        return evaluate(self.block["attrs"][attr], self.instance.scope(self.type, self.name, self.key))

    def attr_location(self, attr: str) -> Location:
        return Location(self.file, self.block["lines"].get(attr, self.block["line"]))


class _Reader:
    """The collector's view of resources in module instances (iam_resources.Reader)."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan

    def key(self, resource: _Resource) -> ResourceKey:
        return ResourceKey(resource.instance, resource.type, resource.name, resource.key)

    def type(self, resource: _Resource) -> str:
        return resource.type

    def sets(self, resource: _Resource, attr: str) -> bool:
        block = resource.block
        return attr in block["attrs"] or any(
            nested["type"] == attr or (nested["type"] == "dynamic" and nested["labels"] == [attr])
            for nested in block["blocks"]
        )

    def document(self, resource: _Resource, attr: str, own: bool) -> Grant:
        if own:  # a managed policy's document, evaluated once for every attachment of it
            document = resource.instance.policy(resource.name, resource.key)
            grant = _grant(document, resource.attr_location(attr))
            return _unsettled(grant, resource)
        if attr not in resource.block["attrs"]:
            return Grant(resource.location, known=False, unknown=f"{attr} is not set")
        document = policy_document(resource.value(attr), resource.location, self.scan.error)
        return _unsettled(_grant(document, resource.location), resource)

    def inline_policies(self, resource: _Resource, attr: str) -> list[Grant]:
        """The role's inline_policy blocks, `dynamic "inline_policy"` ones expanded."""
        scope = resource.instance.scope(resource.type, resource.name, resource.key)
        grants = []
        for nested in resource.block["blocks"]:
            reasons: list[str] = []
            for inline, inner in expanded(nested, attr, scope, reasons):
                if "policy" in inline["attrs"]:
                    location = Location(resource.file, inline["line"])
                    value = evaluate(inline["attrs"]["policy"], inner)
                    grant = _grant(policy_document(value, location, self.scan.error), location)
                    grants.append(_unsettled(grant, resource))
            if reasons:
                grants.append(Grant(Location(resource.file, nested["line"]), known=False, unknown=reasons[0]))
        return grants

    def attached(self, resource: _Resource, attr: str) -> tuple[list[Grant], list[ResourceKey]]:
        """Grants for a policy_arn argument: an in-tree policy's statements or an ARN; at the
        attribute on a principal (a role's managed_policy_arns), else at the resource."""
        own = TERRAFORM[resource.type].kind is not None
        location = resource.attr_location(attr) if own else resource.location
        value = resource.value(attr) if attr in resource.block["attrs"] else Unknown(f"{attr} is not set")
        grants, sources = self._attached(value, location, resource.where)
        return [_unsettled(grant, resource) for grant in grants], sources

    def _attached(self, value: Any, location: Location, where: str) -> tuple[list[Grant], list[ResourceKey]]:
        if isinstance(value, list):
            found = [self._attached(item, location, where) for item in value]
            return [g for grants, _ in found for g in grants], [k for _, keys in found for k in keys]
        resource = getattr(value, "resource", None)
        if isinstance(resource, ResourceKey) and resource.type == "aws_iam_policy":
            return [_grant(resource.instance.policy(resource.name, resource.key), location)], [resource]
        if isinstance(value, str):
            in_tree = self.scan.policies.by_arn(str(value))
            if in_tree is not None:
                return [_grant(in_tree.instance.policy(in_tree.name, in_tree.key), location)], [in_tree]
            return [Grant(location, policy_arn=str(value), known=False)], []
        reason = value.reason if isinstance(value, Unknown) else "not an ARN"
        self.scan.note(f"{where}: the policy ARN is not known: {reason}")
        return [Grant(location, known=False, unknown=f"the policy ARN is not known: {reason}")], []

    def policy_references(self, resource: _Resource, attr: str) -> list[Grant]:
        """The `customer_managed_policy_reference` blocks, each a policy by name and path."""
        scope = resource.instance.scope(resource.type, resource.name, resource.key)
        return self.policy_references_in(resource.block, scope, resource, attr)

    def policy_references_in(
        self, within: Block, scope: Scope, resource: _Resource, attr: str
    ) -> list[Grant]:
        """The policy reference blocks `attr` nested in `within`."""
        grants = []
        for nested in within["blocks"]:
            reasons: list[str] = []
            for block, inner in expanded(nested, attr, scope, reasons):
                location = Location(resource.file, block["line"])
                name = evaluate(block["attrs"]["name"], inner) if "name" in block["attrs"] else None
                path = evaluate(block["attrs"]["path"], inner) if "path" in block["attrs"] else "/"
                if isinstance(name, str) and isinstance(path, str | None):
                    reference = reference_grant(location, str(name), path and str(path))
                    grants.append(_unsettled(reference, resource))
                else:
                    value = name if not isinstance(name, str) else path
                    why = value.reason if isinstance(value, Unknown) else "not a string"
                    grants.append(Grant(location, known=False,
                                        unknown=f"the customer managed policy is not known: {why}"))
            if reasons:
                grants.append(Grant(Location(resource.file, nested["line"]), known=False, unknown=reasons[0]))
        return grants

    def boundary(self, resource: _Resource, attr: str) -> Grant:
        """The permissions boundary: a role's or user's policy ARN, or a permission set's
        `permissions_boundary` block. It limits, it grants nothing."""
        if attr in resource.block["attrs"]:
            arn, location = resource.value(attr), resource.attr_location(attr)
            if isinstance(arn, str):
                return Grant(location, policy_arn=str(arn), known=False, unknown=_BOUNDARY)
            why = arn.reason if isinstance(arn, Unknown) else "not an ARN"
            return Grant(location, known=False, unknown=f"{_BOUNDARY}, its ARN not known: {why}")
        scope = resource.instance.scope(resource.type, resource.name, resource.key)
        for nested in resource.block["blocks"]:
            for block, inner in expanded(nested, attr, scope, []):
                return self._boundary(block, inner, resource)
        return Grant(resource.attr_location(attr), known=False, unknown=f"{_BOUNDARY}, not known")

    def _boundary(self, block: Block, scope: Scope, resource: _Resource) -> Grant:
        """A boundary by the policy's ARN, or a customer managed policy by name and path."""
        location = Location(resource.file, block["line"])
        if "managed_policy_arn" in block["attrs"]:
            arn = evaluate(block["attrs"]["managed_policy_arn"], scope)
            if isinstance(arn, str):
                return Grant(location, policy_arn=str(arn), known=False, unknown=_BOUNDARY)
            why = arn.reason if isinstance(arn, Unknown) else "not an ARN"
            return Grant(location, known=False, unknown=f"{_BOUNDARY}, its ARN not known: {why}")
        references = self.policy_references_in(block, scope, resource, "customer_managed_policy_reference")
        if not references:
            return Grant(location, known=False, unknown=f"{_BOUNDARY}, not known")
        return replace(references[0], unknown=_BOUNDARY) if references[0].policy_reference else references[0]

    def accounts(self, resource: _Resource, attr: str) -> tuple[list[str], str | None]:
        """The account `target_id` names: twelve digits, else not known."""
        if attr not in resource.block["attrs"]:
            return [], f"{attr} is not set"
        value = resource.value(attr)
        if isinstance(value, str) and _ACCOUNT_ID.fullmatch(value):
            return [str(value)], None
        return [], value.reason if isinstance(value, Unknown) else "not an account ID"

    def unreadable(self, resource: _Resource) -> None:
        self.scan.error(InputError(f"{resource.where}: nested too deeply to read", resource.file))

    def targets(self, resource: _Resource, attr: str, kind: Kind) -> list[ResourceKey]:
        if attr not in resource.block["attrs"]:
            return []
        return self._targets(resource.instance, resource.value(attr), kind, resource.where)

    def _targets(self, instance: Instance, value: Any, kind: Kind, where: str) -> list[ResourceKey]:
        """The principals of `kind` that a role/user/group argument names."""
        if isinstance(value, list):
            return [key for item in value for key in self._targets(instance, item, kind, where)]
        resource = getattr(value, "resource", None)
        resource_type = PRINCIPAL_TYPES[kind]
        if isinstance(resource, ResourceKey) and resource.type == resource_type:
            return [resource]
        if isinstance(value, str) and kind == "permission-set":  # an ARN, of one not defined here
            shown = value if _PERMISSION_SET_ARN.fullmatch(value) else "named by an ARN"
            self.scan.note(f"{where}: permission set {shown} is not defined in the tree")
            return []
        if isinstance(value, str):
            matches = [
                ResourceKey(instance, resource_type, name, key)
                for candidate_type, name in instance.resources
                if candidate_type == resource_type
                for key in instance.keys(resource_type, name)
                if instance.name(resource_type, name, key) == value
            ]
            if not matches:
                self.scan.note(f"{where}: {kind} {value} is not defined in the tree")
            return matches
        reason = value.reason if isinstance(value, Unknown) else f"not a {kind} name"
        self.scan.note(f"{where}: the {kind} is not known: {reason}")
        return []


def _grant(document: PolicyDoc, location: Location) -> Grant:
    statements = tuple(statement for _, statement in document.statements)
    reason = None if document.known else getattr(document, "reason", None)
    return Grant(location, statements, known=document.known, unknown=reason)


def _unsettled(grant: Grant, resource: _Resource) -> Grant:
    """A grant of a resource that may not exist (its count or for_each, or its module
    call's, cannot be settled) is not known: nothing may be removed on its account."""
    reason = resource.unsettled or resource.instance.unsettled
    if reason is None:
        return grant
    return replace(grant, known=False, unknown=f"{reason}: whether it exists is not known")


def _path(resource: _Resource) -> tuple[str, str | None]:
    if "path" not in resource.block["attrs"]:
        return "/", None
    value = resource.value("path")
    if value is None:
        return "/", None
    if isinstance(value, str):
        return value, None
    return "/", f"path is computed: {value.reason if isinstance(value, Unknown) else 'not a string'}"


def _resources(scan: Scan) -> Iterator[_Resource]:
    """Every instance of every IAM resource: none for a count of 0 or an empty for_each."""
    for instance in scan.instances:
        for (resource_type, name), (file, block) in instance.resources.items():
            repeats = instance.repeats((resource_type, name), file, block)
            if isinstance(repeats, Unknown):
                where = f"{instance.prefix}{resource_type}.{name}"
                scan.note(f"{where}: {repeats.reason}; its instances are read as one")
                yield _Resource(instance, resource_type, name, file, block, ALL, f"{where}: {repeats.reason}")
                continue
            for key, _ in repeats:
                yield _Resource(instance, resource_type, name, file, block, key)


def principals(scan: Scan) -> Iterator[Principal]:
    resources = list(_resources(scan))
    reader = _Reader(scan)
    collected = collect(resources, reader)
    for resource in resources:
        kind = TERRAFORM[resource.type].kind
        if kind is None:
            continue
        key = reader.key(resource)
        principal_name = resource.instance.name(resource.type, resource.name, resource.key)
        path, path_unresolved = _path(resource)
        known_name = isinstance(principal_name, str)
        if key in collected.accounts_unknown:
            scan.note(f"{resource.address}: an account it is assigned to is not known: "
                      f"{collected.accounts_unknown[key]}")
        accounts = tuple(dict.fromkeys(collected.accounts.get(key, ())))
        yield Principal(
            address=resource.address,
            source="terraform",
            kind=kind,
            location=resource.location,
            name=str(principal_name) if known_name else None,
            path=path,
            grants=tuple(dict.fromkeys(collected.grants.get(key, []))),
            unresolved=path_unresolved if known_name else principal_name.reason,
            boundary=collected.boundaries.get(key),
            accounts=accounts or None,
        )
