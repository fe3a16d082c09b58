"""Policy statements as written in source files, and minimal edits to their Action lists.

`find_sites` finds each statement in one file's text, with the exact spans of the
statement and of its `Action` value: HCL `aws_iam_policy_document` statement blocks,
`jsonencode({...})` objects, heredoc JSON in `.tf` files, JSON documents (a file read by
file()/templatefile(), a CloudFormation JSON template) and CloudFormation YAML. Only a
literal Action (a string or a list of strings, no interpolation, no intrinsic function)
gets an `ActionValue`; anything else is left alone.

`removals_at` finds the policies and attachments written at given lines, to remove them
whole: inline policy and attachment resources (a permission set's too), `inline_policy`
blocks, entries of CloudFormation `Policies`, `ManagedPolicyArns` and `ManagedPolicies`
lists, and a permission set's CloudFormation `InlinePolicy`.

Edits replace list items in place and delete items together with one neighbouring
separator, so the rest of the text (comments, layout, quoting) stays as it was.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from json.decoder import scanstring  # type: ignore[attr-defined]  # not in typeshed
from typing import Any

import yaml

from iam_lastused.sources.iam_resources import TERRAFORM
from iam_lastused.sources.terraform.hcl import (
    Expr,
    Span,
    WrittenAttribute,
    WrittenBlock,
    WrittenExpr,
    walk,
    written,
)
from iam_lastused.sources.terraform.syntax import Literal

Edit = tuple[int, int, str]
Writer = Callable[[str], str]


@dataclass(frozen=True, eq=False)
class Items:
    """A list as written: each item's span, the text to put between two new items, how to
    write one item, and whether items are whole lines (HCL blocks, removed line by line)."""

    spans: tuple[Span, ...]
    separator: str = ", "
    write: Writer = json.dumps
    lines: bool = False


@dataclass(frozen=True)
class ActionValue:
    """A literal Action value: a list (`items`) or a single string (`items` None)."""

    span: Span
    values: tuple[str, ...]
    items: Items | None
    write: Writer = json.dumps


@dataclass(frozen=True)
class Site:
    """One statement as written: `index` is its place among `siblings`, the statements of
    its policy document."""

    line: int
    span: Span
    effect: str | None
    action: ActionValue | None
    has_not_action: bool
    siblings: Items
    index: int


def find_sites(path: str, text: str) -> list[Site]:
    """Every statement written in the file; none when the file does not parse."""
    try:
        if path.endswith(".tf"):
            return list(_hcl_sites(text))
        if text.lstrip().startswith(("{", "[")):
            return list(_json_sites(text, _json_node(text, _skip_space(text, 0))))
        return list(_yaml_sites(text, yaml.compose(text, Loader=yaml.SafeLoader)))
    except Exception:  # python-hcl2, lark, json and yaml raise many types; each means "does not parse"
        return []


_ONE_ARN = ("policy_arn", "managed_policy_arn")
"""The attributes that attach one policy (`aws_iam_*_policy_attachment`'s, and a permission
set's `aws_ssoadmin_managed_policy_attachment`'s)."""
# Terraform resources that are one policy or attachment of one principal.
REMOVABLE_RESOURCES = frozenset(
    name for name, spec in TERRAFORM.items()
    if spec.kind is None and len(spec.targets) == 1 and (spec.document or spec.policy_arns in _ONE_ARN)
)
# CloudFormation and SAM properties whose entries are one policy or attachment each
# (`ManagedPolicies`: an Identity Center permission set's AWS managed policies).
REMOVABLE_LISTS = frozenset({"Policies", "ManagedPolicyArns", "ManagedPolicies"})
# CloudFormation properties that are one policy each: a permission set's `InlinePolicy`.
REMOVABLE_KEYS = frozenset({"InlinePolicy"})


def removals_at(path: str, text: str, lines: set[int]) -> tuple[list[Edit], set[int]]:
    """Edits that remove the policies and attachments written at `lines`, and the lines
    where one was found (none when the file does not parse).

    A Terraform role whose every `inline_policy` block goes keeps `inline_policy {}`, which
    the AWS provider reads as "no inline policies" (with no block at all it would leave the
    deployed ones in place). A CloudFormation list whose every entry goes, goes with its key."""
    found: dict[int, list[Edit]] = {}
    try:
        if path.endswith(".tf"):
            _hcl_removals(text, _hcl_tree(text), lines, found)
        elif text.lstrip().startswith(("{", "[")):
            _json_removals(text, _json_node(text, _skip_space(text, 0)), lines, found)
        else:
            _yaml_removals(text, yaml.compose(text, Loader=yaml.SafeLoader), lines, found)
    except Exception:  # as in find_sites: whatever the parser raises means "does not parse"
        return [], set()
    return _merged(text, [edit for edits in found.values() for edit in edits]), set(found)


def _merged(text: str, edits: list[Edit]) -> list[Edit]:
    """Deletions made one where they meet or overlap (two neighbouring blocks each taking
    the blank line between them); one that reaches the end of the file takes the blank
    lines before it."""
    merged: list[Edit] = []
    for start, end, new in sorted(edits):
        if merged and start <= merged[-1][1] and not new and not merged[-1][2]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), "")
        else:
            merged.append((start, end, new))
    if merged and merged[-1][1] == len(text) and not merged[-1][2]:
        before = len(text[: merged[-1][0]].rstrip())
        start = text.find("\n", before) + 1 if before else 0
        if len(merged) == 1 or merged[-2][1] <= start:
            merged[-1] = (min(start, merged[-1][0]), len(text), "")
    return merged


# ---------------------------------------------------------------------------
# Edits
# ---------------------------------------------------------------------------


def action_edits(value: ActionValue, replacements: Sequence[tuple[str, ...] | None]) -> list[Edit]:
    """Edits that replace each Action item by its replacement (None: kept as is, (): removed).
    At least one item must remain."""
    if value.items is None:
        (new,) = replacements
        if new is None:
            return []
        if len(new) == 1:
            return [(value.span.start, value.span.end, value.write(new[0]))]
        return [(value.span.start, value.span.end, "[" + ", ".join(json.dumps(v) for v in new) + "]")]
    items = value.items
    removed = {index for index, new in enumerate(replacements) if new == ()}
    edits = removal_edits("", items, removed)
    for index, new in enumerate(replacements):
        if new:
            span = items.spans[index]
            edits.append((span.start, span.end, items.separator.join(items.write(v) for v in new)))
    return edits


def removal_edits(text: str, items: Items, removed: set[int]) -> list[Edit]:
    """Edits that delete the `removed` items of a list, some item being kept. An item before
    the last kept one goes with the separator after it, one after it with the one before.
    `text` is read only for items that are whole lines."""
    if items.lines:
        return [_line_removal(text, items.spans[index]) for index in sorted(removed)]
    spans = items.spans
    last = max(index for index in range(len(spans)) if index not in removed)
    return [
        (spans[index].start, spans[index + 1].start, "")
        if index < last
        else (spans[index - 1].end, spans[index].end, "")
        for index in sorted(removed)
    ]


def _line_removal(text: str, span: Span) -> Edit:
    """The whole lines of a block, and the blank line after it when the line before it is
    blank or opens the enclosing block (so no doubled blank line is left)."""
    start = text.rfind("\n", 0, span.start) + 1
    end = text.find("\n", span.end)
    end = len(text) if end < 0 else end + 1
    previous = (text[:start].splitlines() or [""])[-1].strip()
    blank_after = re.match(r"[ \t]*\r?\n", text[end:])
    if blank_after and (not previous or previous.endswith("{")):
        end += blank_after.end()
    return start, end, ""


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """The text with non-overlapping edits applied."""
    result: list[str] = []
    position = 0
    for start, end, replacement in sorted(edits):
        if start < position:
            raise ValueError("overlapping edits")
        result.extend((text[position:start], replacement))
        position = end
    result.append(text[position:])
    return "".join(result)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _separator(text: str, spans: Sequence[Span], open_end: int, comma: str = ",") -> str:
    """What goes between two new items: as between the first two, or as before the first."""
    between = text[spans[0].end : spans[1].start] if len(spans) > 1 else text[open_end : spans[0].start]
    if "\n" in between:
        return comma + _newline(between) + between.rsplit("\n", 1)[1]
    if len(spans) > 1 and " " not in between:
        return comma
    return comma + " "


# ---------------------------------------------------------------------------
# HCL: statement blocks, jsonencode objects, heredoc JSON
# ---------------------------------------------------------------------------


_Tree = tuple[WrittenBlock | WrittenAttribute, ...]


@functools.lru_cache(maxsize=8)
def _hcl_tree(text: str) -> _Tree:
    """A file as written, read-only: a file is searched for statements and for policies
    to remove before it is edited, and the parse is the slow part."""
    return written(text)


def _unwrap(node: WrittenExpr) -> WrittenExpr:
    while node.form == "parentheses":
        node = node.nested[0]
    return node


def _string(node: WrittenExpr) -> str | None:
    """The value of a string without interpolation, in parentheses or not."""
    return _unwrap(node).string


_POLICY_DOCUMENT = ("data", "aws_iam_policy_document")


def _hcl_sites(text: str) -> Iterator[Site]:
    for node in walk(_hcl_tree(text)):
        if isinstance(node, WrittenBlock) and (node.type, *node.labels[:1]) == _POLICY_DOCUMENT:
            yield from _block_sites(text, node)
        elif isinstance(node, WrittenExpr) and node.form == "object":
            yield from _object_sites(text, node)
        elif isinstance(node, WrittenExpr) and node.form == "heredoc":
            yield from _heredoc_sites(text, node)


def _blocks(block: WrittenBlock) -> list[WrittenBlock]:
    return [child for child in block.body if isinstance(child, WrittenBlock)]


def _hcl_removals(text: str, tree: _Tree, lines: set[int], found: dict[int, list[Edit]]) -> None:
    for node in walk(tree):
        if not isinstance(node, WrittenBlock):
            continue
        if node.type == "resource" and node.labels[:1] and node.labels[0] in REMOVABLE_RESOURCES:
            if node.line in lines:
                found[node.line] = [_line_removal(text, node.span)]
        inline = [child for child in _blocks(node) if child.type == "inline_policy" and not child.labels]
        going = [block for block in inline if block.line in lines]
        for block in going:
            found[block.line] = [_line_removal(text, block.span)]
        if going and len(going) == len(inline):
            span = going[-1].span
            found[going[-1].line] = [(span.start, span.end, "inline_policy {}")]


def _block_sites(text: str, document: WrittenBlock) -> Iterator[Site]:
    blocks = [child for child in _blocks(document) if child.type in ("statement", "dynamic")]
    siblings = Items(tuple(block.span for block in blocks), lines=True)
    for index, block in enumerate(blocks):
        if block.type != "statement" or block.labels:
            continue
        attributes = {child.name: child.value for child in block.body if isinstance(child, WrittenAttribute)}
        effect = _string(attributes["effect"]) if "effect" in attributes else "Allow"
        action = _hcl_action(text, attributes["actions"]) if "actions" in attributes else None
        yield Site(block.line, block.span, effect, action, "not_actions" in attributes, siblings, index)


def _object_key(key: Expr) -> str | None:
    return key.value if isinstance(key, Literal) and isinstance(key.value, str) else None


def _object_sites(text: str, document: WrittenExpr) -> Iterator[Site]:
    fields = {_object_key(key): value for key, value in document.members}
    if "Statement" not in fields:
        return
    value = _unwrap(fields["Statement"])
    elements = value.items if value.form == "tuple" else (fields["Statement"],)
    siblings = Items(tuple(element.span for element in elements))
    for index, element in enumerate(elements):
        statement = _unwrap(element)
        if statement.form != "object":
            continue
        keys = {_object_key(key): item for key, item in statement.members}
        effect = _string(keys["Effect"]) if "Effect" in keys else "Allow"
        action = _hcl_action(text, keys["Action"]) if "Action" in keys else None
        yield Site(statement.line, statement.span, effect, action, "NotAction" in keys, siblings, index)


def _hcl_action(text: str, expression: WrittenExpr) -> ActionValue | None:
    value = _unwrap(expression)
    if value.form == "string":
        return ActionValue(value.span, (value.string,), None) if value.string is not None else None
    if value.form != "tuple" or not value.items:
        return None
    values = [_string(element) for element in value.items]
    if any(v is None for v in values):
        return None
    spans = tuple(element.span for element in value.items)
    items = Items(spans, _separator(text, spans, value.span.start + 1))
    return ActionValue(value.span, tuple(values), items)  # type: ignore[arg-type]


def _heredoc_sites(text: str, node: WrittenExpr) -> Iterator[Site]:
    span = node.span
    start = _skip_space(text, text.index("\n", span.start) + 1)
    if text[start : start + 1] != "{":
        return
    try:
        document = _json_node(text, start)
    except ValueError:
        return
    if document.end <= span.end:
        yield from _json_sites(text, document)


# ---------------------------------------------------------------------------
# JSON, with positions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    """A JSON value and where it is: `value` is a list of nodes for an array, a list of
    (key, node) pairs for an object, the plain value otherwise."""

    start: int
    end: int
    kind: str
    value: Any
    key_start: int | None = None  # where its key starts, for a member of an object


_DECODER = json.JSONDecoder()


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _json_node(text: str, position: int) -> _Node:
    """The JSON value at `position` (ValueError when there is none)."""
    opener = text[position : position + 1]
    if opener not in ("{", "["):
        value, end = _DECODER.raw_decode(text, position)
        return _Node(position, end, "scalar", value)
    closer = "}" if opener == "{" else "]"
    members: list[Any] = []
    cursor = _skip_space(text, position + 1)
    while text[cursor : cursor + 1] != closer:
        if members:
            if text[cursor : cursor + 1] != ",":
                raise ValueError(f"expected , at {cursor}")
            cursor = _skip_space(text, cursor + 1)
        if opener == "{":
            if text[cursor : cursor + 1] != '"':
                raise ValueError(f"expected a key at {cursor}")
            key_start = cursor
            key, cursor = scanstring(text, cursor + 1)
            cursor = _skip_space(text, cursor)
            if text[cursor : cursor + 1] != ":":
                raise ValueError(f"expected : at {cursor}")
            item = replace(_json_node(text, _skip_space(text, cursor + 1)), key_start=key_start)
            members.append((key, item))
        else:
            item = _json_node(text, cursor)
            members.append(item)
        cursor = _skip_space(text, item.end)
    return _Node(position, cursor + 1, "object" if opener == "{" else "array", members)


def _json_sites(text: str, node: _Node) -> Iterator[Site]:
    if node.kind == "array":
        for item in node.value:
            yield from _json_sites(text, item)
        return
    if node.kind != "object":
        return
    for key, item in node.value:
        if key == "Statement" and item.kind in ("array", "object"):
            yield from _json_statements(text, item)
        else:
            yield from _json_sites(text, item)


def _json_removals(text: str, node: _Node, lines: set[int], found: dict[int, list[Edit]]) -> None:
    if node.kind not in ("object", "array"):
        return
    members = node.value if node.kind == "object" else []
    for index, (key, item) in enumerate(members):
        if key in REMOVABLE_KEYS and len(members) > 1:
            written = {_line_of(text, item.key_start or item.start), _line_of(text, item.start)} & lines
            if written:
                found[min(written)] = removal_edits(text, _members(members), {index})
                found.update({line: [] for line in written if line != min(written)})
            continue
        if key not in REMOVABLE_LISTS or item.kind != "array":
            continue
        at: dict[int, list[int]] = {}
        for position, element in enumerate(item.value):
            at.setdefault(_line_of(text, element.start), []).append(position)
        going = _one_per_line(at, lines)
        if not going:
            continue
        spans = tuple(Span(element.start, element.end) for element in item.value)
        if len(going) < len(spans):
            edits = removal_edits(text, Items(spans), set(going.values()))
        elif len(members) > 1:
            edits = removal_edits(text, _members(members), {index})
        else:
            edits = [(spans[0].start, spans[-1].end, "")]
        found.update({line: [] for line in going})
        found[min(going)] = edits
    for child in [item for _, item in members] if node.kind == "object" else node.value:
        _json_removals(text, child, lines, found)


def _members(members: list[tuple[str, _Node]]) -> Items:
    """An object's members as a list, each from its key to its value's end."""
    return Items(tuple(Span(member.key_start or member.start, member.end) for _, member in members))


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _one_per_line(at: dict[int, list[int]], lines: set[int]) -> dict[int, int]:
    """The entries at `lines`, by line; a line with several entries is left alone, since a
    finding's line cannot say which of them it means."""
    return {line: positions[0] for line, positions in at.items() if line in lines and len(positions) == 1}


