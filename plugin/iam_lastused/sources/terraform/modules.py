"""Module calls: which directory a call reads, and its instances (one, a list for
`count`, a mapping for `for_each`), each with the arguments the call passes."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iam_lastused.files import OUTSIDE_ROOT, real_path
from iam_lastused.model import InputError
from iam_lastused.sources.terraform.hcl import Block
from iam_lastused.sources.terraform.instances import ALL, Children, Instance, Repeat, Scope, instance_suffix
from iam_lastused.sources.terraform.reader import Module
from iam_lastused.sources.terraform.values import Unknown, evaluate

if TYPE_CHECKING:
    from iam_lastused.sources.terraform.scan import Scan

_MODULE_META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}
# module calls multiply (a calls b twice, b calls c twice, ...): past this many
# instances, further calls are not followed
_MAX_INSTANCES = 10_000


def local_source(block: Block) -> str | None:
    source = block["attrs"].get("source")
    if source and source[0] == "l" and isinstance(source[1], str) and source[1].startswith(("./", "../")):
        return source[1]
    return None


def _source_kind(source: str) -> str:
    if source.startswith(("git::", "git@", "github.com/", "bitbucket.org/")):
        return "git"
    if "::" in source or source.startswith(("http://", "https://")):
        return "remote"
    return "registry"


def local_calls(module: Module) -> list[Path]:
    """The directories the local module calls of `module` name."""
    sources = (local_source(block) for _, block in module.blocks("module"))
    return [callee for source in sources if source and (callee := real_path(module.real / source))]


def instantiate_root(scan: Scan, module: Module, inputs: Mapping[str, Callable[[], Any]]) -> None:
    instantiate(scan, module, "", inputs, (module.real,))


def instantiate(
    scan: Scan,
    module: Module,
    prefix: str,
    inputs: Mapping[str, Callable[[], Any]],
    stack: tuple[Path, ...],
    unsettled: str | None = None,
) -> Instance:
    """An instance of `module` (`stack`: the directories of the calls that lead to it,
    its root module's first), and of every module it calls."""
    instance = Instance(scan, module, prefix, inputs, stack[0], unsettled)
    scan.instances.append(instance)
    for file, block in module.blocks("module"):
        name = block["labels"][0]
        instance.children[name] = _call(scan, _Call(instance, name, file, block), stack)
    return instance


@dataclass(frozen=True)
class _Call:
    """A module block, in the instance that holds it."""

    caller: Instance
    name: str
    file: str
    block: Block

    @property
    def address(self) -> str:
        return f"{self.caller.prefix}module.{self.name}"


def _call(scan: Scan, call: _Call, stack: tuple[Path, ...]) -> Children:
    """The instances of a module call: one, a list (count), a mapping (for_each), or
    None where the call is not followed."""
    module = _called_module(scan, call, stack)
    if module is None:
        return None
    caller, address, file, block = call.caller, call.address, call.file, call.block
    inner = (*stack, module.real)
    repeats = caller.repeats(("module", call.name), file, block)
    if isinstance(repeats, Unknown):
        scan.note(f"{address}: {repeats.reason}; its instances are read as one")
        return _call_instance(scan, call, module, inner, ALL, None, f"{address}: {repeats.reason}")
    children = {key: _call_instance(scan, call, module, inner, key, repeat, None) for key, repeat in repeats}
    if repeats and repeats[0][0] is None:
        return children[None]
    if all(isinstance(key, int) for key in children):
        return list(children.values())
    return children


def _called_module(scan: Scan, call: _Call, stack: tuple[Path, ...]) -> Module | None:
    """The module directory a call reads, loaded; None, said, where it is not followed."""
    caller, address, file, block = call.caller, call.address, call.file, call.block
    source_expr = block["attrs"].get("source")
    source = evaluate(source_expr, Scope(caller, file)) if source_expr else Unknown("no source")
    if not isinstance(source, str):
        scan.note(f"{address}: module source is not a literal; not followed")
        return None
    local = local_source(block)
    if local is None:
        scan.note(f"{address}: {_source_kind(source)} source {source} not followed")
        return None
    real = real_path(caller.module.real / local)
    if real is None:
        scan.error(InputError(f"{address}: module source {local} is not a path", file, block["line"]))
        return None
    if not scan.root.contains(real):
        scan.error(InputError(f"{address}: module source {local} is {OUTSIDE_ROOT}; not followed",
                              file, block["line"]))
        return None
    if real in stack:
        scan.note(f"{address}: module source {local} is a module cycle; not followed")
        return None
    if not real.is_dir():
        scan.error(InputError(f"{address}: module source {local} not found", file, block["line"]))
        return None
    if len(scan.instances) >= _MAX_INSTANCES:
        scan.error(InputError(f"over {_MAX_INSTANCES:,} module instances: further calls not followed"))
        return None
    # shown from where it really is, as file() paths are: `./link/../x` through a
    # link to a directory deeper down is not `../x`
    relative = os.path.relpath(real, caller.module.real)
    shown = os.path.normpath(os.path.join(caller.module.display, relative))
    return scan.files.module(real, shown)


def _call_instance(
    scan: Scan,
    call: _Call,
    module: Module,
    stack: tuple[Path, ...],
    key: Any,
    repeat: Repeat,
    unsettled: str | None,
) -> Instance:
    scope = Scope(call.caller, call.file, repeat)
    inputs = {
        argument: (lambda expr=expr: evaluate(expr, scope))
        for argument, expr in call.block["attrs"].items()
        if argument not in _MODULE_META_ARGUMENTS
    }
    prefix = f"{call.address}{instance_suffix(key)}."
    return instantiate(scan, module, prefix, inputs, stack, unsettled or call.caller.unsettled)
