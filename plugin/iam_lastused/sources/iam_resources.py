"""The IAM resource types, in one table per format, and the one collector of what each grants.

An IAM resource either is a principal (a role, user, group, managed policy or Identity
Center permission set) or grants to principals it names: a policy document, attached
policy ARNs, customer managed policies by name, a permissions boundary, a group
membership, or a permission set's assignment to an account. Each source gives a
`Reader` for its own resources (Terraform's HCL and plan sources read `TERRAFORM`'s
types, the CloudFormation template reader `CLOUDFORMATION`'s) and `collect` does the
rest: a new IAM resource type is one entry of its table.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Generic, Protocol, TypeVar, runtime_checkable

from iam_lastused.model import Grant, Kind, Location


@dataclass(frozen=True)
class ResourceType:
    """What one resource type makes and grants, by its attributes.

    - `kind`: the principal the resource is, if it is one.
    - `name`: the attribute holding the principal's name, where the reader takes it from
      the table (CloudFormation's; Terraform's readers know `name` and `name_prefix`).
    - `reference`: the attribute other resources name the principal by (CloudFormation's
      `!GetAtt`), where they do not name it by `!Ref`.
    - `document`: the attribute holding a policy document it grants.
    - `inline_policy`: the attribute holding the one inline policy document a principal
      has (a permission set's); counted only where the configuration sets it.
    - `inline_policies`: the nested blocks (or list) of inline policy documents it grants
      itself; counted only where the configuration sets them.
    - `policy_arns`: the attribute holding the ARN(s) of the policies it attaches; on a
      principal, counted only where the configuration sets it.
    - `targets`: the attributes naming the principals it grants to, with their kind; a
      principal grants to itself.
    - `attaches`: the attributes listing principals its policy is attached to, each
      given it where its list is written (a CloudFormation policy's Roles, Users and
      Groups; the reader is then a `Placing` one).
    - `members`: the attributes naming users and the groups they join.
    - `groups`: on a user, the attribute naming the groups it joins.
    - `policy_references`: the attribute (or nested blocks) naming customer managed
      policies by name and path, as a permission set refers to them.
    - `boundary`: the attribute (or nested block) setting a permissions boundary.
    - `assignments`: the attributes naming the permission set and the account it is
      assigned to.
    """

    kind: Kind | None = None
    name: str | None = None
    reference: str | None = None
    document: str | None = None
    inline_policy: str | None = None
    inline_policies: str | None = None
    policy_arns: str | None = None
    targets: tuple[tuple[str, Kind], ...] = ()
    attaches: tuple[tuple[str, Kind], ...] = ()
    members: tuple[str, str] | None = None
    groups: str | None = None
    policy_references: str | None = None
    boundary: str | None = None
    assignments: tuple[str, str] | None = None


_PERMISSION_SET: tuple[tuple[str, Kind], ...] = (("permission_set_arn", "permission-set"),)


TERRAFORM: dict[str, ResourceType] = {
    "aws_iam_role": ResourceType(
        kind="role", inline_policies="inline_policy", policy_arns="managed_policy_arns",
        boundary="permissions_boundary",
    ),
    "aws_iam_user": ResourceType(kind="user", boundary="permissions_boundary"),
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

_LISTS: tuple[tuple[str, Kind], ...] = (("Roles", "role"), ("Users", "user"), ("Groups", "group"))
_MANAGED = "ManagedPolicyArns"

CLOUDFORMATION: dict[str, ResourceType] = {
    "AWS::IAM::Role": ResourceType(
        kind="role", name="RoleName", inline_policies="Policies", policy_arns=_MANAGED,
        boundary="PermissionsBoundary",
    ),
    "AWS::IAM::User": ResourceType(
        kind="user", name="UserName", inline_policies="Policies", policy_arns=_MANAGED, groups="Groups",
        boundary="PermissionsBoundary",
    ),
    "AWS::IAM::Group": ResourceType(
        kind="group", name="GroupName", inline_policies="Policies", policy_arns=_MANAGED
    ),
    "AWS::IAM::ManagedPolicy": ResourceType(
        kind="policy", name="ManagedPolicyName", document="PolicyDocument", attaches=_LISTS
    ),
    "AWS::IAM::Policy": ResourceType(document="PolicyDocument", attaches=_LISTS),
    "AWS::IAM::RolePolicy": ResourceType(document="PolicyDocument", targets=(("RoleName", "role"),)),
    "AWS::IAM::UserPolicy": ResourceType(document="PolicyDocument", targets=(("UserName", "user"),)),
    "AWS::IAM::GroupPolicy": ResourceType(document="PolicyDocument", targets=(("GroupName", "group"),)),
    "AWS::IAM::UserToGroupAddition": ResourceType(members=("Users", "GroupName")),
    "AWS::SSO::PermissionSet": ResourceType(
        kind="permission-set", name="Name", reference="PermissionSetArn", inline_policy="InlinePolicy",
        policy_arns="ManagedPolicies", policy_references="CustomerManagedPolicyReferences",
        boundary="PermissionsBoundary",
    ),
    "AWS::SSO::Assignment": ResourceType(assignments=("PermissionSetArn", "TargetId")),
}
"""Every CloudFormation resource type that makes or grants to an IAM principal (SAM's
are translated to these first)."""

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


@runtime_checkable
class Placing(Reader[_R, K], Protocol):
    """A reader that says where each attribute is written, for a table whose policies
    are given to the principals they list where the list is written (`ResourceType.attaches`)."""

    def written(self, resource: _R, attr: str) -> Location: ...


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


def collect(
    resources: Iterable[R], reader: Reader[R, K], table: Mapping[str, ResourceType] = TERRAFORM
) -> Collected[K]:
    """The grants every resource of `table`'s types makes, a group's given to its members too."""
    collected: Collected[K] = Collected()
    memberships: list[tuple[K, K]] = []
    for resource in resources:
        spec = table.get(reader.type(resource))
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
    if spec.inline_policy and reader.sets(resource, spec.inline_policy):
        grants.append(reader.document(resource, spec.inline_policy, own=True))
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
    for attr, kind in spec.attaches:
        assert isinstance(reader, Placing), "a table with attaches needs a Placing reader"
        where = reader.written(resource, attr)
        for target in dict.fromkeys(reader.targets(resource, attr, kind)):
            collected.add(target, [replace(grant, location=where) for grant in grants], via)
    if spec.boundary and reader.sets(resource, spec.boundary):
        boundary = reader.boundary(resource, spec.boundary)
        for target in dict.fromkeys(targets):
            collected.boundaries[target] = boundary
    if spec.assignments:
        _assign(resource, spec.assignments, reader, collected)
    if spec.groups:
        return [(key, group) for group in reader.targets(resource, spec.groups, "group")]
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
