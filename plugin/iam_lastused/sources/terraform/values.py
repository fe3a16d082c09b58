"""Terraform expressions evaluated, from the typed nodes `hcl` parses them into (`syntax`).

Whatever cannot be known before apply becomes `Unknown(reason)`, and the values that
matter for policies keep where they came from, so a statement can be tied to its
file:line and an attachment to the resource it names.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from iam_lastused.model import InputError, Location, Statement
from iam_lastused.policy import UNKNOWN_PART, PolicyDoc, from_document, from_json, strings
from iam_lastused.sources.terraform.hcl import template_expr
from iam_lastused.sources.terraform.syntax import (
    AttrStep,
    Binary,
    Block,
    Call,
    Conditional,
    Expr,
    For,
    GetAttr,
    Heredoc,
    Index,
    Literal,
    ObjectCons,
    Splat,
    Template,
    TupleCons,
    Unary,
    Unevaluated,
    Variable,
)
from iam_lastused.sources.unknown import Unknown

# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


class Text(str):
    """A string that remembers where its text was written (so statements parsed from
    it get their own file:line) or which resource it names (so an attachment whose
    `role` is `aws_iam_role.x.name` finds that role). `holes` lists why parts of a
    rendered template are unknown; each such part reads as UNKNOWN_PART."""

    file: str | None = None
    line: int | None = None
    resource: Any = None
    holes: tuple[str, ...] = ()



def text(
    value: str,
    file: str | None = None,
    line: int | None = None,
    resource: Any = None,
    holes: tuple[str, ...] = (),
) -> Text:
    result = Text(value)
    result.file, result.line, result.resource, result.holes = file, line, resource, holes
    return result


class HclObject(dict):
    """An object expression's value, with the place it was written."""

    location: Location | None = None


@dataclass(frozen=True)
class Encoded:
    """The result of jsonencode(value), kept as the value so that an unknown part (a
    computed Resource) does not hide the parts that are known (the actions)."""

    value: Any


class Namespace:
    """Something addressed by attribute (var, local, a module's outputs, a resource):
    its members are computed when read. Indexing one that stands for count/for_each
    instances gives the namespace itself: every instance has the same definition."""

    def __init__(self, get: Callable[[str], Any], instances: bool = False) -> None:
        self.get = get
        self.instances = instances


class Scope(Protocol):
    file: str

    def root(self, name: str) -> Any: ...

    def read(self, path: str, line: int | None) -> Text | Unknown: ...

    def error(self, error: InputError) -> None: ...


class _TemplateScope:
    """The scope of a templatefile() template: its variables and nothing else."""

    def __init__(self, variables: Any, outer: Scope) -> None:
        self.variables = variables if isinstance(variables, dict) else {}
        self.outer = outer
        self.file = outer.file

    def root(self, name: str) -> Any:
        return self.variables.get(name, Unknown(f"{name} is not passed to templatefile()"))

    def read(self, path: str, line: int | None) -> Text | Unknown:
        return self.outer.read(path, line)

    def error(self, error: InputError) -> None:
        self.outer.error(error)


class _QuietScope:
    """The scope of try() and can() arguments: an error there is the value's (try moves
    on, can is false), not the code's, so it is not reported."""

    def __init__(self, outer: Scope) -> None:
        self.outer = outer
        self.file = outer.file

    def root(self, name: str) -> Any:
        return self.outer.root(name)

    def read(self, path: str, line: int | None) -> Text | Unknown:
        return self.outer.read(path, line)

    def error(self, error: InputError) -> None:
        pass


class _BoundScope:
    """Names bound over an outer scope: a for expression's key and value."""

    def __init__(self, names: dict[str, Any], outer: Scope) -> None:
        self.names, self.outer = names, outer
        self.file = outer.file

    def root(self, name: str) -> Any:
        return self.names[name] if name in self.names else self.outer.root(name)

    def read(self, path: str, line: int | None) -> Text | Unknown:
        return self.outer.read(path, line)

    def error(self, error: InputError) -> None:
        self.outer.error(error)


def _inside_template(scope: Scope) -> bool:
    while isinstance(scope, (_QuietScope, _BoundScope)):
        scope = scope.outer
    return isinstance(scope, _TemplateScope)


# Characters of a string, or items of a list or object: locals that each double the one
# before would ask for terabytes; a value past this is not evaluated.
_MAX_VALUE_SIZE = 1 << 24


def evaluate(expr: Expr, scope: Scope) -> Any:
    try:
        value = _evaluate(expr, scope)
    except RecursionError:  # a chain of references or a nesting deeper than the stack
        return Unknown("nested too deeply to evaluate")
    if isinstance(value, str | list | dict) and len(value) > _MAX_VALUE_SIZE:
        return Unknown(f"a value of over {_MAX_VALUE_SIZE:,} characters or items is not evaluated")
    return value


