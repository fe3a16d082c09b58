"""A customer managed policy named by name and path, as an Identity Center permission set
refers to one: the policy is read in each account the permission set is assigned to, so
the code gives only its name. A name or path IAM would refuse is neither shown nor kept."""

from __future__ import annotations

from iam_lastused.iam_names import name_problem
from iam_lastused.model import Grant, Location, PolicyReference


def reference_grant(location: Location, name: str, path: str | None) -> Grant:
    """The grant of the customer managed policy `path``name` (path `/` where not set)."""
    path = path or "/"
    problem = name_problem("policy", name, path)
    if problem is not None:
        return Grant(location, known=False, unknown=f"the customer managed policy's {problem}")
    why = f"customer managed policy {path}{name}: read in each account"
    return Grant(location, known=False, unknown=why, policy_reference=PolicyReference(name, path))
