"""Where the code is deployed: the account, region and partition a run knows of, the
one context the sources evaluate code in (Terraform's aws_caller_identity, aws_region
and aws_partition; CloudFormation's pseudo parameters) and resolving names ARNs in.

Plain data with no imports of the package, so that every layer may import it; frozen
and picklable, as it goes to the worker processes with each template."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Environment:
    """The account, region and partition the code is deployed in, as far as the run
    knows them (CDK's word): an account or region not given is None, and says so
    where code depends on it."""

    account_id: str | None = None
    region: str | None = None
    partition: str = "aws"