def _evaluate(expr: Expr, scope: Scope) -> Any:
    match expr:  # the most frequent kinds first
        case Literal():
            return expr.value
        case Variable():
            return scope.root(expr.name)
        case GetAttr():
            return _get_attr(evaluate(expr.base, scope), expr.name)
        case Template():
            return _render(expr.parts, scope)
        case Call():
            return _eval_call(expr, scope)
        case ObjectCons():
            return _eval_object(expr, scope)
        case TupleCons():
            return [evaluate(item, scope) for item in expr.items]
        case Index():
            return _index(evaluate(expr.base, scope), evaluate(expr.key, scope))
        case Conditional():
            return _eval_conditional(expr, scope)
        case Binary():
            return _eval_binary(expr, scope)
        case For():
            return _eval_for(expr, scope)
        case Heredoc():
            return _render_with_holes(expr.template, scope, scope.file, expr.line)
        case Splat():
            return _eval_splat(expr, scope)
        case Unary():
            return _eval_unary(expr, scope)
        case Unevaluated():
            return Unknown(expr.reason)
    raise TypeError(f"not an expression: {type(expr).__name__}")


def _first_unknown(values: Iterable[Any]) -> Unknown | None:
    return next((value for value in values if isinstance(value, Unknown)), None)


def _get_attr(value: Any, name: str) -> Any:
    if isinstance(value, Namespace):
        return value.get(name)
    if isinstance(value, Unknown):
        return value
    if isinstance(value, dict):
        return value.get(name, Unknown(f"no attribute {name}", error=True))
    return Unknown(f"cannot read .{name} here", error=True)


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Namespace):
        if value.instances:
            return value
        return value.get(key) if isinstance(key, str) else Unknown("not indexable")
    unknown = _first_unknown((value, key))
    if unknown:
        return replace(unknown, resource=None)
    if isinstance(value, list) and _is_number(key) and float(key).is_integer():
        if 0 <= key < len(value):
            return value[int(key)]
        return Unknown(f"index {key} out of range", error=True)
    if isinstance(value, dict) and isinstance(key, str):
        return value.get(key, Unknown(f"no key {key}", error=True))
    return Unknown("not indexable", error=True)


def _eval_splat(expr: Splat, scope: Scope) -> Any:
    base = evaluate(expr.base, scope)
    if isinstance(base, Unknown):
        return base
    items = base if isinstance(base, list) else [] if base is None else [base]
    found = []
    for item in items:
        for step in expr.steps:
            if isinstance(step, AttrStep):
                item = _get_attr(item, step.name)
            else:
                item = _index(item, evaluate(step.key, scope))
        found.append(item)
    return found


def _eval_object(expr: ObjectCons, scope: Scope) -> Any:
    result = HclObject()
    result.location = Location(scope.file, expr.line)
    for key_expr, value_expr in expr.items:
        key = _string_of(evaluate(key_expr, scope))
        if not isinstance(key, str):
            return Unknown(key.reason if isinstance(key, Unknown) else "an object key is not a string")
        result[str(key)] = evaluate(value_expr, scope)
    return result


def _string_of(value: Any) -> str | Unknown | None:
    """The value as Terraform converts it to a string (interpolated in a template, given
    for a string argument); None where it has no string form (a collection, null)."""
    if isinstance(value, Text) and value.holes:
        return Unknown(value.holes[0])
    if isinstance(value, (str, Unknown)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Encoded):
        return _json_text(value.value)
    if isinstance(value, PolicyDoc):
        return Unknown("a policy document's JSON is rendered by Terraform")
    if isinstance(value, Namespace):
        return Unknown("not a plain value")
    return None


def as_string(value: Any) -> str | Unknown:
    """The value as a string (a name, say): never the text of something not known."""
    found = _string_of(value)
    if found is None:
        return Unknown("null" if value is None else "a collection is used as a string")
    return found


def _json_text(value: Any) -> str | Unknown:
    plain = _plain(value)
    if isinstance(plain, Unknown):
        return plain
    return json.dumps(plain, separators=(",", ":"), sort_keys=True)  # Terraform sorts keys too


