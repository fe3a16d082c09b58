"""IAMLU006: a principal is granted more services than `--max-services`."""

from __future__ import annotations

from iam_lastused.analysis.rule import BROAD_HELP, LEAST_PRIVILEGE, PrincipalCheck, Rule


def check(granted: tuple[str, ...] | None, max_services: int) -> list[str]:
    if granted is None or len(granted) <= max_services:
        return []
    return [f"grants {len(granted)} services (more than {max_services})"]


RULE = Rule(
    "IAMLU006", "many-services", "warning", "Principal granted many services",
    "The principal is granted more services than --max-services.",
    BROAD_HELP, LEAST_PRIVILEGE,
    PrincipalCheck(check),
)