def _json_statements(text: str, value: _Node) -> Iterator[Site]:
    elements = value.value if value.kind == "array" else [value]
    siblings = Items(tuple(Span(element.start, element.end) for element in elements))
    for index, element in enumerate(elements):
        if element.kind != "object":
            continue
        keys = dict(element.value)
        effect = keys["Effect"].value if "Effect" in keys else "Allow"
        action = _json_action(text, keys["Action"]) if "Action" in keys else None
        line = text.count("\n", 0, element.start) + 1
        span = Span(element.start, element.end)
        yield Site(line, span, effect, action, "NotAction" in keys, siblings, index)


def _json_action(text: str, node: _Node) -> ActionValue | None:
    if node.kind == "scalar":
        is_string = isinstance(node.value, str)
        return ActionValue(Span(node.start, node.end), (node.value,), None) if is_string else None
    if node.kind != "array" or not node.value or not all(isinstance(item.value, str) for item in node.value):
        return None
    spans = tuple(Span(item.start, item.end) for item in node.value)
    items = Items(spans, _separator(text, spans, node.start + 1))
    return ActionValue(Span(node.start, node.end), tuple(item.value for item in node.value), items)


# ---------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------

_STR = "tag:yaml.org,2002:str"
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:*?_.-]*")


def _yaml_writer(style: str | None) -> Writer:
    """A scalar written in the quoting of its neighbours, plain only when that is safe."""
    if style == "'":
        return lambda value: "'" + value.replace("'", "''") + "'"
    if style is None:
        return lambda value: value if _PLAIN.fullmatch(value) else json.dumps(value)
    return json.dumps