def _plain(value: Any) -> Any:
    """The value as JSON data, or the first reason part of it is not known."""
    if isinstance(value, (Unknown, Namespace, PolicyDoc)):
        return value if isinstance(value, Unknown) else Unknown("not a plain value")
    if isinstance(value, Encoded):
        return _json_text(value.value)
    if isinstance(value, list):
        items = [_plain(item) for item in value]
        return _first_unknown(items) or items
    if isinstance(value, dict):
        entries = {key: _plain(item) for key, item in value.items()}
        return _first_unknown(entries.values()) or entries
    if isinstance(value, str):
        return _string_of(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # Terraform's JSON writes 1.0 as 1
    return value


def _render(parts: list[str | Expr], scope: Scope) -> Any:
    if len(parts) == 1 and not isinstance(parts[0], str):
        return evaluate(parts[0], scope)
    pieces = []
    for part in parts:
        piece = part if isinstance(part, str) else as_string(evaluate(part, scope))
        if isinstance(piece, Unknown):
            return Unknown(piece.reason)
        pieces.append(piece)
    return "".join(pieces)


def _render_with_holes(expr: Expr, scope: Scope, file: str | None, line: int | None) -> Any:
    """A template rendered for use as a document: unknown parts become UNKNOWN_PART rather
    than making the whole text unknown, so the rest of the JSON can still be read."""
    if isinstance(expr, Literal):
        parts: list[str | Expr] = [expr.value]
    elif isinstance(expr, Template):
        parts = expr.parts
    else:
        return evaluate(expr, scope)
    pieces, holes = [], []
    for part in parts:
        piece = part if isinstance(part, str) else as_string(evaluate(part, scope))
        if isinstance(piece, Unknown):
            holes.append(piece.reason)
            piece = UNKNOWN_PART
        pieces.append(piece)
    return text("".join(pieces), file=file, line=line, holes=tuple(holes))


def _operand_bool(value: Any) -> Any:
    """A bool operand as Terraform converts it: "true" and "false" are bools too."""
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    return value


def _eval_conditional(expr: Conditional, scope: Scope) -> Any:
    condition = _operand_bool(evaluate(expr.condition, scope))
    if isinstance(condition, bool):
        return evaluate(expr.if_true if condition else expr.if_false, scope)
    if isinstance(condition, Unknown):
        if_true, if_false = evaluate(expr.if_true, scope), evaluate(expr.if_false, scope)
        if if_true == if_false and not _first_unknown((if_true, if_false)):
            return if_true
        return Unknown(condition.reason)
    return Unknown("a condition is not a bool")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    """Terraform's ==: a bool is never equal to a number (Python's True == 1)."""
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _eval_binary(expr: Binary, scope: Scope) -> Any:
    name, left, right = expr.operator, evaluate(expr.left, scope), evaluate(expr.right, scope)
    if name in ("&&", "||"):
        return _logical(name, _operand_bool(left), _operand_bool(right))
    left, right = (as_string(value) if isinstance(value, Encoded) else value for value in (left, right))
    unknown = _first_unknown((left, right))
    if unknown:
        return Unknown(unknown.reason)
    if name in ("==", "!="):
        return _equal(left, right) == (name == "==")
    if name in _ARITHMETIC and _is_number(left) and _is_number(right):
        try:
            return _ARITHMETIC[name](left, right)
        except ZeroDivisionError:
            return Unknown("division by zero")
    return Unknown(f"operator {name} on values it does not apply to")


def _logical(name: str, left: Any, right: Any) -> Any:
    """`&&` and `||` settled by one side when it decides the result whatever the other
    bool is (false && x is false, true || x is true): so is the value once the other
    side is known, and Terraform needs it known wherever it plans with it (count,
    for_each). An operand that is an error (a missing attribute) is one for both."""
    decides = name == "||"
    errors = [value for value in (left, right) if isinstance(value, Unknown) and value.error]
    if errors:
        return Unknown(errors[0].reason, error=True)
    others_fit = all(isinstance(value, (bool, Unknown)) for value in (left, right))
    if others_fit and (left is decides or right is decides):
        return decides
    unknown = _first_unknown((left, right))
    if unknown:
        return Unknown(unknown.reason)
    if isinstance(left, bool) and isinstance(right, bool):
        return not decides
    return Unknown(f"operator {name} on values it does not apply to")


def _eval_unary(expr: Unary, scope: Scope) -> Any:
    value = evaluate(expr.operand, scope)
    if isinstance(value, Unknown):
        return Unknown(value.reason)
    if expr.operator == "!" and isinstance(_operand_bool(value), bool):
        return not _operand_bool(value)
    if expr.operator == "-" and _is_number(value):
        return -value
    return Unknown(f"operator {expr.operator} on a value it does not apply to")


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------


class FunctionError(Exception):
    """A call Terraform refuses ("Error in function call"), in its words."""

    summary = "Error in function call"


class ArgumentError(FunctionError):
    """An argument of a type the function does not take ("Invalid function argument")."""

    summary = "Invalid function argument"


class _NotKnown(Exception):
    """An argument, or a part of one, that is not known: so is the call."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.reason)
        self.unknown = unknown


def _known(value: Any) -> Any:
    if isinstance(value, Unknown):
        raise _NotKnown(Unknown(value.reason))
    if isinstance(value, Namespace):
        raise _NotKnown(Unknown("not a plain value"))
    return value


def _string(value: Any) -> str:
    """A string argument, as Terraform converts numbers, bools and encoded JSON to one."""
    found = _string_of(_not_null(value))
    if found is None:
        raise ArgumentError("string required")
    return str(_known(found))


def _not_null(value: Any) -> Any:
    if value is None:
        raise ArgumentError("argument must not be null")
    return value


_DECIMAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\Z")


def _number(value: Any) -> int | float:
    """A number argument: a number, or a string holding one in decimal."""
    value = _known(_not_null(value))
    if _is_number(value):
        return value
    if isinstance(value, str) and _DECIMAL.match(value):
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if isinstance(value, str):  # the string is the code's: not shown
        raise ArgumentError("cannot convert this string to number; given string must be a "
                            "decimal representation of a number")
    raise ArgumentError(f"cannot convert {_type_name(value)} to number")


def _bool(value: Any) -> bool:
    value = _operand_bool(_known(_not_null(value)))
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        raise ArgumentError('cannot convert this string to bool; only the strings "true" or '
                            '"false" are allowed')
    raise ArgumentError(f"cannot convert {_type_name(value)} to bool")


def _list(value: Any) -> list[Any]:
    value = _known(_not_null(value))
    if isinstance(value, list):
        return value
    raise ArgumentError("list, set or tuple required")


def _map(value: Any) -> dict[str, Any]:
    value = _known(_not_null(value))
    if isinstance(value, dict):
        return value
    raise ArgumentError("map or object required")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "tuple"


def _templatefile(args: list[Any], scope: Scope, line: int | None) -> Any:
    if _inside_template(scope):  # as in Terraform, which would otherwise recurse without end
        return Unknown("templatefile() cannot be called from a template")
    path, variables = _string(args[0]), _map(args[1])
    content = scope.read(path, line)
    if isinstance(content, Unknown):
        return content
    inner = _TemplateScope(variables, scope)
    return _render_with_holes(template_expr(content), inner, content.file, 1)


def _jsondecode(args: list[Any], scope: Scope, line: int | None) -> Any:
    source = args[0] if isinstance(args[0], str) else _string(args[0])  # holes read as UNKNOWN_PART
    try:
        return json.loads(source)
    except json.JSONDecodeError as error:
        raise FunctionError(f"invalid JSON at line {error.lineno}, column {error.colno}") from None


def _join(args: list[Any], scope: Scope, line: int | None) -> Any:
    separator = _string(args[0])
    return separator.join(_string(item) for items in args[1:] for item in _list(items))


_FORMAT_VERB = re.compile(r"%[-+# 0-9.*\[\]]*[a-zA-Z%]?")


def _format(args: list[Any], scope: Scope, line: int | None) -> Any:
    template, values = _string(args[0]), list(args[1:])
    pieces: list[str] = []
    position = 0
    for match in _FORMAT_VERB.finditer(template):
        pieces.append(template[position : match.start()])
        position = match.end()
        verb = match.group()
        if verb == "%%":
            pieces.append("%")
            continue
        if verb not in ("%s", "%d", "%v"):
            return Unknown(f"format() with the verb {verb} is not evaluated")
        if not values:
            raise FunctionError("not enough arguments for the format string")
        value = values.pop(0)
        if verb == "%d":
            number = _number(value)
            if not float(number).is_integer():
                raise ArgumentError("%d requires an integer")
            pieces.append(str(int(number)))
        elif verb == "%v" and isinstance(_known(value), (list, dict)):
            return Unknown("format() %v of a collection is not evaluated")
        else:
            pieces.append(_string(value))
    if values:
        raise FunctionError("too many arguments; no verbs left to consume them")
    pieces.append(template[position:])
    return "".join(pieces)


def _concat(args: list[Any], scope: Scope, line: int | None) -> Any:
    return [item for arg in args for item in _list(arg)]


def _merge(args: list[Any], scope: Scope, line: int | None) -> Any:
    return {key: value for arg in args if arg is not None for key, value in _map(arg).items()}


def _try(args: list[Any], scope: Scope, line: int | None) -> Any:
    """The first argument that evaluates without an error (an unknown one stays unknown)."""
    for arg in args:
        if not (isinstance(arg, Unknown) and arg.error):
            return arg
    return Unknown("try(): no argument could be evaluated")


def _can(args: list[Any], scope: Scope, line: int | None) -> Any:
    """Whether the argument evaluates without an error: unknown while it is not known."""
    value = args[0]
    if isinstance(value, Unknown):
        return False if value.error else Unknown(value.reason)
    return True


def _coalesce(args: list[Any], scope: Scope, line: int | None) -> Any:
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        if arg is not None and arg != "":
            return arg
    return Unknown("coalesce(): no non-null, non-empty argument", error=True)


def _coalescelist(args: list[Any], scope: Scope, line: int | None) -> Any:
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        if isinstance(arg, list) and arg:
            return arg
    return []


def _flatten(value: Any) -> list[Any]:
    flat: list[Any] = []
    for item in _list(value):
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def _distinct(items: list[Any]) -> list[Any]:
    kept: list[Any] = []
    for item in items:
        if not any(_equal(item, other) for other in kept):
            kept.append(item)
    return kept


class TerraformSet(list[Any]):
    """A set, kept as the list of its elements in Terraform's order. It is a list to
    every function that takes one; a `for` over it binds each element as key and value."""


def _toset(value: Any) -> Any:
    """A set, as Terraform iterates it: strings in lexical order, numbers in theirs, each
    once."""
    distinct = _distinct(_list(value))
    if all(isinstance(item, str) and not isinstance(item, Unknown) for item in distinct):
        return TerraformSet(sorted(distinct))
    if all(_is_number(item) for item in distinct):
        return TerraformSet(sorted(distinct))
    return TerraformSet(distinct)


def _set_elements(args: list[Any]) -> list[list[Any]]:
    """The elements of each set argument, of one type as Terraform unifies them: where
    they mix strings, numbers and bools, all strings."""
    sets = [_list(arg) for arg in args]
    items = [_known(item) for elements in sets for item in elements]
    kinds = {_type_name(item) for item in items}
    if len(kinds) > 1 and kinds <= {"string", "number", "bool"}:
        return [[_string(item) for item in elements] for elements in sets]
    return sets


def _setunion(args: list[Any], scope: Scope, line: int | None) -> Any:
    return _toset([item for elements in _set_elements(args) for item in elements])


def _setintersection(args: list[Any], scope: Scope, line: int | None) -> Any:
    first, *others = _set_elements(args)
    return _toset([item for item in first if all(any(_equal(item, o) for o in other) for other in others)])


def _contains(args: list[Any], scope: Scope, line: int | None) -> Any:
    """As Terraform: true on a match, unknown where an unknown element may match."""
    elements = _list(args[0])
    if any(_equal(item, args[1]) for item in elements if not isinstance(item, Unknown)):
        return True
    unknown = _first_unknown(elements)
    return Unknown(unknown.reason) if unknown else False


def _any_or_all(args: list[Any], decides: bool) -> Any:
    """anytrue (a true decides) and alltrue (a false does), as Terraform: an unknown
    element leaves the result unknown unless another decides it."""
    elements = _list(args[0])
    unknown = None
    for element in elements:
        if isinstance(element, Unknown):
            unknown = unknown or element
        elif _bool(element) is decides:
            return decides
    return Unknown(unknown.reason) if unknown else not decides


def _zipmap(args: list[Any], scope: Scope, line: int | None) -> Any:
    keys, values = _list(args[0]), _list(args[1])
    if len(keys) != len(values):
        raise FunctionError(f"number of keys ({len(keys)}) does not match number of values ({len(values)})")
    return {_string(key): value for key, value in zip(keys, values, strict=True)}


def _one(value: Any) -> Any:
    items = _list(value)
    if len(items) > 1:
        raise FunctionError("must be a list, set, or tuple value with either zero or one elements")
    return items[0] if items else None


def _length(value: Any) -> int:
    value = _known(_not_null(value))
    if isinstance(value, (list, dict, str)):
        return len(value)
    if isinstance(value, Encoded):
        return len(_string(value))
    raise FunctionError("argument must be a string, a collection type, or a structural type")


def _element(args: list[Any], scope: Scope, line: int | None) -> Any:
    items, index = _list(args[0]), _number(args[1])
    if not items:
        raise FunctionError("cannot use element function with an empty list")
    if not float(index).is_integer() or index < 0:
        raise FunctionError("invalid index: value must be a whole number that is not negative")
    return items[int(index) % len(items)]


def _lookup(args: list[Any], scope: Scope, line: int | None) -> Any:
    mapping, key = _map(args[0]), _string(args[1])
    if key in mapping:
        return mapping[key]
    if len(args) > 2:
        return args[2]
    return Unknown(f"lookup(): no key {key}", error=True)


def _replace(args: list[Any], scope: Scope, line: int | None) -> Any:
    text_value, search, replacement = (_string(arg) for arg in args)
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        # Terraform's RE2 never backtracks; Python's re can, for a very long time, on code
        # from a pull request: a regular expression is not evaluated
        return Unknown("replace() with a regular expression is not evaluated")
    return text_value.replace(search, replacement)


def _substr(args: list[Any], scope: Scope, line: int | None) -> Any:
    """substr(string, offset, length): a negative offset counts from the end, a negative
    length takes the rest (by characters; Terraform counts grapheme clusters)."""
    text_value, offset, length = _string(args[0]), int(_number(args[1])), int(_number(args[2]))
    start = max(offset + len(text_value) if offset < 0 else offset, 0)
    return text_value[start:] if length < 0 else text_value[start:start + length]


def _split(args: list[Any], scope: Scope, line: int | None) -> Any:
    separator, value = _string(args[0]), _string(args[1])
    if not value:
        return [""]
    return value.split(separator) if separator else list(value)


def _converted(convert: Callable[[Any], Any]) -> Callable[[list[Any], Scope, int | None], Any]:
    """A type conversion function (tonumber...): null stays null."""
    return lambda args, scope, line: None if args[0] is None else convert(args[0])


def _tostring(value: Any) -> str:
    if isinstance(_known(value), (list, dict)):
        raise ArgumentError(f"cannot convert {_type_name(value)} to string")
    return _string(value)


def _strings(function: Callable[..., Any]) -> Callable[[list[Any], Scope, int | None], Any]:
    """A function of strings only."""
    return lambda args, scope, line: function(*(_string(arg) for arg in args))


# ---------------------------------------------------------------------------
# The AWS provider's functions (provider::aws::...)
# ---------------------------------------------------------------------------

_ARN_PARTS = ("partition", "service", "region", "account_id", "resource")


def _arn_parse(value: str) -> dict[str, str]:
    """The parts of an ARN, as the provider's arn_parse gives them (aws-sdk-go's arn.Parse)."""
    if not value.startswith("arn:"):
        raise FunctionError("arn: invalid prefix")
    sections = value.split(":", 5)
    if len(sections) != 6:
        raise FunctionError("arn: not enough sections")
    return dict(zip(_ARN_PARTS, sections[1:], strict=True))


def _arn_build(*parts: str) -> str:
    return ":".join(("arn", *parts))


def _trim_iam_role_path(value: str) -> str:
    """A role's ARN without its path: `role/a/b/name` becomes `role/name`."""
    parts = _arn_parse(value)
    if not parts["resource"].startswith("role/"):
        raise FunctionError('resource must begin with "role/"')
    name = parts["resource"].rsplit("/", 1)[-1]
    return _arn_build(*(parts[part] for part in _ARN_PARTS[:-1]), f"role/{name}")


