"""Terraform source text to blocks of typed expressions (`syntax`), which is what the
parse cache stores and `values` evaluates; and the same tree as written, with where each
block and expression is in the text (`written`), which is what the suggestions edit.

Read from the syntax tree of python-hcl2's parser, which keeps positions (its dict
output keeps neither lines nor expressions), or from a .tf.json document. The tree is
read as the parser makes it, not through python-hcl2's rule objects: building those
costs as much again as the parse, for nothing read here.
"""

from __future__ import annotations

import functools
import json
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hcl2 import parser as hcl2_parser
from hcl2.postlexer import PostLexer
from hcl2.utils import process_escape_sequences
from lark import Lark, Token, Tree
from lark.exceptions import LarkError

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
    IndexStep,
    Literal,
    ObjectCons,
    Splat,
    Template,
    TupleCons,
    Unary,
    Unevaluated,
    Variable,
)

__all__ = [
    "Block",
    "Expr",
    "HclError",
    "Span",
    "WrittenAttribute",
    "WrittenBlock",
    "WrittenExpr",
    "hcl_attributes",
    "hcl_blocks",
    "json_blocks",
    "template_expr",
    "walk",
    "written",
]

KeepBlock = Callable[[str, list[str]], bool]


class HclError(Exception):
    """Valid HCL that Terraform refuses (a block without its labels), with Terraform's
    own words and the line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


# ---------------------------------------------------------------------------
# HCL syntax tree -> JSON-able form
# ---------------------------------------------------------------------------


_HEREDOC_OPEN = re.compile(r"<<-?([A-Za-z][\w.-]*)\r?$")
_NAMES = ("identifier", "keyword", "literal_value")
_STRING_PIECES = ("STRING_CHARS", "ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE")


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


# Tokens that open a bracket inside which HCL ignores newlines, and the others that open one
# closed by `)`, `]` or `}` (an object's, a block's or a directive's braces, where newlines
# separate items and are kept).
_IGNORING_NEWLINES = {"LPAR", "LSQB", "INTERP_START"}
_KEEPING_NEWLINES = {"LBRACE", "DIRECTIVE_START"}
_CLOSING = {"RPAR", "RSQB", "RBRACE"}


class _HclNewlines(PostLexer):
    """python-hcl2's token stream, with newlines where HCL reads them and python-hcl2's
    grammar refuses them (losing the whole file): inside parentheses, brackets and
    interpolations, where HCL ignores newlines, they are left out; before a for
    expression's `=>`, where HCL ignores them too, a newline (or comment) is read as part
    of the arrow, as python-hcl2 does before binary operators. Neither can alter a parse
    python-hcl2 accepts: its grammar has every newline inside those brackets optional,
    never one before `=>`, and `=>` is a token only in a for expression."""

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        enclosing: list[bool] = []  # for each bracket open: whether newlines are ignored in it
        pending: Token | None = None
        for token in super().process(stream):
            if token.type == "NL_OR_COMMENT":
                if enclosing and enclosing[-1]:
                    continue
                if pending is not None:
                    yield pending
                pending = token
                continue
            if token.type in _IGNORING_NEWLINES or token.type in _KEEPING_NEWLINES:
                enclosing.append(token.type in _IGNORING_NEWLINES)
            elif token.type in _CLOSING and enclosing:
                enclosing.pop()
            if pending is not None:
                if token.type == "FOR_OBJECT_ARROW":
                    token = token.update(value=str(pending) + str(token))
                else:
                    yield pending
                pending = None
            yield token
        if pending is not None:
            yield pending


@functools.cache
def _parser() -> Lark:
    """python-hcl2's parser, from python-hcl2's grammar and the analysis it keeps cached
    (the postlexer is no part of that cache's key), with the postlexer above."""
    return Lark.open(
        "hcl2.lark",
        parser="lalr",
        cache=str(hcl2_parser.PARSER_FILE),
        rel_to=hcl2_parser.__file__,
        propagate_positions=True,
        postlex=_HclNewlines(),
    )


def _body(text: str) -> list[Tree]:
    """The attributes and blocks at the top of a file."""
    start = _parser().parse(normalised(text) + "\n")  # as python-hcl2 parses it
    return _trees(next(child for child in start.children if isinstance(child, Tree)))


# The labels Terraform wants on the blocks read here, as it names them in its errors.
_LABELS = {
    "resource": ("type", "name"),
    "data": ("type", "name"),
    "module": ("name",),
    "variable": ("name",),
    "output": ("name",),
    "locals": (),
    "dynamic": ("name",),
}


def _check_labels(kind: str, labels: list[str], line: int | None) -> None:
    """Terraform's error for a block with too few or too many labels."""
    wanted = _LABELS.get(kind)
    if wanted is None or len(labels) == len(wanted):
        return
    names = ", ".join(wanted)
    if len(labels) < len(wanted):
        missing = wanted[len(labels)]
        raise HclError(f"Missing {missing} for {kind}: all {kind} blocks must have "
                       f"{len(wanted)} labels ({names})", line)
    raise HclError(f"Extraneous label for {kind}: only {len(wanted)} labels ({names}) "
                   f"are expected for {kind} blocks", line)


def hcl_blocks(text: str, keep: KeepBlock) -> list[Block]:
    """The top-level blocks of an HCL file that `keep(type, labels)` accepts. A kept
    block without the labels Terraform wants is an HclError."""
    blocks = []
    for node in _body(text):
        if node.data == "block":
            labels = _labels(node)
            if keep(labels[0], labels[1:]):
                _check_labels(labels[0], labels[1:], _line(node))
                blocks.append(_block(node, labels))
    return blocks


def hcl_attributes(text: str) -> dict[str, Expr]:
    """The top-level attributes of an HCL file (a .tfvars file)."""
    return {
        label(node.children[0]): expression(node.children[2])
        for node in _body(text)
        if node.data == "attribute"
    }


def _trees(node: Tree) -> list[Tree]:
    """The children of `node` that are rules, comments and newlines left out."""
    return [
        child for child in node.children if isinstance(child, Tree) and child.data != "new_line_or_comment"
    ]


def _line(node: Tree) -> int | None:
    return getattr(node.meta, "line", None)


def _token(node: Tree) -> str:
    return str(next(child for child in node.children if isinstance(child, Token)))


def label(node: Tree) -> str:
    """A block's type or label, an attribute's name: a name (HCL reserves no keyword) or
    a quoted string, as written."""
    if node.data == "string":
        parts = [part.children[0] for part in _trees(node)]
        if not all(isinstance(part, Token) for part in parts):
            raise TypeError("a label cannot hold a template")  # nor can it in Terraform
        return "".join(map(str, parts))
    return _token(node)


def _labels(node: Tree) -> list[str]:
    return [label(child) for child in _trees(node) if child.data != "body"]


def _block(node: Tree, labels: list[str]) -> Block:
    attrs: dict[str, Expr] = {}
    lines: dict[str, int | None] = {}
    blocks: list[Block] = []
    body = next(child for child in _trees(node) if child.data == "body")
    for child in _trees(body):
        if child.data == "attribute":
            name = label(child.children[0])
            attrs[name] = expression(child.children[2])
            lines[name] = _line(child)
        elif child.data == "block":
            nested = _labels(child)
            if nested[0] == "dynamic":
                _check_labels(nested[0], nested[1:], _line(child))
            blocks.append(_block(child, nested))
    return {
        "type": labels[0],
        "labels": labels[1:],
        "line": _line(node),
        "attrs": attrs,
        "lines": lines,
        "blocks": blocks,
    }


def expression(node: Tree) -> Expr:
    convert = _CONVERTERS.get(node.data)
    return convert(node) if convert else Unevaluated("this kind of expression is not evaluated")


def _literal(node: Tree) -> Expr:
    return Literal({"true": True, "false": False, "null": None}[_token(node)])


def _string(node: Tree) -> Expr:
    """A quoted template; a directive (`%{if}`...`%{endif}`, with what it holds) is one
    unknown part."""
    parts: list[Any] = []
    depth = 0
    for part in _trees(node):
        content = part.children[0]
        kind = content.type if isinstance(content, Token) else content.data
        if kind in ("template_if_start", "template_for_start"):
            depth += 1
            if depth == 1:
                parts.append(Unevaluated("a template directive is not evaluated"))
        elif kind in ("template_endif", "template_endfor"):
            depth -= 1
            if depth < 0:
                raise RuntimeError("a template directive ends that was not started")
        elif depth or kind == "template_else":
            continue
        elif kind == "interpolation":
            parts.append(expression(_trees(content)[0]))
        elif kind == "STRING_CHARS":
            parts.append(process_escape_sequences(str(content)))
        else:  # ESCAPED_INTERPOLATION, ESCAPED_DIRECTIVE: $${ and %%{ read as ${ and %{
            parts.append(str(content)[1:])
    if depth:
        raise RuntimeError("Unterminated template directive")
    return _template(parts)


def _template(parts: list[Any]) -> Expr:
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if all(isinstance(part, str) for part in merged):
        return Literal("".join(merged))
    return Template(merged)


_HEREDOC = re.compile(r"<<-?[A-Za-z][\w.-]*\r?\n(.*)", re.S)


def _heredoc(node: Tree) -> Expr:
    match = _HEREDOC.match(str(node.children[0]))
    lines = match.group(1).rstrip("\r\n").split("\n")[:-1] if match else []
    if node.data == "heredoc_template_trim":
        indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
        lines = [line[min(indents, default=0) :] for line in lines]
    line = _line(node)
    return Heredoc(line + 1 if line else None, template_expr("\n".join(lines)))


_KEY_LITERALS = ("identifier", "int_lit", "float_lit", "literal_value")


def _object(node: Tree) -> Expr:
    """`{key = value, ...}`: a key written as a name, number or keyword is that text."""
    items = []
    for element in _trees(node):
        key, value = _trees(element)
        items.append((_key(key), expression(value)))
    return ObjectCons(items, _line(node))


def _key(node: Tree) -> Expr:
    """An object's key: a name, number or keyword written as the key is that text."""
    inner = _trees(node)[0]
    written = inner.children[0] if inner.data == "expr_term" and len(inner.children) == 1 else None
    if inner.data == "keyword":
        return Literal(_token(inner))
    if isinstance(written, Tree) and written.data in _KEY_LITERALS:
        return Literal(_token(written))
    return expression(inner)


def _index_expr(node: Tree) -> Expr:
    if node.data == "short_index":  # .0
        return Literal(int(str(node.children[-1])))
    return expression(_trees(node)[0])


def _splat(node: Tree) -> Expr:
    base, splat = node.children
    steps = [
        AttrStep(label(_trees(step)[0])) if step.data == "get_attr" else IndexStep(_index_expr(step))
        for step in _trees(splat)
    ]
    return Splat(expression(base), steps)


def _call(node: Tree) -> Expr:
    name = "::".join(label(child) for child in _trees(node) if child.data == "identifier")
    arguments = next((child for child in _trees(node) if child.data == "arguments"), None)
    if arguments is not None and any(isinstance(child, Token) and child.type == "ELLIPSIS"
                                     for child in arguments.children):
        return Unevaluated(f"{name}() with expanded arguments is not evaluated")
    args = [expression(arg) for arg in _trees(arguments)] if arguments is not None else []
    return Call(name, args, _line(node))


def _for(node: Tree) -> Expr:
    """A for expression: a key expression makes an object, `...` groups its values by key."""
    intro, *rest = _trees(node)
    iterators = [label(child) for child in _trees(intro) if child.data == "identifier"]
    collection = next(child for child in _trees(intro) if child.data != "identifier")
    condition = rest.pop() if rest[-1].data == "for_cond" else None
    key_name = iterators[0] if len(iterators) == 2 else None
    key = expression(rest[0]) if node.data == "for_object_expr" else None
    grouping = any(isinstance(child, Token) and child.type == "ELLIPSIS" for child in node.children)
    return For(
        key_name,
        iterators[-1],
        expression(collection),
        key,
        expression(rest[-1]),
        expression(_trees(condition)[0]) if condition is not None else None,
        grouping,
    )


def _binary(node: Tree) -> Expr:
    left, term = _trees(node)
    operator, right = _trees(term)
    return Binary(_token(operator).strip(), expression(left), expression(right))


def _unary(node: Tree) -> Expr:
    operator, operand = node.children
    return Unary(str(operator).strip(), expression(operand))


_CONVERTERS: dict[str, Callable[[Tree], Expr]] = {
    "expr_term": lambda node: expression(_trees(node)[0]),
    "string": _string,
    "heredoc_template": _heredoc,
    "heredoc_template_trim": _heredoc,
    "identifier": lambda node: Variable(_token(node)),
    "literal_value": _literal,
    "int_lit": lambda node: Literal(int(_token(node))),
    "float_lit": lambda node: Literal(float(_token(node))),
    "tuple": lambda node: TupleCons([expression(element) for element in _trees(node)]),
    "object": _object,
    "get_attr_expr_term": lambda node: GetAttr(
        expression(node.children[0]), label(_trees(node.children[1])[0])
    ),
    "index_expr_term": lambda node: Index(expression(node.children[0]), _index_expr(node.children[1])),
    "full_splat_expr_term": _splat,
    "attr_splat_expr_term": _splat,
    "function_call": _call,
    "conditional": lambda node: Conditional(*(expression(part) for part in _trees(node))),
    "binary_op": _binary,
    "unary_op": _unary,
    "for_tuple_expr": _for,
    "for_object_expr": _for,
}

# ---------------------------------------------------------------------------
# The same tree as written: where each block and expression is, for the suggestions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Where something is written: offsets into the text, `end` just past its last character."""

    start: int
    end: int


Form = typing.Literal["string", "tuple", "object", "heredoc", "parentheses", "other"]


@dataclass(frozen=True)
class WrittenExpr:
    """An expression where it is written. `form` says what it is: a quoted string
    (`string` its value when it has no interpolation or directive), a tuple (`items`), an
    object (`members`: each key, as `expression` reads it, and its value), a heredoc,
    parentheses (`nested` the one expression they hold) or anything else. `nested` holds
    the strings, tuples, objects, heredocs and parentheses written inside anything else
    (a function's arguments, an interpolation...), in order; what is written inside an
    object's key is not kept (no policy is written there)."""

    form: Form
    span: Span
    line: int
    string: str | None = None
    items: tuple[WrittenExpr, ...] = ()
    members: tuple[tuple[Expr, WrittenExpr], ...] = ()
    nested: tuple[WrittenExpr, ...] = ()


@dataclass(frozen=True)
class WrittenAttribute:
    name: str
    value: WrittenExpr


@dataclass(frozen=True)
class WrittenBlock:
    """A block where it is written: its type, labels, line and span, and what its body
    holds, in order."""

    type: str
    labels: tuple[str, ...]
    line: int
    span: Span
    body: tuple[WrittenBlock | WrittenAttribute, ...]


Written = WrittenBlock | WrittenAttribute | WrittenExpr


def written(text: str) -> tuple[WrittenBlock | WrittenAttribute, ...]:
    """The attributes and blocks at the top of an HCL file, as written: parsed as
    `hcl_blocks` parses it, spans being offsets into `text` itself."""
    return tuple(_WrittenReader(text).body(_body(text)))


def walk(nodes: tuple[Written, ...]) -> Iterator[Written]:
    """Every block, attribute and expression in `nodes`, each before what it holds, in order."""
    for node in nodes:
        yield node
        if isinstance(node, WrittenBlock):
            yield from walk(node.body)
        elif isinstance(node, WrittenAttribute):
            yield from walk((node.value,))
        else:
            yield from walk(node.items)
            yield from walk(tuple(value for _, value in node.members))
            yield from walk(node.nested)


_WRITTEN_FORMS = {"expr_term", "string", "tuple", "object", "heredoc_template", "heredoc_template_trim"}


class _WrittenReader:
    """Reads the parser's tree into written nodes. The parser read `normalised(text)`,
    whose lines are those of `text` but for blanks after a heredoc's closing marker, so a
    position is found from its line and column: no node starts or ends in those blanks."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        for line in (text if text.endswith("\n") else text + "\n").split("\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)

    def span(self, node: Tree) -> Span:
        meta = node.meta
        return Span(
            self.starts[meta.line - 1] + meta.column - 1,
            self.starts[meta.end_line - 1] + meta.end_column - 1,
        )

    def body(self, nodes: list[Tree]) -> Iterator[WrittenBlock | WrittenAttribute]:
        for node in nodes:
            if node.data == "attribute":
                yield WrittenAttribute(label(node.children[0]), self.expression(node.children[2]))
            elif node.data == "block":
                labels = _labels(node)
                body = next(child for child in _trees(node) if child.data == "body")
                contents = tuple(self.body(_trees(body)))
                yield WrittenBlock(labels[0], tuple(labels[1:]), node.meta.line, self.span(node), contents)

    def expression(self, node: Tree) -> WrittenExpr:
        kind, span, line = node.data, self.span(node), node.meta.line
        if kind == "expr_term":
            inner = _trees(node)
            if len(node.children) == 1 and inner:
                return self.expression(inner[0])
            if inner:
                return WrittenExpr("parentheses", span, line, nested=(self.expression(inner[0]),))
        if kind == "string":
            plain = all(isinstance(part.children[0], Token) for part in _trees(node))
            value = _string(node) if plain else None
            text = value.value if isinstance(value, Literal) and isinstance(value.value, str) else None
            return WrittenExpr("string", span, line, text, nested=self.nested(node))
        if kind == "tuple":
            return WrittenExpr("tuple", span, line, items=tuple(map(self.expression, _trees(node))))
        if kind == "object":
            members = tuple(
                (_key(key), self.expression(value)) for key, value in map(_trees, _trees(node))
            )
            return WrittenExpr("object", span, line, members=members)
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return WrittenExpr("heredoc", span, line)
        return WrittenExpr("other", span, line, nested=self.nested(node))

    def nested(self, node: Tree) -> tuple[WrittenExpr, ...]:
        found: list[WrittenExpr] = []
        for child in _trees(node):
            if child.data in _WRITTEN_FORMS:
                found.append(self.expression(child))
            else:
                found.extend(self.nested(child))
        return tuple(found)


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
            return Unevaluated("an unterminated interpolation")
        source = text[match.end() : end]
        directive: Expr = Unevaluated("a template directive is not evaluated")
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
        expr: Expr = Variable(first)
        for name in rest:
            expr = GetAttr(expr, name)
        return expr
    try:
        attribute = next(node for node in _body(f"x = {source}\n") if node.data == "attribute")
    except (LarkError, RecursionError):  # the text is not an expression (or nested past the stack)
        return Unevaluated(f"${{{source}}} cannot be parsed")
    return expression(attribute.children[2])


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
            block["attrs"][name] = Literal(value)
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
        return template_expr(value) if "{" in value else Literal(value)
    if isinstance(value, list):
        return TupleCons([_json_expr(item) for item in value])
    if isinstance(value, dict):
        return ObjectCons([(Literal(key), _json_expr(item)) for key, item in value.items()], None)
    return Literal(value)