def _yaml_sites(text: str, node: Any) -> Iterator[Site]:
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _yaml_sites(text, item)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "Statement":
                yield from _yaml_statements(text, value)
            else:
                yield from _yaml_sites(text, value)


def _yaml_removals(text: str, node: Any, lines: set[int], found: dict[int, list[Edit]]) -> None:
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _yaml_removals(text, child, lines, found)
    if not isinstance(node, yaml.MappingNode):
        return
    for key, value in node.value:
        _yaml_removals(text, value, lines, found)
        if isinstance(key, yaml.ScalarNode) and key.value in REMOVABLE_KEYS:
            _yaml_key_removal(text, node, key, value, lines, found)
            continue
        removable = isinstance(key, yaml.ScalarNode) and key.value in REMOVABLE_LISTS
        if not removable or not isinstance(value, yaml.SequenceNode):
            continue
        at: dict[int, list[int]] = {}
        for position, item in enumerate(value.value):
            at.setdefault(item.start_mark.line + 1, []).append(position)
        going = _one_per_line(at, lines)
        if not going:
            continue
        spans = tuple(_yaml_item_span(text, value, element) for element in value.value)
        if len(going) < len(spans):
            edits = removal_edits(text, Items(spans), set(going.values()))
        elif node.flow_style or len(node.value) == 1:
            continue
        else:
            edits = [_line_removal(text, Span(key.start_mark.index, spans[-1].end))]
        found.update({line: [] for line in going})
        found[min(going)] = edits