@dataclass(frozen=True)
class _Function:
    """A Terraform function: what it does with its arguments (evaluated), how many it
    takes, and whether it looks at unknown ones itself (the others are unknown with
    any) and at errors (try(), can()), which are then not reported."""

    call: Callable[[list[Any], Scope, int | None], Any]
    least: int
    most: int | None
    takes_unknowns: bool = False
    takes_errors: bool = False


def _of(call: Callable[[Any], Any]) -> Callable[[list[Any], Scope, int | None], Any]:
    """A function of its one argument."""
    return lambda args, scope, line: call(args[0])


_FUNCTIONS: dict[str, _Function] = {
    "jsonencode": _Function(_of(Encoded), 1, 1, takes_unknowns=True),
    "jsondecode": _Function(_jsondecode, 1, 1),
    "file": _Function(lambda args, scope, line: scope.read(_string(args[0]), line), 1, 1),
    "templatefile": _Function(_templatefile, 2, 2),
    "concat": _Function(_concat, 1, None),
    "merge": _Function(_merge, 0, None),
    "tolist": _Function(_converted(lambda value: list(_list(value))), 1, 1),
    "toset": _Function(_converted(_toset), 1, 1),
    "tomap": _Function(_converted(_map), 1, 1),
    "tostring": _Function(_converted(_tostring), 1, 1),
    "tonumber": _Function(_converted(_number), 1, 1),
    "tobool": _Function(_converted(_bool), 1, 1),
    "lower": _Function(_strings(str.lower), 1, 1),
    "upper": _Function(_strings(str.upper), 1, 1),
    "title": _Function(
        _strings(lambda value: re.sub(r"\b\w", lambda match: match.group().upper(), value)), 1, 1
    ),
    "trimprefix": _Function(_strings(str.removeprefix), 2, 2),
    "trimsuffix": _Function(_strings(str.removesuffix), 2, 2),
    "startswith": _Function(_strings(str.startswith), 2, 2),
    "endswith": _Function(_strings(str.endswith), 2, 2),
    "basename": _Function(_strings(lambda value: value.rstrip("/").rsplit("/", 1)[-1]), 1, 1),
    "replace": _Function(_replace, 3, 3),
    "split": _Function(_split, 2, 2),
    "substr": _Function(_substr, 3, 3),
    "join": _Function(_join, 2, None),
    "format": _Function(_format, 1, None),
    "try": _Function(_try, 1, None, takes_unknowns=True, takes_errors=True),
    "can": _Function(_can, 1, 1, takes_unknowns=True, takes_errors=True),
    "coalesce": _Function(_coalesce, 1, None, takes_unknowns=True),
    "coalescelist": _Function(_coalescelist, 1, None, takes_unknowns=True),
    "compact": _Function(
        _of(lambda items: [_string(item) for item in _list(items) if item is not None and item != ""]), 1, 1
    ),
    "flatten": _Function(_of(_flatten), 1, 1),
    "distinct": _Function(_of(lambda items: _distinct(_list(items))), 1, 1),
    "one": _Function(_of(_one), 1, 1),
    "length": _Function(_of(_length), 1, 1),
    "keys": _Function(_of(lambda mapping: sorted(_map(mapping))), 1, 1),
    "values": _Function(_of(lambda mapping: [_map(mapping)[key] for key in sorted(_map(mapping))]), 1, 1),
    "element": _Function(_element, 2, 2),
    "lookup": _Function(_lookup, 2, 3),
    "contains": _Function(_contains, 2, 2),
    "anytrue": _Function(lambda args, scope, line: _any_or_all(args, True), 1, 1),
    "alltrue": _Function(lambda args, scope, line: _any_or_all(args, False), 1, 1),
    "zipmap": _Function(_zipmap, 2, 2),
    "setunion": _Function(_setunion, 1, None),
    "setintersection": _Function(_setintersection, 1, None),
    "provider::aws::arn_build": _Function(_strings(_arn_build), 5, 5),
    "provider::aws::arn_parse": _Function(_strings(_arn_parse), 1, 1),
    "provider::aws::trim_iam_role_path": _Function(_strings(_trim_iam_role_path), 1, 1),
}


