"""Terraform source text to a small JSON-able form, which is what the parse cache stores.

Each expression is a list whose first item is a tag (`["l", value]` for a literal,
`["a", base, name]` for `.name`, ...), each block a dict with its line, attributes
(with their lines) and nested blocks. Read from python-hcl2's rule tree, which keeps
positions (its dict output keeps neither lines nor expressions), or from a .tf.json
document; `values` evaluates the form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from hcl2.api import parses
from hcl2.rules.base import AttributeRule, BlockRule
from hcl2.rules.containers import ObjectElemKeyRule, ObjectRule, TupleRule
from hcl2.rules.expressions import BinaryOpRule, ConditionalRule, ExprTermRule, UnaryOpRule
from hcl2.rules.for_expressions import ForObjectExprRule, ForTupleExprRule
from hcl2.rules.functions import FunctionCallRule
from hcl2.rules.indexing import (
    AttrSplatExprTermRule,
    FullSplatExprTermRule,
    GetAttrExprTermRule,
    GetAttrRule,
    IndexExprTermRule,
    ShortIndexRule,
)
from hcl2.rules.literal_rules import FloatLitRule, IdentifierRule, IntLitRule, KeywordRule, LiteralValueRule
from hcl2.rules.strings import HeredocTemplateRule, HeredocTrimTemplateRule, InterpolationRule, StringRule
from hcl2.utils import process_escape_sequences

Expr = list[Any]
Block = dict[str, Any]
KeepBlock = Callable[[str, list[str]], bool]


# ---------------------------------------------------------------------------
# HCL rule tree -> JSON-able form
# ---------------------------------------------------------------------------


_HEREDOC_OPEN = re.compile(r"<<-?([A-Za-z][\w.-]*)\r?$")


def normalised(text: str) -> str:
    """`text` as python-hcl2 reads it, no line moved: a heredoc's closing marker followed
    by spaces or tabs (Terraform reads it, python-hcl2 refuses the whole file) loses them,
    and the file ends with a newline (python-hcl2 wants one after a closing marker)."""
    lines = text.split("\n")
    marker: str | None = None
    for index, line in enumerate(lines):
        if marker is None:
            opened = _HEREDOC_OPEN.search(line)
            marker = opened.group(1) if opened else None
        elif line.strip() == marker:
            ending = "\r" if line.endswith("\r") else ""
            lines[index] = line.rstrip(" \t\r") + ending
            marker = None
    normal = "\n".join(lines)
    return normal if normal.endswith("\n") else normal + "\n"


def hcl_blocks(text: str, keep: KeepBlock) -> list[Block]:
    """The top-level blocks of an HCL file that `keep(type, labels)` accepts."""
    blocks = []
    for node in parses(normalised(text)).body.children:
        if isinstance(node, BlockRule):
            labels = [label(node_label) for node_label in node.labels]
            if keep(labels[0], labels[1:]):
                blocks.append(_block(node, labels))
    return blocks


def hcl_attributes(text: str) -> dict[str, Expr]:
    """The top-level attributes of an HCL file (a .tfvars file)."""
    return {
        _name(node.identifier): expression(node.expression)
        for node in parses(normalised(text)).body.children
        if isinstance(node, AttributeRule)
    }


def _line(node: Any) -> int | None:
    return getattr(node._meta, "line", None)


def _name(node: Any) -> str:
    return str(node.token.value)


def label(node: Any) -> str:
    if isinstance(node, StringRule):
        return "".join(str(part.content.value) for part in node.string_parts)
    return _name(node)


def _block(node: BlockRule, labels: list[str]) -> Block:
    attrs: dict[str, Expr] = {}
    lines: dict[str, int | None] = {}
    blocks: list[Block] = []
    for child in node.body.children:
        if isinstance(child, AttributeRule):
            name = _name(child.identifier)
            attrs[name] = expression(child.expression)
            lines[name] = _line(child)
        elif isinstance(child, BlockRule):
            blocks.append(_block(child, [label(node_label) for node_label in child.labels]))
    return {
        "type": labels[0],
        "labels": labels[1:],
        "line": _line(node),
        "attrs": attrs,
        "lines": lines,
        "blocks": blocks,
    }


def expression(node: Any) -> Expr:
    convert = _CONVERTERS.get(type(node))
    return convert(node) if convert else ["u", "this kind of expression is not evaluated"]


def _literal(node: Any) -> Expr:
    return ["l", {"true": True, "false": False, "null": None}[str(node.token.value)]]


def _string(node: StringRule) -> Expr:
    parts: list[Any] = []
    for part in node.string_parts:
        content = part.content
        kind = content.lark_name()
        if isinstance(content, InterpolationRule):
            parts.append(expression(content.expression))
        elif kind == "STRING_CHARS":
            parts.append(process_escape_sequences(str(content.value)))
        elif kind in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
            parts.append(str(content.value)[1:])
        else:
            parts.append(["u", "a template directive is not evaluated"])
    return _template(parts)


def _template(parts: list[Any]) -> Expr:
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if all(isinstance(part, str) for part in merged):
        return ["l", "".join(merged)]
    return ["t", merged]


_HEREDOC = re.compile(r"<<-?[A-Za-z][\w.-]*\r?\n(.*)", re.S)


def _heredoc(node: HeredocTemplateRule) -> Expr:
    match = _HEREDOC.match(str(node.heredoc.value))
    lines = match.group(1).rstrip("\r\n").split("\n")[:-1] if match else []
    if isinstance(node, HeredocTrimTemplateRule):
        indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
        lines = [line[min(indents, default=0) :] for line in lines]
    line = _line(node)
    return ["h", line + 1 if line else None, template_expr("\n".join(lines))]


def _object(node: ObjectRule) -> Expr:
    items = []
    for element in node.elements:
        key = element.key
        if isinstance(key, ObjectElemKeyRule):
            inner = key.value
            if isinstance(inner, (IdentifierRule, KeywordRule, IntLitRule, FloatLitRule)):
                key_expr: Expr = ["l", str(inner.token.value)]
            else:
                key_expr = expression(inner)
        else:
            key_expr = expression(key.expression)
        items.append([key_expr, expression(element.expression)])
    return ["obj", items, _line(node)]


def _index_expr(node: Any) -> Expr:
    if isinstance(node, ShortIndexRule):
        return ["l", int(node.index.value)]
    return expression(node.index_expression)


def _splat(node: Any) -> Expr:
    steps = [
        ["a", _name(step.identifier)] if isinstance(step, GetAttrRule) else ["i", _index_expr(step)]
        for step in node.children[1].children[1:]
    ]
    return ["s", expression(node.children[0]), steps]


def _call(node: FunctionCallRule) -> Expr:
    name = "::".join(_name(identifier) for identifier in node.identifiers)
    arguments = node.arguments
    if arguments is not None and arguments.has_ellipsis:
        return ["u", f"{name}() with expanded arguments is not evaluated"]
    args = [expression(arg) for arg in arguments.arguments] if arguments is not None else []
    return ["c", name, args, _line(node)]


def _for(node: ForTupleExprRule | ForObjectExprRule) -> Expr:
    """`["for", key name | None, value name, collection, key | None, value, condition | None,
    grouping]`: a key expression makes an object, `...` groups its values by key."""
    intro = node.for_intro
    first, second = _name(intro.first_iterator), intro.second_iterator
    names = [first, _name(second)] if second is not None else [None, first]
    key = expression(node.key_expr) if isinstance(node, ForObjectExprRule) else None
    grouping = isinstance(node, ForObjectExprRule) and node.ellipsis is not None
    condition = node.condition
    return [
        "for",
        *names,
        expression(intro.iterable),
        key,
        expression(node.value_expr),
        expression(condition.condition_expr) if condition is not None else None,
        grouping,
    ]


def _binary(node: BinaryOpRule) -> Expr:
    operator_name = str(node.binary_term.binary_operator.token.value).strip()
    return ["op", operator_name, expression(node.expr_term), expression(node.binary_term.expr_term)]


_CONVERTERS: dict[type, Callable[[Any], Expr]] = {
    ExprTermRule: lambda node: expression(node.expression),
    StringRule: _string,
    HeredocTemplateRule: _heredoc,
    HeredocTrimTemplateRule: _heredoc,
    IdentifierRule: lambda node: ["v", _name(node)],
    LiteralValueRule: _literal,
    IntLitRule: lambda node: ["l", int(node.token.value)],
    FloatLitRule: lambda node: ["l", float(node.token.value)],
    TupleRule: lambda node: ["tup", [expression(element) for element in node.elements]],
    ObjectRule: _object,
    GetAttrExprTermRule: lambda node: ["a", expression(node.expr_term), _name(node.get_attr.identifier)],
    IndexExprTermRule: lambda node: ["i", expression(node.children[0]), _index_expr(node.children[1])],
    FullSplatExprTermRule: _splat,
    AttrSplatExprTermRule: _splat,
    FunctionCallRule: _call,
    ConditionalRule: lambda node: [
        "?", expression(node.condition), expression(node.if_true), expression(node.if_false)
    ],
    BinaryOpRule: _binary,
    UnaryOpRule: lambda node: ["un", node.operator.strip(), expression(node.expr_term)],
    ForTupleExprRule: lambda node: _for(node),
    ForObjectExprRule: lambda node: _for(node),
}

# ---------------------------------------------------------------------------
# Templates outside quoted strings: heredocs, .tf.json strings, templatefile()
# ---------------------------------------------------------------------------

_TEMPLATE_MARK = re.compile(r"\$\$\{|%%\{|\$\{|%\{")
_TRAVERSAL = re.compile(r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*\Z")


def template_expr(text: str) -> Expr:
    """A template's text as an expression; python-hcl2 leaves heredoc bodies unparsed."""
    parts: list[Any] = []
    position = 0
    for match in _TEMPLATE_MARK.finditer(text):
        start = match.start()
        if start < position:
            continue
        parts.append(text[position:start])
        mark = match.group()
        if len(mark) == 3:
            parts.append(mark[1:])
            position = match.end()
            continue
        end = _closing_brace(text, match.end())
        if end is None:
            return ["u", "an unterminated interpolation"]
        source = text[match.end() : end]
        directive: Expr = ["u", "a template directive is not evaluated"]
        parts.append(_interpolation(source) if mark == "${" else directive)
        position = end + 1
    parts.append(text[position:])
    return _template(parts)


