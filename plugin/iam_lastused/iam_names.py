"""IAM's rules for the names and paths of roles, users, groups and managed policies.

A name from code may be anything the code computes: a file's content, an environment
value, garbage. It is shown (and sent to IAM) as a name only if IAM would accept it. The
rules are IAM's own, as botocore's model of the API states them for CreateRole,
CreateUser, CreateGroup and CreatePolicy (length, characters, path form).
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
_CREATE: dict[Kind, tuple[str, str]] = {
    "role": ("CreateRole", "RoleName"),
    "user": ("CreateUser", "UserName"),
    "group": ("CreateGroup", "GroupName"),
    "policy": ("CreatePolicy", "PolicyName"),
}


@dataclass(frozen=True)
class _Rule:
    shortest: int
    longest: int
    pattern: re.Pattern[str]
    pattern_text: str

    def problem(self, what: str, value: str) -> str | None:
        """Why `value` breaks the rule, in words that hold nothing of it; None if it obeys."""
        if self.shortest <= len(value) <= self.longest and self.pattern.fullmatch(value):
            return None
        size = f"{len(value)} character{'s' if len(value) != 1 else ''}"
        return f"{INVALID_NAME}: the {what} is not one IAM accepts ({size}; IAM takes " \
               f"{self.shortest}-{self.longest} matching {self.pattern_text}), so it is not shown"


@functools.cache
def _rule(kind: Kind, member: str) -> _Rule:
    operation, _ = _CREATE[kind]
    iam: dict[str, Any] = shapes("iam")
    shape = iam[iam[f"{operation}Request"]["members"][member]["shape"]]
    pattern = str(shape["pattern"])
    # IAM's patterns are Java's: \w is ASCII there
    return _Rule(int(shape["min"]), int(shape["max"]), re.compile(pattern, re.ASCII), pattern)


def name_problem(kind: Kind, name: str, path: str) -> str | None:
    """Why a principal's name or path cannot be IAM's, or None."""
    _, name_member = _CREATE[kind]
    return _rule(kind, name_member).problem(f"{kind} name", name) or _rule(kind, "Path").problem(
        f"{kind} path", path
    )
