"""The package's own types for AWS's errors, so that code outside aws/ handles a failed
call without knowing botocore: `translated()` turns botocore's exceptions into them,
keeping botocore's message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError


class AwsError(Exception):
    """An AWS call failed: AWS answered with an error (`code` is its code), or botocore
    could not make the call (`code` None)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class NoCredentials(AwsError):
    """No AWS credentials were found."""


@contextmanager
def translated() -> Iterator[None]:
    """botocore's exceptions raised in the block, raised again as AwsError (NoCredentials)."""
    try:
        yield
    except NoCredentialsError as exc:
        raise NoCredentials(str(exc)) from exc
    except ClientError as exc:
        raise AwsError(str(exc), exc.response.get("Error", {}).get("Code")) from exc
    except BotoCoreError as exc:
        raise AwsError(str(exc)) from exc


def failure(exc: ClientError | BotoCoreError, service: str) -> str:
    """How a call failed, to end a message: ` (service:Operation): Code` when AWS answered
    with an error (the permission it wants, and its code), `: message` when botocore could
    not make the call."""
    if isinstance(exc, ClientError):
        return f" ({service}:{exc.operation_name}): {exc.response.get('Error', {}).get('Code', 'error')}"
    return f": {exc}"
