"""AWS's rules for the names and paths of roles, users, groups and managed policies, and
for the names of Identity Center permission sets.

A name from code may be anything the code computes: a file's content, an environment
value, garbage. It is shown (and sent to AWS) as a name only if AWS would accept it. The
rules are AWS's own, as botocore's model of the API states them for IAM's CreateRole,
CreateUser, CreateGroup and CreatePolicy (length, characters, path form) and for
sso-admin's CreatePermissionSet (a permission set has a name, no path).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from iam_lastused.aws.service_model import shapes
from iam_lastused.model import Kind

INVALID_NAME = "invalid name"
"""How the reason a principal's name is not shown begins."""
_CREATE: dict[Kind, tuple[str, str, str]] = {
    "role": ("iam", "CreateRole", "RoleName"),
    "user": ("iam", "CreateUser", "UserName"),
    "group": ("iam", "CreateGroup", "GroupName"),
    "policy": ("iam", "CreatePolicy", "PolicyName"),
    "permission-set": ("sso-admin", "CreatePermissionSet", "Name"),
}
_AUTHORITY = {"iam": "IAM", "sso-admin": "Identity Center"}
"""Who accepts the names, as a message says it."""


@dataclass(frozen=True)
class _Rule:
    authority: str
    shortest: int
    longest: int
    pattern: re.Pattern[str]
    pattern_text: str

    def problem(self, what: str, value: str) -> str | None:
        """Why `value` breaks the rule, in words that hold nothing of it; None if it obeys."""
        if self.shortest <= len(value) <= self.longest and self.pattern.fullmatch(value):
            return None
        size = f"{len(value)} character{'s' if len(value) != 1 else ''}"
        who = self.authority
        return f"{INVALID_NAME}: the {what} is not one {who} accepts ({size}; {who} takes " \
               f"{self.shortest}-{self.longest} matching {self.pattern_text}), so it is not shown"


@functools.cache
def _rule(kind: Kind, member: str) -> _Rule:
    service, operation, _ = _CREATE[kind]
    model: dict[str, Any] = shapes(service)
    shape = model[model[f"{operation}Request"]["members"][member]["shape"]]
    pattern = str(shape["pattern"])
    # the patterns are Java's: \w is ASCII there
    return _Rule(
        _AUTHORITY[service], int(shape["min"]), int(shape["max"]), re.compile(pattern, re.ASCII), pattern
    )


def name_problem(kind: Kind, name: str, path: str) -> str | None:
    """Why a principal's name or path cannot be AWS's, or None. A permission set has no
    path: `path` is not judged for one."""
    _, _, name_member = _CREATE[kind]
    problem = _rule(kind, name_member).problem(f"{kind} name", name)
    if problem or kind == "permission-set":
        return problem
    return _rule(kind, "Path").problem(f"{kind} path", path)
