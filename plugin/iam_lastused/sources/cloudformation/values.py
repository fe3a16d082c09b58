"""A template's values as CloudFormation would compute them: parameters, pseudo
parameters, mappings, conditions and the intrinsic functions over them.

`Values.evaluate` returns the value with every intrinsic it can settle replaced by
its result. What it cannot settle (a resource's physical ID or attribute, a parameter
with no value, an account ID not given) becomes an `Unknown` saying why, and so
does anything built from it; `NO_VALUE` (`AWS::NoValue`) is dropped from the mapping
or list holding it. Results keep the line of the node they were computed from.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from iam_lastused.environment import Environment
from iam_lastused.sources.unknown import Unknown

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_MAX_DEPTH = 200  # a template nests intrinsics as deep as it likes; Python's stack does not


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


@dataclass(frozen=True)
class Pseudo:
    """What the run knows of the pseudo parameters: where the stack is deployed, and as
    which stack."""

    environment: Environment = field(default_factory=Environment)
    stack: str | None = None

    def value(self, name: str) -> Any:
        environment = self.environment
        if name == "AWS::NoValue":
            return NO_VALUE
        if name == "AWS::Partition":
            return environment.partition
        if name == "AWS::URLSuffix":
            return "amazonaws.com.cn" if environment.partition == "aws-cn" else "amazonaws.com"
        if name == "AWS::AccountId":
            return environment.account_id or Unknown("AWS::AccountId is not given (--account-id)")
        if name == "AWS::Region":
            return environment.region or Unknown("AWS::Region is not given (--region)")
        if name == "AWS::StackName":
            return self.stack or Unknown("AWS::StackName is not given (--stack)")
        return Unknown(f"{name} is known only once the stack is deployed")


def _mark(result: Any, node: Any) -> Any:
    """The result, with the line of the node it was computed from."""
    start, end = getattr(node, "start_mark", None), getattr(node, "end_mark", None)
    if start is None or getattr(result, "start_mark", None) is not None:
        return result
    if isinstance(result, Unknown):
        return result if result.line is not None else replace(result, line=start.line + 1)
    from cfnlint.decode.node import dict_node, list_node, str_node  # cfn-lint is imported lazily

    if isinstance(result, str):
        return str_node(result, start, end)
    if isinstance(result, dict):
        return dict_node(result, start, end)
    if isinstance(result, list):
        return list_node(result, start, end)
    return result


def is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (function,) = value
    return isinstance(function, str) and (function in ("Ref", "Condition") or function.startswith("Fn::"))


def first_unknown(value: Any) -> Unknown | None:
    """The first unknown part of a value, if any."""
    if isinstance(value, Unknown):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((found for item in items if (found := first_unknown(item)) is not None), None)


@dataclass
class Values:
    """The evaluator of one template's values."""

    parameters: Mapping[str, Any]
    """Each parameter's value, or an `Unknown` saying why it has none."""
    pseudo: Pseudo
    mappings: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    resources: frozenset[str] = frozenset()
    _settled: dict[str, Any] = field(default_factory=dict)
    _settling: set[str] = field(default_factory=set)

    # -- conditions --------------------------------------------------------

    def condition(self, name: Any) -> bool | Unknown:
        """Whether the named condition holds, or why that is not known."""
        if not isinstance(name, str) or name not in self.conditions:
            return Unknown(f"condition {name} is not defined")
        if name in self._settled:
            return self._settled[name]
        if name in self._settling:
            return Unknown(f"condition {name} depends on itself")
        self._settling.add(name)
        result = self._truth(self.conditions[name], 0)
        self._settling.discard(name)
        if isinstance(result, Unknown):
            result = Unknown(f"condition {name} is not known: {result.reason}")
        self._settled[name] = result
        return result

    def _truth(self, value: Any, depth: int) -> bool | Unknown:
        if depth > _MAX_DEPTH:
            return Unknown("nested too deeply")
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not is_intrinsic(value):
            return Unknown("not a condition")
        ((function, argument),) = value.items()
        items = argument if isinstance(argument, list) else None
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals" and items is not None and len(items) == 2:
            left, right = (self._evaluate(item, depth + 1) for item in items)
            unknown = first_unknown(left) or first_unknown(right)
            if unknown is not None:
                return unknown
            return _comparable(left) == _comparable(right)
        if function == "Fn::Not" and items is not None and len(items) == 1:
            inner = self._truth(items[0], depth + 1)
            return inner if isinstance(inner, Unknown) else not inner
        if function in ("Fn::And", "Fn::Or") and items:
            truths = [self._truth(item, depth + 1) for item in items]
            decisive = function == "Fn::Or"  # the value that settles it whatever the rest
            if decisive in truths:
                return decisive
            unknown = next((truth for truth in truths if isinstance(truth, Unknown)), None)
            return unknown if unknown is not None else not decisive
        return Unknown(f"{function} is not a condition function")

    # -- values --------------------------------------------------------------

    def evaluate(self, value: Any) -> Any:
        return self._evaluate(value, 0)

    def _evaluate(self, value: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return Unknown("nested too deeply")
        if isinstance(value, list):
            items = [self._evaluate(item, depth + 1) for item in value]
            return _mark([item for item in items if item is not NO_VALUE], value)
        if not isinstance(value, dict):
            return value
        if is_intrinsic(value):
            ((function, argument),) = value.items()
            return _mark(self._function(str(function), argument, depth + 1), value)
        evaluated = {key: self._evaluate(item, depth + 1) for key, item in value.items()}
        return _mark({key: item for key, item in evaluated.items() if item is not NO_VALUE}, value)

    def _function(self, function: str, argument: Any, depth: int) -> Any:
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::GetAtt":
            target = argument.split(".", 1) if isinstance(argument, str) else argument
            if isinstance(target, list) and len(target) == 2 and isinstance(target[0], str):
                attribute = self._evaluate(target[1], depth)
                name = attribute if isinstance(attribute, str) else None
                return Unknown(f"{target[0]}.{name} is known only once deployed", str(target[0]), name)
            return Unknown("Fn::GetAtt is not readable")
        if function == "Fn::If":
            if not isinstance(argument, list) or len(argument) != 3:
                return Unknown("Fn::If is not readable")
            holds = self.condition(argument[0])
            if isinstance(holds, Unknown):
                return holds
            return self._evaluate(argument[1] if holds else argument[2], depth)
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Sub":
            return self._sub(argument, depth)
        argument = self._evaluate(argument, depth)
        unknown = first_unknown(argument)
        if unknown is not None:
            return unknown
        return _pure(function, argument, self.mappings)

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            return Unknown("Ref is not readable")
        if name.startswith("AWS::"):
            return self.pseudo.value(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return Unknown(f"the physical ID of {name} is known only once deployed", name)
        return Unknown(f"{name} is not defined in the template")

    def _sub(self, argument: Any, depth: int) -> Any:
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text, variables = argument[0], self._evaluate(argument[1], depth)
        else:
            text, variables = argument, {}
        if not isinstance(text, str):
            return Unknown("Fn::Sub is not readable")
        unknown: list[Unknown] = []

        def variable(match: re.Match[str]) -> str:
            name = match[1].strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                found = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                found = self._function("Fn::GetAtt", name, depth)
            else:
                found = self._ref(name)
            if isinstance(found, str | int | float) and not isinstance(found, bool):
                return str(found)
            unknown.append(found if isinstance(found, Unknown) else Unknown(f"${{{name}}} is not a string"))
            return ""

        result = _SUB_VARIABLE.sub(variable, text)
        return unknown[0] if unknown else result


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


def _pure(function: str, argument: Any, mappings: Mapping[str, Any]) -> Any:
    """The functions whose arguments are all known."""
    if function == "Fn::Join":
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
            parts = argument[1]
            if isinstance(parts, list) and all(isinstance(p, str | int | float) for p in parts):
                return argument[0].join(str(part) for part in parts)
        return Unknown("Fn::Join is not readable")
    if function == "Fn::Select":
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list):
            try:
                return argument[1][int(argument[0])]
            except (TypeError, ValueError, IndexError):
                pass
        return Unknown("Fn::Select is not readable")
    if function == "Fn::Split":
        if isinstance(argument, list) and len(argument) == 2 and all(isinstance(a, str) for a in argument):
            if argument[0]:
                return argument[1].split(argument[0])
        return Unknown("Fn::Split is not readable")
    if function == "Fn::FindInMap":
        return _find_in_map(argument, mappings)
    if function == "Fn::Base64":
        if isinstance(argument, str):
            return base64.b64encode(argument.encode()).decode()
        return Unknown("Fn::Base64 is not readable")
    if function == "Fn::ToJsonString":
        return json.dumps(_plain_json(argument), separators=(",", ":"))
    if function == "Fn::Length":
        return len(argument) if isinstance(argument, list) else Unknown("Fn::Length is not readable")
    if function == "Fn::ImportValue":
        return Unknown(f"Fn::ImportValue {argument} is another stack's export")
    return Unknown(f"{function} is known only once deployed")


def _find_in_map(argument: Any, mappings: Mapping[str, Any]) -> Any:
    if not isinstance(argument, list) or len(argument) not in (3, 4):
        return Unknown("Fn::FindInMap is not readable")
    names = argument[:3]
    default = argument[3].get("DefaultValue", NO_VALUE) if len(argument) == 4 and isinstance(
        argument[3], dict) else NO_VALUE
    found: Any = mappings
    for name in names:
        if not isinstance(found, dict) or not isinstance(name, str | int) or str(name) not in found:
            if default is not NO_VALUE:
                return default
            return Unknown(f"Fn::FindInMap {'/'.join(map(str, names))} is not in the mappings")
        found = found[str(name)]
    return found


def _plain_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v) for v in value]
    return str(value) if isinstance(value, str) else value
