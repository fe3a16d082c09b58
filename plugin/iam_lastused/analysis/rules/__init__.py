"""The rule registry: every finding rule, in the order the formats list them (SARIF's
rule indexes). A rule is one object (analysis.rule.Rule); one seen in the code alone is
one module here with its check. Adding a rule is its module and one entry in `RULES`;
a new rule goes at the end, so that the IDs and indexes of the others stay. Read at
render time, never copied at import."""

from __future__ import annotations

from iam_lastused.analysis.rule import FromReport, PrincipalCheck, Rule, StatementCheck
from iam_lastused.analysis.rules import many_services, service_wildcard, wildcard_action
from iam_lastused.analysis.rules.usage import (
    NOT_IN_REPORT,
    STALE,
    UNKNOWN_SERVICE,
    UNRESOLVED,
    UNUSED,
    UNUSED_ACTIONS,
)
from iam_lastused.model import State

RULES: tuple[Rule, ...] = (
    UNUSED,
    STALE,
    UNRESOLVED,
    wildcard_action.RULE,
    service_wildcard.RULE,
    many_services.RULE,
    UNUSED_ACTIONS,
    NOT_IN_REPORT,
    UNKNOWN_SERVICE,
)



def by_name(name: str) -> Rule:
    """The rule of that name, which a StaticFinding carries."""
    return {rule.name: rule for rule in RULES}[name]


def by_state(state: State) -> Rule:
    """The rule that reports a service in `state`, as analysis.analyze gives it (a `used`
    one only when it has never-used actions)."""
    reported = {
        each: rule
        for rule in RULES
        if isinstance(rule.decided_by, FromReport)
        for each in rule.decided_by.states
    }
    return reported[state]


def static() -> tuple[Rule, ...]:
    """The rules the code alone decides, with no usage data: broad grants."""
    return tuple(rule for rule in RULES if isinstance(rule.decided_by, StatementCheck | PrincipalCheck))


__all__ = [
    "NOT_IN_REPORT", "RULES", "STALE", "UNKNOWN_SERVICE", "UNRESOLVED", "UNUSED", "UNUSED_ACTIONS", "by_name",
    "by_state", "static",
]
