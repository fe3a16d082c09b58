"""Terraform expressions and blocks as `hcl` reads them and `values` evaluates them.

Each kind of expression is a small typed node. They are msgspec tagged structs kept as
arrays (`["l", value]`, `["a", base, name]`, ...), so that the parse cache stores a file's
blocks compactly and gives them back as these nodes (`parse_cache`).
"""

from __future__ import annotations

from typing import Any, TypedDict

import msgspec


class _Node(msgspec.Struct, frozen=True, array_like=True, tag_field="kind"):
    """An expression node: its tag is the first item of its array."""


class Literal(_Node, tag="l", frozen=True):
    """A value written as itself: a string without interpolation, a number, a bool, null
    (and, from a .tf.json variable default, any JSON value)."""

    value: Any


class Template(_Node, tag="t", frozen=True):
    """A string with interpolations: literal text and expressions, in order."""

    parts: list[str | Expr]


class Heredoc(_Node, tag="h", frozen=True):
    """A heredoc: its template, and the line its text starts on (a policy written in it
    gives its statements their own lines)."""

    line: int | None
    template: Expr


class Variable(_Node, tag="v", frozen=True):
    """A name at the root of a reference: `var`, `local`, `aws_iam_role`, a for's key..."""

    name: str


class GetAttr(_Node, tag="a", frozen=True):
    """`base.name`."""

    base: Expr
    name: str


class Index(_Node, tag="i", frozen=True):
    """`base[key]`."""

    base: Expr
    key: Expr


class AttrStep(_Node, tag="as", frozen=True):
    """`.name` after a splat."""

    name: str


class IndexStep(_Node, tag="is", frozen=True):
    """`[key]` after a splat."""

    key: Expr


class Splat(_Node, tag="s", frozen=True):
    """`base[*].steps...` or `base.*.steps...`: the steps applied to each item."""

    base: Expr
    steps: list[AttrStep | IndexStep]


class TupleCons(_Node, tag="tup", frozen=True):
    """`[a, b, ...]`."""

    items: list[Expr]


class ObjectCons(_Node, tag="obj", frozen=True):
    """`{key = value, ...}`, with the line it starts on."""

    items: list[tuple[Expr, Expr]]
    line: int | None


class Call(_Node, tag="c", frozen=True):
    """`name(args...)`; a provider function's name is `provider::aws::arn_build`."""

    name: str
    args: list[Expr]
    line: int | None


class Conditional(_Node, tag="?", frozen=True):
    """`condition ? if_true : if_false`."""

    condition: Expr
    if_true: Expr
    if_false: Expr


class Binary(_Node, tag="op", frozen=True):
    """`left operator right`."""

    operator: str
    left: Expr
    right: Expr


class Unary(_Node, tag="un", frozen=True):
    """`!operand` or `-operand`."""

    operator: str
    operand: Expr


class For(_Node, tag="for", frozen=True):
    """`[for key_name, value_name in collection : value if condition]`, or with a `key`
    (`{for ... : key => value}`) an object; `grouping` (`...`) groups values by key."""

    key_name: str | None
    value_name: str
    collection: Expr
    key: Expr | None
    value: Expr
    condition: Expr | None
    grouping: bool


class Unevaluated(_Node, tag="u", frozen=True):
    """An expression that is not evaluated, and why (a template directive, say)."""

    reason: str


Expr = (
    Literal
    | Template
    | Heredoc
    | Variable
    | GetAttr
    | Index
    | Splat
    | TupleCons
    | ObjectCons
    | Call
    | Conditional
    | Binary
    | Unary
    | For
    | Unevaluated
)


class Block(TypedDict):
    """A block: its type and labels, the line it starts on (None in .tf.json), its
    attributes with the line of each, and its nested blocks."""

    type: str
    labels: list[str]
    line: int | None
    attrs: dict[str, Expr]
    lines: dict[str, int | None]
    blocks: list[Block]
