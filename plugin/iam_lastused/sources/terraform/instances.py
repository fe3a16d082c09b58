"""Module instances: the evaluation scope of one module call (or of a root module),
and what its variables, locals, outputs, resources and data sources evaluate to."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from iam_lastused.model import InputError, Location
from iam_lastused.policy import PolicyDoc
from iam_lastused.sources.iam_resources import TERRAFORM
from iam_lastused.sources.terraform import data_sources
from iam_lastused.sources.terraform.hcl import Block, Expr
from iam_lastused.sources.terraform.reader import Module
from iam_lastused.sources.terraform.syntax import Unevaluated
from iam_lastused.sources.terraform.values import (
    Document,
    Namespace,
    Text,
    as_declared,
    as_string,
    document_from_block,
    evaluate,
    policy_document,
    tag,
    why_unknown,
)
from iam_lastused.sources.unknown import Unknown

if TYPE_CHECKING:
    from iam_lastused.sources.terraform.scan import Scan


class ResourceKey(NamedTuple):
    """A resource instance: its module instance, type, name and instance key."""

    instance: Instance
    type: str
    name: str
    key: Any


_BUSY = object()


class VarFileScope:
    """A .tfvars file: literal values only."""

    def __init__(self, scan: Scan, file: str) -> None:
        self.scan = scan
        self.file = file

    def root(self, name: str) -> Any:
        return Unknown(f"{name} cannot be referenced in a var file")

    def read(self, path: str, line: int | None) -> Text | Unknown:
        return Unknown("file() in a var file is not evaluated")

    def error(self, error: InputError) -> None:
        self.scan.error(error)


class Scope:
    """Expressions written in one file of one module instance; in a resource or module
    call with count or for_each, `repeat` holds what `count` and `each` read as."""

    def __init__(self, instance: Instance, file: str, repeat: Repeat = None) -> None:
        self.instance = instance
        self.file = file
        self.repeat = repeat

    def root(self, name: str) -> Any:
        if self.repeat is not None and name in self.repeat:
            return self.repeat[name]
        return self.instance.root(name)

    def read(self, path: str, line: int | None) -> Text | Unknown:
        return self.instance.scan.read(self.instance, path, self.file, line)

    def error(self, error: InputError) -> None:
        self.instance.scan.error(error)


def _indexed(blocks: Iterator[tuple[str, Block]]) -> dict[str, tuple[str, Block]]:
    return {block["labels"][0]: (file, block) for file, block in blocks if block["labels"]}


class _All:
    """The key of the one instance that stands for all of a resource's or module call's
    instances when its count or for_each cannot be settled."""

    def __repr__(self) -> str:
        return "ALL"


ALL = _All()

Repeat: TypeAlias = "dict[str, dict[str, Any]] | None"
"""What `count` (`{"index": ...}`) and `each` (`{"key": ..., "value": ...}`) read as in
one instance of a resource or module call; None outside one, or where not settled."""

Children: TypeAlias = "Instance | list[Instance] | dict[Any, Instance] | None"

_MAX_REPEATS = 1_000


def instance_suffix(key: Any) -> str:
    """How an address names the instance `key`: `[0]`, `["a"]`, `[*]`, or nothing."""
    if key is None:
        return ""
    if key is ALL:
        return "[*]"
    return f"[{json.dumps(key, ensure_ascii=False) if isinstance(key, str) else key}]"


def _repeats(block: Block, scope: Scope) -> list[tuple[Any, Repeat]] | Unknown:
    """Each instance of a resource, data source or module call, by its key, with what
    `count` or `each` reads as in it; Unknown (with why) when the count or for_each
    cannot be settled. No count or for_each: one instance, key None."""
    attrs = block["attrs"]
    if "count" in attrs:
        count = evaluate(attrs["count"], scope)
        if isinstance(count, bool) or not isinstance(count, (int, float)):
            return Unknown(f"count cannot be settled: {why_unknown(count) or 'not a number'}")
        if count > _MAX_REPEATS:
            return Unknown(f"count is over {_MAX_REPEATS:,}")
        return [(index, {"count": {"index": index}}) for index in range(max(int(count), 0))]
    if "for_each" in attrs:
        value = evaluate(attrs["for_each"], scope)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            items = [(str(item), item) for item in dict.fromkeys(value)]
        elif isinstance(value, dict) and not isinstance(value, Namespace):
            items = list(value.items())
        else:
            reason = why_unknown(value) or "not a map or a set of strings"
            return Unknown(f"for_each cannot be settled: {reason}")
        if len(items) > _MAX_REPEATS:
            return Unknown(f"for_each has over {_MAX_REPEATS:,} items")
        return [(key, {"each": {"key": key, "value": item}}) for key, item in sorted(items)]
    return [(None, None)]


class Instance:
    """One instance of a module: `prefix` is its address (`module.a["x"].module.b.`),
    `call_key` the names of the calls that lead to it (`a.b`, the manifest's Key), `root`
    the real directory of its root module, where terraform runs."""

    def __init__(
        self,
        scan: Scan,
        module: Module,
        prefix: str,
        inputs: Mapping[str, Callable[..., Any]],
        root: Path,
        unsettled: str | None = None,
        call_key: str = "",
    ) -> None:
        self.scan = scan
        self.module = module
        self.prefix = prefix
        self.inputs = inputs
        self.root_module = root
        self.unsettled = unsettled
        self.call_key = call_key
        self.children: dict[str, Any] = {}
        self.variables = _indexed(module.blocks("variable"))
        self.outputs = _indexed(module.blocks("output"))
        self.locals = {
            name: (file, expr)
            for file, block in module.blocks("locals")
            for name, expr in block["attrs"].items()
        }
        self.resources = {
            (block["labels"][0], block["labels"][1]): (file, block)
            for file, block in module.blocks("resource")
            if len(block["labels"]) == 2
        }
        self.documents = {
            block["labels"][1]: (file, block)
            for file, block in module.blocks("data")
            if len(block["labels"]) == 2 and block["labels"][0] == "aws_iam_policy_document"
        }
        self.data_sources = {
            (block["labels"][0], block["labels"][1]): (file, block)
            for file, block in module.blocks("data")
            if len(block["labels"]) == 2 and block["labels"][0] in data_sources.KNOWN_TYPES
        }
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _once(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """A memoised value; one that depends on itself is unknown rather than a loop."""
        if key in self._memo:
            value = self._memo[key]
            return Unknown(f"{'.'.join(map(str, key))} refers to itself") if value is _BUSY else value
        self._memo[key] = _BUSY
        value = compute()
        self._memo[key] = value
        return value

    def root(self, name: str) -> Any:
        namespaces: dict[str, Callable[[str], Any]] = {
            "var": self.var,
            "local": self.local,
            "path": self.path,
            "module": self.module_outputs,
            "data": self.data,
        }
        if name in namespaces:
            return Namespace(namespaces[name])
        if name in ("count", "each"):
            return Namespace(lambda attr: Unknown(f"{name}.{attr} differs per instance"))
        if name in TERRAFORM:
            return Namespace(lambda resource_name: self.resource(name, resource_name))
        return Unknown(f"{name} is known only after apply")

    def var(self, name: str) -> Any:
        return self._once(("var", name), lambda: self._variable(name))

    def _variable(self, name: str) -> Any:
        """A variable's value: what the caller (or, for a root module, the user) gives,
        else its default. A `nullable = false` variable given null takes its default."""
        declared = self.variables.get(name)
        value = self.inputs[name]() if name in self.inputs else None
        if declared is None:
            return value if name in self.inputs else Unknown(f"var.{name} is not declared")
        file, block = declared
        attrs = block["attrs"]
        scope = Scope(self, file)
        defaulted = name not in self.inputs or (
            value is None and "nullable" in attrs and evaluate(attrs["nullable"], scope) is False
        )
        if defaulted:
            if "default" not in attrs:
                return Unknown(f"var.{name} has no default")
            value = evaluate(attrs["default"], scope)
        return as_declared(value, attrs.get("type"), scope)

    def local(self, name: str) -> Any:
        if name not in self.locals:
            return Unknown(f"local.{name} is not defined")
        file, expr = self.locals[name]
        return self._once(("local", name), lambda: evaluate(expr, Scope(self, file)))

    def path(self, name: str) -> Any:
        """As terraform, run in the root module's directory, gives them: `path.module`
        the module's directory from there (`.` for the root module itself, `modules/x`,
        `.terraform/modules/x`), `path.root` `.`, `path.cwd` the absolute directory."""
        if name == "module":
            return os.path.relpath(self.module.real, self.root_module)
        if name == "root":
            return "."
        if name == "cwd":
            return str(self.root_module)
        return Unknown(f"path.{name} is not evaluated")

    def repeats(self, what: tuple[str, str], file: str, block: Block) -> list[tuple[Any, Repeat]] | Unknown:
        """The instances of a resource, data source or module call (`what`: its type
        and name), memoised."""
        return self._once(("repeats", *what), lambda: _repeats(block, Scope(self, file)))

    def keys(self, resource_type: str, name: str) -> list[Any]:
        """The instance keys of a resource: [ALL] where its count cannot be settled."""
        file, block = self.resources[(resource_type, name)]
        repeats = self.repeats((resource_type, name), file, block)
        return [ALL] if isinstance(repeats, Unknown) else [key for key, _ in repeats]

    def repeat(self, what: tuple[str, str], file: str, block: Block, key: Any) -> Repeat:
        repeats = self.repeats(what, file, block)
        if isinstance(repeats, Unknown):
            return None
        return next((repeat for found, repeat in repeats if found == key), None)

    def module_outputs(self, name: str) -> Any:
        if name not in self.children:
            return Unknown(f"module.{name} is not defined")
        child = self.children[name]
        if child is None:
            return Unknown(f"module.{name} is not followed")
        if isinstance(child, list):
            return [Namespace(each.output) for each in child]
        if isinstance(child, dict):
            return {key: Namespace(each.output) for key, each in child.items()}
        return Namespace(child.output, instances=True)

    def output(self, name: str) -> Any:
        if name not in self.outputs:
            return Unknown(f"output {name} is not defined")
        file, block = self.outputs[name]
        value = block["attrs"].get("value", Unevaluated(f"output {name} has no value"))
        return self._once(("output", name), lambda: evaluate(value, Scope(self, file)))

    def data(self, data_type: str) -> Any:
        if data_type in data_sources.KNOWN_TYPES:
            return Namespace(lambda name: self._data_reference(data_type, name))
        if data_type != "aws_iam_policy_document":
            return Unknown(f"data.{data_type} is read at apply")
        return Namespace(self._document_reference)

    def _data_reference(self, data_type: str, name: str) -> Any:
        address = f"{self.prefix}data.{data_type}.{name}"
        if (data_type, name) not in self.data_sources:
            return Unknown(f"{address} is not defined")
        file, block = self.data_sources[(data_type, name)]
        what = (f"data.{data_type}", name)

        policies = InTreePolicies(self.scan, address)

        def instance(key: Any) -> Namespace:
            def attribute(attr: str) -> Any:
                scope = Scope(self, file, self.repeat(what, file, block, key))
                return self._once(("data", data_type, name, key, attr), lambda: data_sources.attribute(
                    data_type, address, block, scope, attr, self.scan.environment, policies))

            return Namespace(attribute, instances=key is None or key is ALL)

        return _instances(self.repeats(what, file, block), instance)

    def _document_reference(self, name: str) -> Any:
        if name not in self.documents:
            return Unknown(f"data.aws_iam_policy_document.{name} is not defined")
        file, block = self.documents[name]

        def instance(key: Any) -> Namespace:
            def attribute(attr: str) -> Any:
                if attr in ("json", "minified_json"):
                    return self.document(name, key)
                return Unknown(f"data.aws_iam_policy_document.{name}.{attr} is not evaluated")

            return Namespace(attribute, instances=key is None or key is ALL)

        return _instances(self.repeats(("data", name), file, block), instance)

    def document(self, name: str, key: Any = None) -> PolicyDoc:
        file, block = self.documents[name]
        scope = Scope(self, file, self.repeat(("data", name), file, block, key))
        return self._once(("document", name, key), lambda: document_from_block(block, scope))

    def resource(self, resource_type: str, name: str) -> Any:
        if (resource_type, name) not in self.resources:
            return Unknown(f"{resource_type}.{name} is not defined")
        file, block = self.resources[(resource_type, name)]

        def instance(key: Any) -> Namespace:
            whole = key is None or key is ALL
            return Namespace(lambda attr: self.attribute(resource_type, name, attr, key), instances=whole)

        return _instances(self.repeats((resource_type, name), file, block), instance)

    def scope(self, resource_type: str, name: str, key: Any) -> Scope:
        """The scope of one instance of a resource."""
        file, block = self.resources[(resource_type, name)]
        return Scope(self, file, self.repeat((resource_type, name), file, block, key))

    def attribute(self, resource_type: str, name: str, attr: str, key: Any = None) -> Any:
        resource = ResourceKey(self, resource_type, name, key)
        kind = TERRAFORM[resource_type].kind
        if (attr == "name" and kind) or (attr == "id" and kind in ("role", "user", "group")):
            return tag(self.name(resource_type, name, key), resource)
        if attr == "path" and kind in ("role", "user", "group", "policy"):
            return tag(self.iam_path(resource_type, name, key), resource)
        return Unknown(f"{resource_type}.{name}.{attr} is known only after apply", resource)

    def name(self, resource_type: str, name: str, key: Any = None) -> Any:
        """A principal's name, or Unknown with the reason it is not known."""
        _, block = self.resources[(resource_type, name)]
        scope = self.scope(resource_type, name, key)
        return self._once(("name", resource_type, name, key), lambda: self._name(block["attrs"], scope))

    def iam_path(self, resource_type: str, name: str, key: Any = None) -> Any:
        """A principal's IAM path as the plan knows it: `/` where not set or null."""
        _, block = self.resources[(resource_type, name)]
        if "path" not in block["attrs"]:
            return "/"
        value = evaluate(block["attrs"]["path"], self.scope(resource_type, name, key))
        return "/" if value is None else value

    def _name(self, attrs: dict[str, Expr], scope: Scope) -> Any:
        if "name" not in attrs:
            if "name_prefix" in attrs:
                return Unknown("name_prefix: the final name is chosen at apply")
            return Unknown("no name: the name is chosen at apply")
        value = evaluate(attrs["name"], scope)
        if isinstance(value, Unknown):
            return Unknown(f"name is computed: {value.reason}")
        if value is None:
            return Unknown("no name: the name is chosen at apply")
        if isinstance(value, (dict, list)):
            return Unknown("name is not a string")
        name = as_string(value)  # never the text of a value not known (jsonencode of one)
        return Unknown(f"name is computed: {name.reason}") if isinstance(name, Unknown) else name

    def policy(self, name: str, key: Any = None) -> PolicyDoc:
        """The document of (one instance of) an aws_iam_policy defined in this module."""
        file, block = self.resources[("aws_iam_policy", name)]
        expr = block["attrs"].get("policy")
        if expr is None:
            return Document((), False, "the policy has no document")
        location = Location(file, block["lines"]["policy"])
        scope = self.scope("aws_iam_policy", name, key)
        return self._once(
            ("policy", name, key), lambda: policy_document(evaluate(expr, scope), location, self.scan.error)
        )


class InTreePolicies:
    """The code's own aws_iam_policy resources, as the data source `address` finds them
    (data_sources.InTreePolicies)."""

    def __init__(self, scan: Scan, address: str) -> None:
        self.scan, self.address = scan, address

    def by_arn(self, arn: str) -> Any:
        found = self.scan.policies.by_arn(arn)
        return None if found is None else tag(arn, found)

    def by_name(self, name: str, path_prefix: str | None) -> Any:
        found = self.scan.policies.by_name(name, path_prefix)
        arn = Unknown(f"{self.address}: the ARN of {name} is known only with --account-id")
        return None if found is None else tag(arn, found)


def _instances(repeats: list[tuple[Any, Repeat]] | Unknown, instance: Callable[[Any], Namespace]) -> Any:
    """A reference to a resource or data source: one namespace, a list of them (count),
    a mapping (for_each), or the one that stands for all when that is not settled."""
    if isinstance(repeats, Unknown):
        return instance(ALL)
    if not repeats:
        return []
    if repeats[0][0] is None:
        return instance(None)
    if isinstance(repeats[0][0], int):
        return [instance(key) for key, _ in repeats]
    return {key: instance(key) for key, _ in repeats}