def _closing_brace(text: str, start: int) -> int | None:
    depth, quoted, escaped = 1, False, False
    for index in range(start, len(text)):
        char = text[index]
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _interpolation(source: str) -> Expr:
    source = source.strip().strip("~").strip()
    if _TRAVERSAL.match(source):
        first, *rest = source.split(".")
        expr: Expr = ["v", first]
        for name in rest:
            expr = ["a", expr, name]
        return expr
    try:
        body = parses(f"x = {source}\n").body
    except Exception:  # lark raises several exception types; any means the text is not an expression
        return ["u", f"${{{source}}} cannot be parsed"]
    attribute = next(node for node in body.children if isinstance(node, AttributeRule))
    return expression(attribute.expression)


# ---------------------------------------------------------------------------
# .tf.json -> the same form
# ---------------------------------------------------------------------------

_JSON_NESTED_BLOCKS = {"inline_policy", "statement", "dynamic"}


def json_blocks(text: str, keep: KeepBlock) -> list[Block]:
    """The top-level blocks of a Terraform JSON file (no line numbers: json keeps none)."""
    blocks: list[Block] = []
    for kind, body in _items(json.loads(text)):
        if kind in ("resource", "data"):
            for resource_type, named in _items(body):
                for name, attrs in _items(named):
                    blocks.extend(_json_block(kind, [resource_type, name], item) for item in _listed(attrs))
        elif kind in ("module", "output", "variable"):
            for name, attrs in _items(body):
                blocks.extend(_json_block(kind, [name], item) for item in _listed(attrs))
        elif kind == "locals":
            blocks.extend(_json_block(kind, [], item) for item in _listed(body))
    return [block for block in blocks if keep(block["type"], block["labels"])]


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    for item in _listed(value):
        yield from item.items()


def _listed(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _json_block(kind: str, labels: list[str], attrs: dict[str, Any]) -> Block:
    block: Block = {"type": kind, "labels": labels, "line": None, "attrs": {}, "lines": {}, "blocks": []}
    for name, value in attrs.items():
        if name == "//":
            continue
        if name in _JSON_NESTED_BLOCKS:
            block["blocks"].extend(_json_nested(name, value))
        elif kind == "variable" and name == "default":
            block["attrs"][name] = ["l", value]
        else:
            block["attrs"][name] = _json_expr(value)
        block["lines"][name] = None
    return block


def _json_nested(name: str, value: Any) -> list[Block]:
    if name != "dynamic":
        return [_json_block(name, [], item) for item in _listed(value)]
    return [_json_block(name, [label], item) for label, body in _items(value) for item in _listed(body)]


def _json_expr(value: Any) -> Expr:
    if isinstance(value, str):
        return template_expr(value) if "{" in value else ["l", value]
    if isinstance(value, list):
        return ["tup", [_json_expr(item) for item in value]]
    if isinstance(value, dict):
        return ["obj", [[["l", key], _json_expr(item)] for key, item in value.items()], None]
    return ["l", value]