def _yaml_key_removal(
    text: str, mapping: yaml.MappingNode, key: Any, value: Any, lines: set[int], found: dict[int, list[Edit]]
) -> None:
    """The lines of a block mapping's key and its value, when the policy is written at the
    key's line or where its value starts; never the mapping's only key."""
    at = {key.start_mark.line + 1, value.start_mark.line + 1} & lines
    if not at or mapping.flow_style or len(mapping.value) == 1:
        return
    found[min(at)] = [_line_removal(text, Span(key.start_mark.index, _content_end(text, value)))]
    found.update({line: [] for line in at if line != min(at)})


def _yaml_item_span(text: str, sequence: yaml.SequenceNode, node: Any) -> Span:
    """An item of a block sequence starts at its dash and ends where its content does."""
    end = _content_end(text, node)
    if sequence.flow_style:
        return Span(node.start_mark.index, end)
    line_start = text.rfind("\n", 0, node.start_mark.index) + 1
    return Span(text.index("-", line_start, node.start_mark.index), end)


def _content_end(text: str, node: Any) -> int:
    """Where a node's own text ends: a block collection's end mark lies past any comments
    and blank lines that follow it, so its end is that of its last value (and a block
    scalar's lies past its final newline)."""
    if isinstance(node, yaml.ScalarNode) or node.flow_style or not node.value:
        return len(text[: node.end_mark.index].rstrip())
    last = node.value[-1]
    return _content_end(text, last[1] if isinstance(node, yaml.MappingNode) else last)