def _eval_call(expr: Call, scope: Scope) -> Any:
    name = expr.name
    function = _FUNCTIONS.get(name)
    if function is None:
        return Unknown(f"{name}() is not evaluated")
    args = [evaluate(arg, _QuietScope(scope) if function.takes_errors else scope) for arg in expr.args]
    if len(args) < function.least or (function.most is not None and len(args) > function.most):
        summary = "Not enough" if len(args) < function.least else "Too many"
        return _refused(scope, expr, f"{summary} function arguments", f"it takes {_arity(function)}")
    unknown = None if function.takes_unknowns else _first_unknown(args)
    if unknown:
        return replace(unknown, resource=None)
    try:
        return function.call(args, scope, expr.line)
    except _NotKnown as not_known:
        return not_known.unknown
    except FunctionError as error:
        return _refused(scope, expr, error.summary, str(error))


def _arity(function: _Function) -> str:
    if function.most is None:
        return f"at least {function.least} argument(s)"
    if function.most == function.least:
        return f"{function.least} argument(s)"
    return f"{function.least} to {function.most} arguments"


def _refused(scope: Scope, expr: Call, summary: str, detail: str) -> Unknown:
    """A call Terraform refuses: said at its file:line, and an error for try() and can()."""
    scope.error(InputError(f"{summary}: {expr.name}(): {detail}", scope.file, expr.line))
    return Unknown(f"{expr.name}(): {detail}", error=True)


