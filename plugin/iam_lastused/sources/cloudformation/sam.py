"""SAM templates translated by SAM itself: aws-sam-translator's own transform, offline
(its bundled map of AWS managed policies; no AWS call), with the parameter values
the run knows. Each resource SAM generates is mapped back to the line of the SAM
resource (or event) it came from, and each policy of a generated role to the line of
the `Policies` entry that asked for it.

As cfn-lint ran SAM before it validated SAM's schemas itself, local code paths are
pointed at a placeholder S3 URI first: the translator accepts only S3 locations, and
what code a function runs does not change what it is granted. An image function built
locally (`PackageType: Image`, no `ImageUri`, `Metadata: Dockerfile`, as `sam init`
makes it and `sam build` fills in) gets a placeholder image URI, as `sam validate` does.
"""

from __future__ import annotations

import copy
import logging
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iam_lastused.environment import Environment
from iam_lastused.model import InputError
from iam_lastused.sources.cloudformation import nodes

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_RESOURCE_ID = re.compile(r"Resource with id \[([^\]]+)\]")
_PLACEHOLDER_URI = "s3://bucket/value"
_PLACEHOLDER_IMAGE_URI = "111111111111.dkr.ecr.region.amazonaws.com/repository"  # sam validate's
_URI_PROPERTIES = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::Application": ("Location",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Serverless::GraphQLApi": ("SchemaUri",),
}

logging.getLogger("samtranslator").setLevel(logging.CRITICAL)


@dataclass
class Translated:
    """The template SAM made, and where each generated part came from."""

    template: dict[str, Any]
    origins: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """A generated logical ID: the SAM resource it came from, and the line to point at."""
    entry_lines: dict[tuple[str, str], int | None] = field(default_factory=dict)
    """(generated role, policy name or managed policy ARN): the line of its `Policies` entry."""


def _placeholder_uris(resources: Mapping[str, Any]) -> None:
    for resource in resources.values():
        if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
            continue
        properties = resource["Properties"]
        kind = resource.get("Type")
        if not isinstance(kind, str):
            continue
        image = kind == "AWS::Serverless::Function" and properties.get("PackageType") == "Image"
        for key in ("ImageUri",) if image else _URI_PROPERTIES.get(kind, ()):
            value = properties.get(key)
            if key in properties and not (isinstance(value, str) and value.startswith("s3://")) and not (
                isinstance(value, dict) and "Bucket" in value
            ):
                properties[key] = _PLACEHOLDER_URI
        built_here = nodes.mapping(resource.get("Metadata")).get("Dockerfile")
        if image and "ImageUri" not in properties and built_here:
            properties["ImageUri"] = _PLACEHOLDER_IMAGE_URI
        if kind == "AWS::Serverless::Function" and "CodeUri" not in properties and "InlineCode" not in (
            properties
        ) and "ImageUri" not in properties:
            properties["CodeUri"] = _PLACEHOLDER_URI
        if isinstance(properties.get("AutoPublishCodeSha256"), dict):
            properties["AutoPublishCodeSha256"] = "placeholder"


def translate(
    template: dict[str, Any], parameters: Mapping[str, Any], environment: Environment, file: str
) -> Translated | list[InputError]:
    """The CloudFormation template SAM's transform makes of `template`, deployed in
    `environment` (its region, else its partition's first)."""
    from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
    from samtranslator.parser.parser import Parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    partition = environment.partition
    managed = get_bundled_managed_policy_map(partition) or {}
    first_region = {"aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}.get(partition, "us-east-1")
    region = environment.region or first_region
    source = copy.deepcopy(template)
    resources = source.get("Resources", {})
    if isinstance(resources, dict):
        _placeholder_uris(resources)
    translator = Translator(
        managed_policy_map=managed, sam_parser=Parser(),
        boto_session=types.SimpleNamespace(region_name=region),  # only its region is read
    )
    known = {name: value for name, value in parameters.items() if isinstance(value, str | list)}
    try:
        output = translator.translate(
            sam_template=source, parameter_values=known, passthrough_metadata=True,
            get_managed_policy_map=lambda: managed,
        )
    except InvalidDocumentException as exc:
        lines = {str(key): nodes.line(key) for key in nodes.mapping(template.get("Resources"))}
        errors = []
        for cause in exc.causes or [exc]:
            message = str(getattr(cause, "message", cause))
            named = _RESOURCE_ID.search(message)
            line = lines.get(named[1]) if named else None
            why = nodes.short(message)
            errors.append(InputError(f"SAM cannot translate the template: {why}", file, line))
        return errors
    except MemoryError:
        raise
    except Exception as exc:  # the translator raises anything
        return [InputError(f"SAM cannot translate the template: {nodes.short(str(exc))}", file)]
    return Translated(output, *_origins(template, output))


def _origins(
    template: Mapping[str, Any], output: Mapping[str, Any]
) -> tuple[dict[str, tuple[str, int | None]], dict[tuple[str, str], int | None]]:
    sam = {
        str(logical_id): (resource, nodes.line(logical_id))
        for logical_id, resource in nodes.mapping(template.get("Resources")).items()
        if isinstance(resource, dict) and str(resource.get("Type", "")).startswith("AWS::Serverless::")
    }
    origins: dict[str, tuple[str, int | None]] = {}
    entry_lines: dict[tuple[str, str], int | None] = {}
    by_length = sorted(sam, key=len, reverse=True)
    for logical_id, resource in nodes.mapping(output.get("Resources")).items():
        generated = str(logical_id)
        if nodes.line(logical_id) is not None and generated not in sam:
            continue  # written in the template itself
        owner = next((name for name in by_length if generated.startswith(name)), None)
        if owner is None:
            continue
        sam_resource, line = sam[owner]
        properties = nodes.mapping(sam_resource.get("Properties"))
        events = nodes.mapping(properties.get("Events"))
        event = next((name for name in sorted(map(str, events), key=len, reverse=True)
                      if generated.startswith(owner + name)), None)
        if event is not None:
            line = nodes.key_line(events, event) or line
        origins[generated] = (owner, line)
        if isinstance(resource, dict) and resource.get("Type") == "AWS::IAM::Role":
            entry_lines.update(_entry_lines(generated, properties, line))
    return origins, entry_lines


def _entry_lines(
    role: str, properties: Mapping[str, Any], line: int | None
) -> dict[tuple[str, str], int | None]:
    """Which line of the SAM resource's `Policies` each of the role's policies came from:
    SAM names the policy of entry i `<Role>Policy<i>`; a managed policy is found by its
    name or ARN."""
    policies = properties.get("Policies")
    fallback = nodes.key_line(properties, "Policies") or line
    items = policies if isinstance(policies, list) else [policies] if policies is not None else []
    found: dict[tuple[str, str], int | None] = {}
    for index, item in enumerate(items):
        item_line = nodes.line(item) or fallback
        found[(role, f"{role}Policy{index}")] = item_line
        if isinstance(item, str):
            found[(role, str(item))] = item_line
    return found

