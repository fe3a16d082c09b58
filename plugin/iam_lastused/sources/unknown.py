"""A value a source cannot know before apply, and why: the one `Unknown` of the
Terraform evaluator, the CloudFormation intrinsics and the plan reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be known before apply (or without an input), and why."""

    reason: str
    resource: Any = None
    """The key of the resource it is the ID or an attribute of, when it is one: a
    Terraform `ResourceKey` (`aws_iam_policy.x.arn`) or a CloudFormation logical ID."""
    attribute: str | None = None
    """The attribute of `resource` it is (CloudFormation's `Fn::GetAtt`)."""
    line: int | None = field(default=None, compare=False)
    """The line of the expression it was computed from."""
    error: bool = False
    """An evaluation error (a missing attribute, key or index): Terraform's try() moves on."""
