"""botocore's bundled model of an AWS API, read as data (no call to AWS)."""

from __future__ import annotations

import functools
from typing import Any

import botocore.loaders


@functools.cache
def shapes(service: str) -> dict[str, Any]:
    """The shapes (request, response and value types) of `service`'s API model."""
    model: dict[str, Any] = botocore.loaders.Loader().load_service_model(service, "service-2")
    return dict(model["shapes"])