def _eval_for(expr: For, scope: Scope) -> Any:
    """`[for k, v in c : value if cond]` and `{for k, v in c : key => value...}` as
    Terraform makes them: a map is read in the order of its keys."""
    collection = evaluate(expr.collection, scope)
    if isinstance(collection, Unknown):
        return Unknown(collection.reason)
    if isinstance(collection, dict):
        pairs: list[tuple[Any, Any]] = [(key, collection[key]) for key in sorted(collection)]
    elif isinstance(collection, TerraformSet):
        pairs = [(item, item) for item in collection]
    elif isinstance(collection, list):
        pairs = list(enumerate(collection))
    else:
        return Unknown("a for expression over something that is not a collection")
    if len(pairs) > _MAX_VALUE_SIZE:
        return Unknown(f"a for expression over more than {_MAX_VALUE_SIZE:,} items is not evaluated")
    items: list[Any] = []
    entries: dict[str, Any] = {}
    for key, value in pairs:
        names = {expr.value_name: value} | ({expr.key_name: key} if expr.key_name else {})
        inner = _BoundScope(names, scope)
        if expr.condition is not None:
            keep = _operand_bool(evaluate(expr.condition, inner))
            if isinstance(keep, Unknown):
                return Unknown(keep.reason)
            if not isinstance(keep, bool):
                return Unknown("a for expression's condition is not a bool")
            if not keep:
                continue
        if expr.key is None:
            items.append(evaluate(expr.value, inner))
            continue
        entry_key = _string_of(evaluate(expr.key, inner))
        if not isinstance(entry_key, str):
            return Unknown(why_unknown(entry_key) or "a for expression's key is not a string")
        entry_value = evaluate(expr.value, inner)
        if expr.grouping:
            entries.setdefault(str(entry_key), []).append(entry_value)
        elif str(entry_key) in entries:
            return Unknown(f"a for expression makes the key {entry_key} twice", error=True)
        else:
            entries[str(entry_key)] = entry_value
    return items if expr.key is None else entries


