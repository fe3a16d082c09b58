"""Whose credentials a run uses: STS GetCallerIdentity."""

from __future__ import annotations

from typing import Any

from iam_lastused.aws.errors import translated
from iam_lastused.model import CallerIdentity


def caller_identity(sts: Any) -> CallerIdentity:
    """The caller's partition, account and ARN (AwsError, NoCredentials when STS cannot say)."""
    with translated():
        identity = sts.get_caller_identity()
    return CallerIdentity(identity["Arn"].split(":")[1], identity["Account"], identity["Arn"])
