"""What a finding rule is: its ID, name, level and texts, and what decides it. Every
format reads these; the rules themselves are in `analysis.rules`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from iam_lastused.model import State, Statement, Status

Level = Literal["error", "warning", "note"]

LEAST_PRIVILEGE = ("security", "iam", "least-privilege")
BROAD_HELP = (
    "Grant only the actions and resources the principal needs; the unused-service "
    "findings, where usage data is available, say which."
)
"""The help of the rules on broad grants seen in the code alone."""


@dataclass(frozen=True)
class StatementCheck:
    """Decides on each statement alone: what it finds there, one message each."""

    check: Callable[[Statement], Sequence[str]]


@dataclass(frozen=True)
class PrincipalCheck:
    """Decides on the services a principal is granted (None where a source cannot
    know) against `--max-services`: what it finds, one message each."""

    check: Callable[[tuple[str, ...] | None, int], Sequence[str]]


@dataclass(frozen=True)
class FromReport:
    """Decided by the usage data: the service states, or principal statuses, that
    analysis.analyze gives and that this rule reports."""

    states: tuple[State, ...] = ()
    statuses: tuple[Status, ...] = ()


@dataclass(frozen=True)
class Rule:
    """`no_data` rules say where there is no usage data, rather than what to change:
    no failure, and not counted as findings."""

    id: str
    name: str
    level: Level
    short: str
    full: str
    help: str
    tags: tuple[str, ...]
    decided_by: StatementCheck | PrincipalCheck | FromReport
    no_data: bool = False
