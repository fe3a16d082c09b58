"""The IAM resource types, in one table, and the one collector of what each grants.

A Terraform IAM resource either is a principal (a role, user, group, managed policy or
Identity Center permission set) or grants to principals it names: a policy document,
attached policy ARNs, customer managed policies by name, a permissions boundary, a group
membership, or a permission set's assignment to an account. The HCL source and the plan
source read the same resources (from code, or from the plan's values), so each gives a
`Reader` for its own resources and `collect` does the rest:
a new IAM resource type is one entry of `TERRAFORM`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from iam_lastused.model import Grant, Kind


@dataclass(frozen=True)
class ResourceType:
    """What one resource type makes and grants, by its attributes.

    - `kind`: the principal the resource is, if it is one.
    - `document`: the attribute holding a policy document it grants.
    - `inline_policies`: the nested blocks (or list) of inline policy documents it grants
      itself; counted only where the configuration sets them.
    - `policy_arns`: the attribute holding the ARN(s) of the policies it attaches; on a
      principal, counted only where the configuration sets it.
    - `targets`: the attributes naming the principals it grants to, with their kind; a
      principal grants to itself.
    - `members`: the attributes naming users and the groups they join.
    - `policy_references`: the attribute (or nested blocks) naming customer managed
      policies by name and path, as a permission set refers to them.
    - `boundary`: the attribute (or nested block) setting a permissions boundary.
    - `assignments`: the attributes naming the permission set and the account it is
      assigned to.
    """

    kind: Kind | None = None
    document: str | None = None
    inline_policies: str | None = None
    policy_arns: str | None = None
    targets: tuple[tuple[str, Kind], ...] = ()
    members: tuple[str, str] | None = None
    policy_references: str | None = None
    boundary: str | None = None
    assignments: tuple[str, str] | None = None


_PERMISSION_SET: tuple[tuple[str, Kind], ...] = (("permission_set_arn", "permission-set"),)


TERRAFORM: dict[str, ResourceType] = {
    "aws_iam_role": ResourceType(
        kind="role", inline_policies="inline_policy", policy_arns="managed_policy_arns"
    ),
    "aws_iam_user": ResourceType(kind="user"),
    "aws_iam_group": ResourceType(kind="group"),
    "aws_iam_policy": ResourceType(kind="policy", document="policy"),
    "aws_iam_role_policy": ResourceType(document="policy", targets=(("role", "role"),)),
    "aws_iam_user_policy": ResourceType(document="policy", targets=(("user", "user"),)),
    "aws_iam_group_policy": ResourceType(document="policy", targets=(("group", "group"),)),
    "aws_iam_role_policy_attachment": ResourceType(policy_arns="policy_arn", targets=(("role", "role"),)),
    "aws_iam_user_policy_attachment": ResourceType(policy_arns="policy_arn", targets=(("user", "user"),)),
    "aws_iam_group_policy_attachment": ResourceType(policy_arns="policy_arn", targets=(("group", "group"),)),
    "aws_iam_policy_attachment": ResourceType(
        policy_arns="policy_arn", targets=(("roles", "role"), ("users", "user"), ("groups", "group"))
    ),
    "aws_iam_role_policy_attachments_exclusive": ResourceType(
        policy_arns="policy_arns", targets=(("role_name", "role"),)
    ),
    "aws_iam_user_group_membership": ResourceType(members=("user", "groups")),
    "aws_iam_group_membership": ResourceType(members=("users", "group")),
    "aws_ssoadmin_permission_set": ResourceType(kind="permission-set"),
    "aws_ssoadmin_permission_set_inline_policy": ResourceType(
        document="inline_policy", targets=_PERMISSION_SET
    ),
    "aws_ssoadmin_managed_policy_attachment": ResourceType(
        policy_arns="managed_policy_arn", targets=_PERMISSION_SET
    ),
    "aws_ssoadmin_customer_managed_policy_attachment": ResourceType(
        policy_references="customer_managed_policy_reference", targets=_PERMISSION_SET
    ),
    "aws_ssoadmin_permissions_boundary_attachment": ResourceType(
        boundary="permissions_boundary", targets=_PERMISSION_SET
    ),
    "aws_ssoadmin_account_assignment": ResourceType(assignments=("permission_set_arn", "target_id")),
}
"""Every Terraform resource type that makes or grants to an IAM principal."""

PRINCIPAL_TYPES: dict[Kind, str] = {spec.kind: name for name, spec in TERRAFORM.items() if spec.kind}
"""The Terraform resource type of each kind of principal."""

R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
_R = TypeVar("_R", contravariant=True)


class Reader(Protocol[_R, K]):
    """What a source knows of its own resources. `K` is how it names a resource (an
    address, or a module instance's key), the same for a principal and a target."""

    def key(self, resource: _R) -> K: ...

    def type(self, resource: _R) -> str: ...

    def sets(self, resource: _R, attr: str) -> bool:
        """Whether the configuration sets `attr`."""
        ...

    def document(self, resource: _R, attr: str, own: bool) -> Grant:
        """The grant of the policy document in `attr`; `own` when it is the principal's
        own (a managed policy's document), not one it gives to others."""
        ...

    def inline_policies(self, resource: _R, attr: str) -> list[Grant]: ...

    def attached(self, resource: _R, attr: str) -> tuple[list[Grant], list[K]]:
        """The grants of the policy ARNs in `attr`, and the managed policies among this
        source's resources that they come from."""
        ...

    def targets(self, resource: _R, attr: str, kind: Kind) -> list[K]:
        """The principals of `kind` that `attr` names (none where it is not set)."""
        ...

    def policy_references(self, resource: _R, attr: str) -> list[Grant]:
        """The grants of the customer managed policies `attr` names by name and path
        (`Grant.policy_reference`), not known until read in each account."""
        ...

    def boundary(self, resource: _R, attr: str) -> Grant:
        """The permissions boundary `attr` sets, as written."""
        ...

    def accounts(self, resource: _R, attr: str) -> tuple[list[str], str | None]:
        """The account IDs `attr` names, and why one it names is not known (None: all are)."""
        ...

    def unreadable(self, resource: _R) -> None:
        """`resource` is nested deeper than the stack (no tool wrote it) and is skipped."""
        ...


@dataclass
class Collected(Generic[K]):
    """What each principal is granted, and the resources (itself first) that grant it."""

    grants: dict[K, list[Grant]] = field(default_factory=dict)
    via: dict[K, list[K]] = field(default_factory=dict)
    boundaries: dict[K, Grant] = field(default_factory=dict)
    accounts: dict[K, list[str]] = field(default_factory=dict)
    """The accounts each permission set is assigned to, as far as they are known."""
    accounts_unknown: dict[K, str] = field(default_factory=dict)
    """Why a permission set is assigned to an account that is not known."""

    def add(self, target: K, grants: list[Grant], via: list[K]) -> None:
        self.grants.setdefault(target, []).extend(grants)
        self.via.setdefault(target, []).extend(via)


def collect(resources: Iterable[R], reader: Reader[R, K]) -> Collected[K]:
    """The grants every resource makes, a group's given to its members too."""
    collected: Collected[K] = Collected()
    memberships: list[tuple[K, K]] = []
    for resource in resources:
        spec = TERRAFORM.get(reader.type(resource))
        if spec is None:
            continue
        try:
            memberships.extend(_collect_one(resource, spec, reader, collected))
        except RecursionError:
            reader.unreadable(resource)
    own = {key: (list(grants), list(collected.via.get(key, []))) for key, grants in collected.grants.items()}
    for user, group in memberships:
        grants, via = own.get(group, ([], []))
        collected.add(user, grants, via)
    return collected


def _collect_one(
    resource: R, spec: ResourceType, reader: Reader[R, K], collected: Collected[K]
) -> list[tuple[K, K]]:
    """Adds what `resource` grants; returns the (user, group) memberships it makes."""
    key = reader.key(resource)
    targets = [key] if spec.kind else [
        target for attr, kind in spec.targets for target in reader.targets(resource, attr, kind)
    ]
    grants: list[Grant] = []
    via = [key]
    if spec.document:
        grants.append(reader.document(resource, spec.document, own=spec.kind is not None))
    if spec.inline_policies and reader.sets(resource, spec.inline_policies):
        grants.extend(reader.inline_policies(resource, spec.inline_policies))
    if spec.policy_arns and (spec.kind is None or reader.sets(resource, spec.policy_arns)):
        attached, sources = reader.attached(resource, spec.policy_arns)
        grants.extend(attached)
        via.extend(sources)
    if spec.policy_references and reader.sets(resource, spec.policy_references):
        grants.extend(reader.policy_references(resource, spec.policy_references))
    for target in dict.fromkeys(targets):
        collected.add(target, grants, via)
    if spec.boundary and reader.sets(resource, spec.boundary):
        boundary = reader.boundary(resource, spec.boundary)
        for target in dict.fromkeys(targets):
            collected.boundaries[target] = boundary
    if spec.assignments:
        _assign(resource, spec.assignments, reader, collected)
    if not spec.members:
        return []
    users_attr, groups_attr = spec.members
    users = reader.targets(resource, users_attr, "user")
    groups = reader.targets(resource, groups_attr, "group")
    return [(user, group) for user in users for group in groups]


def _assign(resource: R, attrs: tuple[str, str], reader: Reader[R, K], collected: Collected[K]) -> None:
    """Records the account a permission set is assigned to."""
    permission_set_attr, account_attr = attrs
    accounts, unknown = reader.accounts(resource, account_attr)
    for target in reader.targets(resource, permission_set_attr, "permission-set"):
        collected.accounts.setdefault(target, []).extend(accounts)
        if unknown is not None:
            collected.accounts_unknown.setdefault(target, unknown)