def _yaml_statements(text: str, value: Any) -> Iterator[Site]:
    if isinstance(value, yaml.SequenceNode):
        elements = value.value
        siblings = Items(tuple(_yaml_item_span(text, value, element) for element in elements))
    elif isinstance(value, yaml.MappingNode):
        elements = [value]
        siblings = Items((Span(value.start_mark.index, value.end_mark.index),))
    else:
        return
    for index, element in enumerate(elements):
        if not isinstance(element, yaml.MappingNode):
            continue
        keys = {key.value: item for key, item in element.value if isinstance(key, yaml.ScalarNode)}
        effect_node = keys.get("Effect")
        effect = _yaml_string(effect_node) if effect_node is not None else "Allow"
        action = _yaml_action(text, keys["Action"]) if "Action" in keys else None
        line = element.start_mark.line + 1
        yield Site(line, siblings.spans[index], effect, action, "NotAction" in keys, siblings, index)


def _yaml_string(node: Any) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and node.tag == _STR else None


def _yaml_action(text: str, node: Any) -> ActionValue | None:
    if isinstance(node, yaml.ScalarNode):
        if node.tag != _STR or node.style not in (None, '"', "'"):
            return None
        span = Span(node.start_mark.index, node.end_mark.index)
        return ActionValue(span, (node.value,), None, _yaml_writer(node.style))
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        return None
    scalars = node.value
    if not all(isinstance(item, yaml.ScalarNode) and item.tag == _STR for item in scalars):
        return None
    write = _yaml_writer(scalars[0].style)
    spans = tuple(_yaml_item_span(text, node, item) for item in scalars)
    if node.flow_style:
        items = Items(spans, _separator(text, spans, node.start_mark.index + 1), write)
    else:
        indent = spans[0].start - (text.rfind("\n", 0, spans[0].start) + 1)
        items = Items(spans, _newline(text) + " " * indent, lambda value: "- " + write(value))
    span = Span(node.start_mark.index, spans[-1].end)
    return ActionValue(span, tuple(item.value for item in scalars), items, write)

