"""IAMLU004: an Allow statement grants every action (or all but a NotAction list) on
every resource."""

from __future__ import annotations

from iam_lastused.analysis.rule import BROAD_HELP, LEAST_PRIVILEGE, Rule, StatementCheck
from iam_lastused.model import Statement


def every_action(statement: Statement) -> bool:
    """Whether the statement allows every action, or every action but some, on every resource."""
    return (
        statement.effect == "Allow" and statement.resources is not None and "*" in statement.resources
        and (bool(statement.not_actions) or any(action.strip() == "*" for action in statement.actions))
    )


def check(statement: Statement) -> list[str]:
    if not every_action(statement):
        return []
    if statement.not_actions:
        excluded = ", ".join(statement.not_actions)
        return [f"grants every action except {excluded} on every resource (NotAction with Resource \"*\")"]
    return ['grants every action on every resource (Action "*" with Resource "*")']


RULE = Rule(
    "IAMLU004", "wildcard-action", "warning", "Statement grants every action",
    'An Allow statement grants Action "*" (or all but a NotAction list) on Resource "*".',
    BROAD_HELP, LEAST_PRIVILEGE,
    StatementCheck(check),
)