def as_declared(value: Any, type_expr: Expr | None, scope: Scope) -> Any:
    """A variable's value as its declared type makes it: a list given for a `set(...)`
    is a set, and an `object({...})` gets its `optional(type, default)` attributes that
    are not given (the default, else null), through `map`, `list`, `set` and `tuple`;
    any other type leaves the value as it is. (A `.tf.json` type is a string: only
    `set(...)` is read from it.)"""
    if isinstance(type_expr, Literal):
        written = str(type_expr.value)
        return _toset(value) if written.startswith("set(") and isinstance(value, list) else value
    if not isinstance(type_expr, Call) or len(type_expr.args) != 1:
        return value
    kind, inner = type_expr.name, type_expr.args[0]
    if kind in ("list", "set", "tuple") and isinstance(value, list):
        items = [as_declared(item, inner, scope) for item in value]
        return _toset(items) if kind == "set" else items
    if kind == "map" and isinstance(value, dict):
        return {key: as_declared(item, inner, scope) for key, item in value.items()}
    if kind == "object" and isinstance(value, dict) and isinstance(inner, ObjectCons):
        return _with_optionals(value, inner, scope)
    return value


def _with_optionals(value: dict[str, Any], object_type: ObjectCons, scope: Scope) -> dict[str, Any]:
    found = dict(value)
    for key_expr, attribute_type in object_type.items:
        name = evaluate(key_expr, scope)
        if not isinstance(name, str):
            continue
        is_optional = isinstance(attribute_type, Call) and attribute_type.name == "optional"
        optional = attribute_type.args if isinstance(attribute_type, Call) and is_optional else None
        if optional and name not in found:
            default = evaluate(optional[1], scope) if len(optional) > 1 else None
            found[name] = as_declared(default, optional[0], scope)
        elif name in found:
            found[name] = as_declared(found[name], optional[0] if optional else attribute_type, scope)
    return found


# ---------------------------------------------------------------------------
# Policy documents
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Document(PolicyDoc):
    """A policy document as evaluated here, with why it is not fully known."""

    reason: str | None = None


def explained(document: PolicyDoc, reason: str | None) -> Document:
    """`document`, with `reason` when it is not fully known."""
    if isinstance(document, Document) and (document.reason or document.known):
        return document
    why = None if document.known else reason or "part of the policy cannot be read"
    return Document(document.statements, document.known, why)


def why_unknown(value: Any) -> str | None:
    """The reason of the first unknown part of `value`, if any."""
    if isinstance(value, Unknown):
        return value.reason
    if isinstance(value, Text) and value.holes:
        return value.holes[0]
    if isinstance(value, Encoded):
        return why_unknown(value.value)
    if isinstance(value, Document):
        return value.reason
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return next((reason for item in value if (reason := why_unknown(item))), None)
    return None


def policy_document(value: Any, location: Location, report: Callable[[InputError], None]) -> Document:
    """The statements of a policy given as jsonencode(), JSON text or a policy document."""
    if isinstance(value, PolicyDoc):
        return explained(value, why_unknown(value))
    if isinstance(value, Encoded):
        return explained(from_document(
            value.value,
            lambda index, item: item.location if isinstance(item, HclObject) and item.location else location,
        ), why_unknown(value))
    if isinstance(value, str):
        file, line = getattr(value, "file", None), getattr(value, "line", None)
        origin = Location(file, line) if file is not None and line is not None else None
        holes = getattr(value, "holes", ())
        document = from_json(value, location, report, origin, partial=bool(holes))
        return explained(document, holes[0] if holes else "the policy is not valid JSON")
    if value is None:
        return explained(PolicyDoc(known=False), "the policy is null")
    return explained(PolicyDoc(known=False), why_unknown(value) or "the policy is not a document")


