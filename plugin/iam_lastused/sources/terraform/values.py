"""Terraform expressions evaluated, from the form `hcl` parses them into.

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
from iam_lastused.sources.terraform.hcl import Block, Expr, template_expr

# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be known statically, and why. `resource` is the key of the
    IAM resource it is an attribute of, when it is one (`aws_iam_policy.x.arn`)."""

    reason: str
    resource: Any = None
    error: bool = False  # an evaluation error (a missing attribute, key or index): try() moves on


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


# Characters of a string, or items of a list or object: locals that each double the one
# before would ask for terabytes; a value past this is not evaluated.
_MAX_VALUE_SIZE = 1 << 24


def evaluate(expr: Expr, scope: Scope) -> Any:
    try:
        value = _EVALUATORS[expr[0]](expr, scope)
    except RecursionError:  # a chain of references or a nesting deeper than the stack
        return Unknown("nested too deeply to evaluate")
    if isinstance(value, str | list | dict) and len(value) > _MAX_VALUE_SIZE:
        return Unknown(f"a value of over {_MAX_VALUE_SIZE:,} characters or items is not evaluated")
    return value


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
    if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
        if -len(value) <= key < len(value):
            return value[key]
        return Unknown(f"index {key} out of range", error=True)
    if isinstance(value, dict) and isinstance(key, str):
        return value.get(key, Unknown(f"no key {key}", error=True))
    return Unknown("not indexable", error=True)


def _apply_steps(value: Any, steps: list[Expr], scope: Scope) -> Any:
    for step in steps:
        value = _get_attr(value, step[1]) if step[0] == "a" else _index(value, evaluate(step[1], scope))
    return value


def _eval_splat(expr: Expr, scope: Scope) -> Any:
    base = evaluate(expr[1], scope)
    if isinstance(base, Unknown):
        return base
    items = base if isinstance(base, list) else [] if base is None else [base]
    return [_apply_steps(item, expr[2], scope) for item in items]


def _eval_object(expr: Expr, scope: Scope) -> Any:
    result = HclObject()
    result.location = Location(scope.file, expr[2])
    for key_expr, value_expr in expr[1]:
        key = evaluate(key_expr, scope)
        if not isinstance(key, str):
            return Unknown(key.reason if isinstance(key, Unknown) else "an object key is not a string")
        result[str(key)] = evaluate(value_expr, scope)
    return result


def _as_string(value: Any) -> str | Unknown:
    """The value as Terraform would interpolate it into a string."""
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
    return Unknown("a collection is used as a string")


