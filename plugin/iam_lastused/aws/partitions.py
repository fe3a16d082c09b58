"""What botocore's bundled endpoint data and the AWS configuration say of regions and
partitions: read from files botocore ships and the AWS config file, no call to AWS."""

from __future__ import annotations

import functools

import botocore.session
from botocore.exceptions import UnknownRegionError


def default_region() -> str | None:
    """The region the AWS configuration (environment, config file) names, if any."""
    region = botocore.session.get_session().get_config_variable("region")
    return str(region) if region else None


@functools.cache
def partition_for_region(region: str) -> str | None:
    """The partition `region` belongs to, or None for a region botocore does not know.
    Cached: botocore reads its whole endpoint data (a large file) for each new session,
    and a run asks for the partition several times."""
    try:
        return str(botocore.session.get_session().get_partition_for_region(region))
    except UnknownRegionError:
        return None


@functools.cache
def dns_suffixes() -> dict[str, str]:
    """Each partition's DNS suffix (`aws`: `amazonaws.com`)."""
    partitions = botocore.session.get_session().get_data("endpoints")["partitions"]
    return {partition["partition"]: partition["dnsSuffix"] for partition in partitions}