def document_from_block(block: Block, outer: Scope) -> Document:
    """A `data "aws_iam_policy_document"`, with its source and override documents merged
    the way the provider does: by Sid, the later document winning."""
    own: list[tuple[str | None, Statement]] = []
    reasons: list[str] = []
    for statement_block, scope in nested_blocks(block, "statement", outer, reasons):
        attrs = statement_block["attrs"]
        effect = evaluate(attrs["effect"], scope) if "effect" in attrs else None
        effect = "Allow" if effect is None else effect  # null is not set, as in the provider
        actions, actions_unknown = _block_actions(attrs.get("actions"), scope)
        not_actions, not_actions_unknown = _block_actions(attrs.get("not_actions"), scope)
        resources, resources_unknown = _block_actions(attrs.get("resources"), scope)
        sid = evaluate(attrs["sid"], scope) if "sid" in attrs else None
        if not isinstance(effect, str):
            reasons.append(f"effect: {why_unknown(effect) or 'not a string'}")
            continue
        reasons.extend(reason for reason in (actions_unknown, not_actions_unknown) if reason)
        location = Location(scope.file, statement_block["line"])
        readable = None if resources_unknown else resources
        statement = Statement(location, effect, actions, not_actions, readable)
        own.append((sid if isinstance(sid, str) else None, statement))
    scope = outer
    location = Location(scope.file, block["line"])
    attrs = block["attrs"]
    sources, sources_unknown = _documents(attrs.get("source_policy_documents"), scope, location)
    overrides, overrides_unknown = _documents(attrs.get("override_policy_documents"), scope, location)
    reasons.extend(reason for reason in (sources_unknown, overrides_unknown) if reason)
    merged = [statement for document in sources for statement in document.statements]
    for document in [PolicyDoc(tuple(own)), *overrides]:
        merged = _merge_statements(merged, document.statements)
    return Document(tuple(merged), not reasons, reasons[0] if reasons else None)


class _IteratorScope:
    """The content of one item of a dynamic block: its iterator, then the outer scope."""

    def __init__(self, name: str, value: dict[str, Any], outer: Scope) -> None:
        self.name, self.value, self.outer = name, value, outer
        self.file = outer.file

    def root(self, name: str) -> Any:
        return self.value if name == self.name else self.outer.root(name)

    def read(self, path: str, line: int | None) -> Text | Unknown:
        return self.outer.read(path, line)

    def error(self, error: InputError) -> None:
        self.outer.error(error)


def nested_blocks(block: Block, name: str, scope: Scope, reasons: list[str]) -> list[tuple[Block, Scope]]:
    """The nested blocks `name` of `block`, `dynamic "<name>"` ones expanded, each with
    the scope it is evaluated in; why any cannot be read goes in `reasons`."""
    return [found for nested in block["blocks"] for found in expanded(nested, name, scope, reasons)]


def expanded(nested: Block, name: str, scope: Scope, reasons: list[str]) -> list[tuple[Block, Scope]]:
    """A nested block as the blocks `name` it makes: itself, or a `dynamic "<name>"`'s
    content for each of its items; none for any other block."""
    if nested["type"] == name:
        return [(nested, scope)]
    if nested["type"] == "dynamic" and nested["labels"] == [name]:
        return _dynamic(nested, scope, reasons)
    return []


def _dynamic(block: Block, scope: Scope, reasons: list[str]) -> list[tuple[Block, Scope]]:
    content = next((nested for nested in block["blocks"] if nested["type"] == "content"), None)
    if content is None or "for_each" not in block["attrs"]:
        return []
    label = block["labels"][0]
    iterator = block["attrs"].get("iterator")
    name = iterator.name if isinstance(iterator, Variable) else label
    items = evaluate(block["attrs"]["for_each"], scope)
    if isinstance(items, dict):
        pairs = list(items.items())
    elif isinstance(items, TerraformSet):
        pairs = [(item, item) for item in items]
    elif isinstance(items, list):
        pairs = list(enumerate(items))
    else:
        reasons.append(f"a dynamic {label}'s for_each: {why_unknown(items) or 'not a collection'}")
        return []
    placed = content.copy()
    placed["line"] = content["line"] or block["line"]
    return [
        (placed, _IteratorScope(name, {"key": key, "value": value}, scope))
        for key, value in pairs
    ]


def _block_actions(expr: Expr | None, scope: Scope) -> tuple[tuple[str, ...], str | None]:
    """The strings of a statement block's list, and why they are not all known."""
    if expr is None:
        return (), None
    value = evaluate(expr, scope)
    if value is None:  # null is not set
        return (), None
    if not isinstance(value, list):
        return (), why_unknown(value) or "not a list"
    found, known = strings(value)
    return found, None if known else why_unknown(value) or "not a list of strings"


def _documents(expr: Expr | None, scope: Scope, location: Location) -> tuple[list[Document], str | None]:
    if expr is None:
        return [], None
    value = evaluate(expr, scope)
    if not isinstance(value, list):
        return [], why_unknown(value) or "the policy documents are not a list"
    documents = [policy_document(item, location, scope.error) for item in value]
    return documents, next((document.reason for document in documents if document.reason), None)


def _merge_statements(
    base: list[tuple[str | None, Statement]], later: Iterable[tuple[str | None, Statement]]
) -> list[tuple[str | None, Statement]]:
    merged = list(base)
    for sid, statement in later:
        same = next((index for index, (other, _) in enumerate(merged) if sid and other == sid), None)
        if same is None:
            merged.append((sid, statement))
        else:
            merged[same] = (sid, statement)
    return merged


def tag(value: Any, resource: Any) -> Any:
    """The value marked as an attribute of `resource`."""
    if isinstance(value, Unknown):
        return replace(value, resource=resource)
    if isinstance(value, str):
        return text(value, resource=resource)
    return value