def _json_text(value: Any) -> str | Unknown:
    plain = _plain(value)
    return plain if isinstance(plain, Unknown) else json.dumps(plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
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
    return str(value) if isinstance(value, str) else value


def _render(parts: list[Any], scope: Scope) -> Any:
    if len(parts) == 1 and not isinstance(parts[0], str):
        return evaluate(parts[0], scope)
    pieces = []
    for part in parts:
        piece = part if isinstance(part, str) else _as_string(evaluate(part, scope))
        if isinstance(piece, Unknown):
            return Unknown(piece.reason)
        pieces.append(piece)
    return "".join(pieces)


def _render_with_holes(expr: Expr, scope: Scope, file: str | None, line: int | None) -> Any:
    """A template rendered for use as a document: unknown parts become UNKNOWN_PART rather
    than making the whole text unknown, so the rest of the JSON can still be read."""
    parts = [expr[1]] if expr[0] == "l" else expr[1] if expr[0] == "t" else None
    if parts is None:
        return evaluate(expr, scope)
    pieces, holes = [], []
    for part in parts:
        piece = part if isinstance(part, str) else _as_string(evaluate(part, scope))
        if isinstance(piece, Unknown):
            holes.append(piece.reason)
            piece = UNKNOWN_PART
        pieces.append(piece)
    return text("".join(pieces), file=file, line=line, holes=tuple(holes))


def _eval_heredoc(expr: Expr, scope: Scope) -> Any:
    return _render_with_holes(expr[2], scope, scope.file, expr[1])


def _eval_conditional(expr: Expr, scope: Scope) -> Any:
    condition = evaluate(expr[1], scope)
    if isinstance(condition, bool):
        return evaluate(expr[2] if condition else expr[3], scope)
    if isinstance(condition, Unknown):
        if_true, if_false = evaluate(expr[2], scope), evaluate(expr[3], scope)
        if if_true == if_false and not _first_unknown((if_true, if_false)):
            return if_true
        return Unknown(condition.reason)
    return Unknown("a condition is not a bool")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


def _eval_binary(expr: Expr, scope: Scope) -> Any:
    name, left, right = expr[1], evaluate(expr[2], scope), evaluate(expr[3], scope)
    unknown = _first_unknown((left, right))
    if unknown:
        return Unknown(unknown.reason)
    if name in ("==", "!="):
        return (left == right) == (name == "==")
    if name in ("&&", "||") and isinstance(left, bool) and isinstance(right, bool):
        return (left and right) if name == "&&" else (left or right)
    if name in _ARITHMETIC and _is_number(left) and _is_number(right):
        try:
            return _ARITHMETIC[name](left, right)
        except ZeroDivisionError:
            return Unknown("division by zero")
    return Unknown(f"operator {name} on values it does not apply to")


def _eval_unary(expr: Expr, scope: Scope) -> Any:
    value = evaluate(expr[2], scope)
    if isinstance(value, Unknown):
        return Unknown(value.reason)
    if expr[1] == "!" and isinstance(value, bool):
        return not value
    if expr[1] == "-" and _is_number(value):
        return -value
    return Unknown(f"operator {expr[1]} on a value it does not apply to")


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------


def _templatefile(args: list[Any], scope: Scope, line: int | None) -> Any:
    if isinstance(scope, _TemplateScope):  # as in Terraform, which would otherwise recurse without end
        return Unknown("templatefile() cannot be called from a template")
    content = scope.read(args[0], line)
    if isinstance(content, Unknown):
        return content
    inner = _TemplateScope(args[1] if len(args) > 1 else {}, scope)
    return _render_with_holes(template_expr(content), inner, content.file, 1)


def _join(args: list[Any], scope: Scope, line: int | None) -> Any:
    pieces = [_as_string(item) for item in args[1]]
    return _first_unknown(pieces) or args[0].join(pieces)


_FORMAT_VERB = re.compile(r"%%|%[sdv]")


def _format(args: list[Any], scope: Scope, line: int | None) -> Any:
    values = iter(args[1:])
    pieces: list[str | Unknown] = []
    position = 0
    for match in _FORMAT_VERB.finditer(args[0]):
        pieces.append(args[0][position : match.start()])
        pieces.append("%" if match.group() == "%%" else _as_string(next(values)))
        position = match.end()
    pieces.append(args[0][position:])
    unknown = _first_unknown(pieces)
    return Unknown(unknown.reason) if unknown else "".join(str(piece) for piece in pieces)


def _concat(args: list[Any], scope: Scope, line: int | None) -> Any:
    if not all(isinstance(arg, list) for arg in args):
        return Unknown("concat() of something that is not a list")
    return [item for arg in args for item in arg]


def _merge(args: list[Any], scope: Scope, line: int | None) -> Any:
    if not all(isinstance(arg, dict) for arg in args):
        return Unknown("merge() of something that is not an object")
    return {key: value for arg in args for key, value in arg.items()}


def _try(args: list[Any], scope: Scope, line: int | None) -> Any:
    """The first argument that evaluates without an error (an unknown one stays unknown)."""
    for arg in args:
        if not (isinstance(arg, Unknown) and arg.error):
            return arg
    return Unknown("try(): no argument could be evaluated")


def _can(args: list[Any], scope: Scope, line: int | None) -> Any:
    value = args[0]
    if isinstance(value, Unknown):
        return False if value.error else value
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
    if not isinstance(value, list):
        raise TypeError("flatten() of something that is not a list")
    flat: list[Any] = []
    for item in value:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def _distinct(items: list[Any]) -> list[Any]:
    kept: list[Any] = []
    for item in items:
        if item not in kept:
            kept.append(item)
    return kept


class TerraformSet(list[Any]):
    """A set, kept as the list of its elements in Terraform's order. It is a list to
    every function that takes one; a `for` over it binds each element as key and value."""


def _toset(value: Any) -> Any:
    """A set, as Terraform iterates it: strings in lexical order, each once."""
    if not isinstance(value, list):
        raise TypeError("toset() of something that is not a list")
    distinct = _distinct(value)
    if all(isinstance(item, str) and not isinstance(item, Unknown) for item in distinct):
        return TerraformSet(sorted(distinct))
    return TerraformSet(distinct)


def as_declared(value: Any, type_expr: Expr | None, scope: Scope) -> Any:
    """A variable's value as its declared type makes it: a list given for a `set(...)`
    is a set, and an `object({...})` gets its `optional(type, default)` attributes that
    are not given (the default, else null), through `map`, `list`, `set` and `tuple`;
    any other type leaves the value as it is. (A `.tf.json` type is a string: only
    `set(...)` is read from it.)"""
    if not isinstance(type_expr, list) or not type_expr:
        return value
    if type_expr[0] == "l":
        written = str(type_expr[1])
        return _toset(value) if written.startswith("set(") and isinstance(value, list) else value
    if type_expr[0] != "c" or len(type_expr[2]) != 1:
        return value
    kind, (inner,) = type_expr[1], type_expr[2]
    if kind in ("list", "set", "tuple") and isinstance(value, list):
        items = [as_declared(item, inner, scope) for item in value]
        return _toset(items) if kind == "set" else items
    if kind == "map" and isinstance(value, dict) and not isinstance(value, Namespace):
        return {key: as_declared(item, inner, scope) for key, item in value.items()}
    if kind == "object" and isinstance(value, dict) and inner[0] == "obj":
        return _with_optionals(value, inner, scope)
    return value


def _with_optionals(value: dict[str, Any], object_type: Expr, scope: Scope) -> dict[str, Any]:
    found = dict(value)
    for key_expr, attribute_type in object_type[1]:
        name = evaluate(key_expr, scope)
        if not isinstance(name, str):
            continue
        optional = attribute_type[:2] == ["c", "optional"] and attribute_type[2]
        if optional and name not in found:
            default = evaluate(optional[1], scope) if len(optional) > 1 else None
            found[name] = as_declared(default, optional[0], scope)
        elif name in found:
            found[name] = as_declared(found[name], optional[0] if optional else attribute_type, scope)
    return found


def _one(value: Any) -> Any:
    if not isinstance(value, list) or len(value) > 1:
        raise ValueError("one() of more than one element")
    return value[0] if value else None


def _length(value: Any) -> int:
    if isinstance(value, (list, dict, str)) and not isinstance(value, Namespace):
        return len(value)
    raise TypeError("length() of something that has none")


def _element(items: list[Any], index: int) -> Any:
    if not isinstance(items, list) or not items or isinstance(index, bool):
        raise ValueError("element() of an empty list")
    return items[int(index) % len(items)]


def _lookup(args: list[Any], scope: Scope, line: int | None) -> Any:
    mapping, key = args[0], args[1]
    if not isinstance(mapping, dict) or isinstance(mapping, Namespace):
        raise TypeError("lookup() of something that is not a map")
    if key in mapping:
        return mapping[key]
    if len(args) > 2:
        return args[2]
    return Unknown(f"lookup(): no key {key}", error=True)


def _replace(text_value: str, search: str, replacement: str) -> Any:
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        # Terraform's RE2 never backtracks; Python's re can, for a very long time, on code
        # from a pull request: a regular expression is not evaluated
        return Unknown("replace() with a regular expression is not evaluated")
    return text_value.replace(search, replacement)


def _strings(args: list[Any]) -> list[str]:
    if not all(isinstance(arg, str) for arg in args):
        raise TypeError("not a string")
    return [str(arg) for arg in args]


def _string_function(function: Callable[..., Any]) -> Callable[[list[Any], Scope, int | None], Any]:
    return lambda args, scope, line: function(*_strings(args))


_FUNCTIONS: dict[str, Callable[[list[Any], Scope, int | None], Any]] = {
    "jsonencode": lambda args, scope, line: Encoded(args[0]),
    "jsondecode": lambda args, scope, line: json.loads(args[0]),
    "file": lambda args, scope, line: scope.read(args[0], line),
    "templatefile": _templatefile,
    "concat": _concat,
    "merge": _merge,
    "tolist": lambda args, scope, line: list(args[0]) if isinstance(args[0], list) else _plain_error(),
    "toset": lambda args, scope, line: _toset(args[0]),
    "tomap": lambda args, scope, line: args[0] if isinstance(args[0], dict) else _plain_error(),
    "tostring": lambda args, scope, line: _as_string(args[0]),
    "lower": _string_function(str.lower),
    "upper": _string_function(str.upper),
    "title": _string_function(lambda value: re.sub(r"\b\w", lambda match: match.group().upper(), value)),
    "trimprefix": _string_function(str.removeprefix),
    "trimsuffix": _string_function(str.removesuffix),
    "basename": _string_function(lambda value: value.rstrip("/").rsplit("/", 1)[-1]),
    "replace": _string_function(_replace),
    "split": _string_function(lambda separator, value: value.split(separator) if value else [""]),
    "join": _join,
    "format": _format,
    "try": _try,
    "can": _can,
    "coalesce": _coalesce,
    "coalescelist": _coalescelist,
    "compact": lambda args, scope, line: [item for item in args[0] if item is not None and item != ""],
    "flatten": lambda args, scope, line: _flatten(args[0]),
    "distinct": lambda args, scope, line: _distinct(args[0]),
    "one": lambda args, scope, line: _one(args[0]),
    "length": lambda args, scope, line: _length(args[0]),
    "keys": lambda args, scope, line: sorted(args[0]) if isinstance(args[0], dict) else _plain_error(),
    "values": lambda args, scope, line: [args[0][key] for key in sorted(args[0])],
    "element": lambda args, scope, line: _element(args[0], args[1]),
    "lookup": _lookup,
}
_TAKES_UNKNOWNS = {"jsonencode", "try", "can", "coalesce", "coalescelist"}
"""Functions that look at unknown arguments themselves (the others are unknown with any)."""


def _plain_error() -> Any:
    raise TypeError("not of the expected type")


def _eval_call(expr: Expr, scope: Scope) -> Any:
    name, line = expr[1], expr[3]
    function = _FUNCTIONS.get(name)
    if function is None:
        return Unknown(f"{name}() is not evaluated")
    args = [evaluate(arg, scope) for arg in expr[2]]
    unknown = None if name in _TAKES_UNKNOWNS else _first_unknown(args)
    if unknown:
        return replace(unknown, resource=None)
    try:
        return function(args, scope, line)
    except (TypeError, ValueError, AttributeError, IndexError, StopIteration):
        return Unknown(f"{name}() cannot be evaluated with these arguments")


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


def _eval_for(expr: Expr, scope: Scope) -> Any:
    """`[for k, v in c : value if cond]` and `{for k, v in c : key => value...}` as
    Terraform makes them: a map is read in the order of its keys."""
    _, key_name, value_name, collection_expr, key_expr, value_expr, condition_expr, grouping = expr
    collection = evaluate(collection_expr, scope)
    if isinstance(collection, Unknown):
        return Unknown(collection.reason)
    if isinstance(collection, dict) and not isinstance(collection, Namespace):
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
        names = {value_name: value} | ({key_name: key} if key_name else {})
        inner = _BoundScope(names, scope)
        if condition_expr is not None:
            keep = evaluate(condition_expr, inner)
            if isinstance(keep, Unknown):
                return Unknown(keep.reason)
            if not isinstance(keep, bool):
                return Unknown("a for expression's condition is not a bool")
            if not keep:
                continue
        if key_expr is None:
            items.append(evaluate(value_expr, inner))
            continue
        entry_key = evaluate(key_expr, inner)
        if _is_number(entry_key) or isinstance(entry_key, bool):
            entry_key = _as_string(entry_key)
        if not isinstance(entry_key, str):
            return Unknown(why_unknown(entry_key) or "a for expression's key is not a string")
        entry_value = evaluate(value_expr, inner)
        if grouping:
            entries.setdefault(str(entry_key), []).append(entry_value)
        elif str(entry_key) in entries:
            return Unknown(f"a for expression makes the key {entry_key} twice", error=True)
        else:
            entries[str(entry_key)] = entry_value
    return items if key_expr is None else entries


_EVALUATORS: dict[str, Callable[[Expr, Scope], Any]] = {
    "l": lambda expr, scope: expr[1],
    "t": lambda expr, scope: _render(expr[1], scope),
    "h": _eval_heredoc,
    "v": lambda expr, scope: scope.root(expr[1]),
    "a": lambda expr, scope: _get_attr(evaluate(expr[1], scope), expr[2]),
    "i": lambda expr, scope: _index(evaluate(expr[1], scope), evaluate(expr[2], scope)),
    "s": _eval_splat,
    "tup": lambda expr, scope: [evaluate(item, scope) for item in expr[1]],
    "obj": _eval_object,
    "c": _eval_call,
    "?": _eval_conditional,
    "op": _eval_binary,
    "un": _eval_unary,
    "for": _eval_for,
    "u": lambda expr, scope: Unknown(expr[1]),
}

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
    iterator = block["attrs"].get("iterator", ["v", label])
    name = iterator[1] if iterator[0] == "v" else label
    items = evaluate(block["attrs"]["for_each"], scope)
    if isinstance(items, dict) and not isinstance(items, Namespace):
        pairs = list(items.items())
    elif isinstance(items, TerraformSet):
        pairs = [(item, item) for item in items]
    elif isinstance(items, list):
        pairs = list(enumerate(items))
    else:
        reasons.append(f"a dynamic {label}'s for_each: {why_unknown(items) or 'not a collection'}")
        return []
    line = content["line"] or block["line"]
    return [
        ({**content, "line": line}, _IteratorScope(name, {"key": key, "value": value}, scope))
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

