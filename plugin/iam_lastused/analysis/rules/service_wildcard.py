"""IAMLU005: an Allow statement grants every action of a service (`service:*`) on every
resource; one finding per service. A statement that grants every action is
wildcard-action's alone."""

from __future__ import annotations

from iam_lastused.analysis.rule import BROAD_HELP, LEAST_PRIVILEGE, Rule, StatementCheck
from iam_lastused.analysis.rules.wildcard_action import every_action
from iam_lastused.model import Statement


def check(statement: Statement) -> list[str]:
    if statement.effect != "Allow" or statement.resources is None or "*" not in statement.resources:
        return []
    if every_action(statement):
        return []
    services = sorted({a.split(":")[0].lower() for a in statement.actions if a.partition(":")[2] == "*"})
    return [f'grants every {service} action on every resource ("{service}:*")' for service in services]


RULE = Rule(
    "IAMLU005", "service-wildcard", "warning", "Statement grants every action of a service",
    'An Allow statement grants "service:*" on Resource "*".',
    BROAD_HELP, LEAST_PRIVILEGE,
    StatementCheck(check),
)
