"""Module calls: which directory a call reads, and its instances (one, a list for
`count`, a mapping for `for_each`), each with the arguments the call passes.

A local source (`./x`, `../x`) is a directory beside the caller. Any other (registry,
git, S3, HTTP) is read where `terraform init` (or `terraform get`) installed it, as
terraform itself finds it: in the root module's manifest,
`.terraform/modules/modules.json` (`$TF_DATA_DIR/modules/modules.json`), whose entries
give, for each call by its Key (the call names from the root: `a.b`), the source it
was installed from, the version, and its directory (`Dir`, from the root module; a
`//subdir` already in it). Nothing is ever downloaded.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iam_lastused.files import OUTSIDE_ROOT, ReadRefused, real_path, refusal
from iam_lastused.files import read_bytes as read_file_bytes
from iam_lastused.model import InputError
from iam_lastused.sources.terraform.hcl import Block
from iam_lastused.sources.terraform.instances import ALL, Children, Instance, Repeat, Scope, instance_suffix
from iam_lastused.sources.terraform.reader import MAX_FILE_BYTES, Module
from iam_lastused.sources.terraform.syntax import Literal
from iam_lastused.sources.terraform.values import evaluate
from iam_lastused.sources.unknown import Unknown

if TYPE_CHECKING:
    from iam_lastused.sources.terraform.scan import Scan

_MODULE_META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}
# module calls multiply (a calls b twice, b calls c twice, ...): past this many
# instances, further calls are not followed
_MAX_INSTANCES = 10_000


def local_source(block: Block) -> str | None:
    source = block["attrs"].get("source")
    local = source.value if isinstance(source, Literal) else None
    if isinstance(local, str) and local.startswith(("./", "../")):
        return local
    return None


def _source_kind(source: str) -> str:
    if source.startswith(("git::", "git@", "github.com/", "bitbucket.org/")):
        return "git"
    if "::" in source or source.startswith(("http://", "https://")):
        return "remote"
    return "registry"


def _canonical(source: str) -> str:
    """A module source as the manifest and the configuration both may write it
    (`registry.terraform.io/a/b/c` and `a/b/c`; `git::https://github.com/a/b.git` and
    `github.com/a/b`), to tell a call whose source changed since `terraform init`."""
    found = re.sub(r"^[a-z0-9]+::", "", source.strip())
    found = re.sub(r"^(?:https?|ssh|git|s3|gcs)://", "", found)
    found = re.sub(r"^git@([^:/]+):", r"\1/", found).removeprefix("git@")
    found = found.removeprefix("registry.terraform.io/")
    found = re.sub(r"\.git(?=$|//|\?)", "", found)
    host, slash, rest = found.partition("/")
    return f"{host.lower()}{slash}{rest}"


_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def _version(text: str) -> tuple[int, ...] | None:
    """A release version's numbers (a pre-release, or anything else: None)."""
    found = _VERSION.match(text.strip())
    return None if found is None else tuple(int(part) for part in found.groups() if part is not None)


def _allows(constraints: str, installed: str) -> bool:
    """Whether the version installed meets a module call's `version` (Terraform's
    constraint syntax: `1.2.3`, `>= 1.0, < 2.0`, `~> 1.2`); a version or constraint not
    read here is taken to meet it, as the installed module is then read."""
    have = _version(installed)
    if have is None:
        return True
    for constraint in constraints.split(","):
        found = re.match(r"^\s*(~>|>=|<=|!=|=|>|<)?\s*(\S+)\s*$", constraint)
        wanted = _version(found.group(2)) if found else None
        if found is None or wanted is None:
            return True
        padded, needed = have + (0,) * (3 - len(have)), wanted + (0,) * (3 - len(wanted))
        operator = found.group(1) or "="
        if operator == "~>":
            upper = (wanted[0] + 1,) if len(wanted) == 1 else (*wanted[:-2], wanted[-2] + 1)
            upper_padded = upper + (0,) * (3 - len(upper))
            if not needed <= padded < upper_padded:
                return False
        elif not {"=": padded == needed, "!=": padded != needed, ">": padded > needed,
                  ">=": padded >= needed, "<": padded < needed, "<=": padded <= needed}[operator]:
            return False
    return True


@dataclass(frozen=True)
class Installed:
    """A module call as `terraform init` installed it (an entry of modules.json)."""

    source: str
    version: str | None
    dir: str


@dataclass(frozen=True)
class Manifest:
    """The modules.json of one root module: where it is, its entries by Key, or why it
    could not be read (`problem`; no entries then)."""

    file: str
    entries: Mapping[str, Installed]
    problem: str | None = None


def read_manifest(scan: Scan, root: Module) -> Manifest:
    """The manifest `terraform init` left for the root module `root`: under
    $TF_DATA_DIR (from the root module, as terraform runs there) or `.terraform`."""
    data_dir = os.environ.get("TF_DATA_DIR") or ".terraform"
    path = root.real / data_dir / "modules" / "modules.json"
    shown = os.path.normpath(os.path.join(root.display, data_dir, "modules", "modules.json"))
    scan.files.manifest.saw(path)
    if not path.exists():
        return Manifest(shown, {})
    try:
        loaded = json.loads(read_file_bytes(path, MAX_FILE_BYTES, scan.root))
    except (OSError, ReadRefused) as exc:
        return Manifest(shown, {}, f"not read: {refusal(exc)}")
    except ValueError:  # not JSON, or not UTF-8
        return Manifest(shown, {}, "not read: not a JSON module manifest")
    listed = loaded.get("Modules") if isinstance(loaded, dict) else None
    entries: dict[str, Installed] = {}
    for entry in listed if isinstance(listed, list) else ():
        if not isinstance(entry, dict):
            continue
        key, source, directory = entry.get("Key"), entry.get("Source"), entry.get("Dir")
        version = entry.get("Version")
        if isinstance(key, str) and isinstance(source, str) and isinstance(directory, str):
            entries[key] = Installed(source, version if isinstance(version, str) else None, directory)
    return Manifest(shown, entries)


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
    call_key: str = "",
) -> Instance:
    """An instance of `module` (`stack`: the directories of the calls that lead to it,
    its root module's first; `call_key` the names of those calls), and of every module
    it calls."""
    instance = Instance(scan, module, prefix, inputs, stack[0], unsettled, call_key)
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
        return _installed_module(scan, call, source, stack)
    real = real_path(caller.module.real / local)
    if real is None:
        scan.error(InputError(f"{address}: module source {local} is not a path", file, block["line"]))
        return None
    if not scan.root.contains(real):
        scan.error(InputError(f"{address}: module source {local} is {OUTSIDE_ROOT}; not followed",
                              file, block["line"]))
        return None
    if not real.is_dir():
        scan.error(InputError(f"{address}: module source {local} not found", file, block["line"]))
        return None
    # shown from where it really is, as file() paths are: `./link/../x` through a
    # link to a directory deeper down is not `../x`
    relative = os.path.relpath(real, caller.module.real)
    return _loaded(scan, call, real, os.path.join(caller.module.display, relative), local, stack)


def _installed_module(scan: Scan, call: _Call, source: str, stack: tuple[Path, ...]) -> Module | None:
    """The directory `terraform init` installed a registry, git, S3 or HTTP module in,
    as the root module's manifest gives it."""
    caller, file, block = call.caller, call.file, call.block
    root = scan.files.modules[caller.root_module]
    manifest = scan.manifest(root)
    key = f"{caller.call_key}.{call.name}" if caller.call_key else call.name
    where = f"{_key_address(key)}: {_source_kind(source)} module {source}"
    installed = manifest.entries.get(key)
    if manifest.problem is not None:
        scan.error(InputError(f"module manifest {manifest.problem}", manifest.file))
    if installed is None:
        scan.note(f"{where} is not installed: its principals are not shown; "
                  "`terraform init` (or `terraform get`) makes them visible")
        return None
    if _canonical(installed.source) != _canonical(source):
        scan.note(f"{where}: the source changed since it was installed (from {installed.source}): "
                  "its principals are not shown; `terraform init` installs it")
        return None
    wanted = evaluate(block["attrs"]["version"], Scope(caller, file)) if "version" in block["attrs"] else None
    if isinstance(wanted, str) and installed.version and not _allows(wanted, installed.version):
        scan.note(f"{where}: version {installed.version} is installed, not one of {wanted}: its principals "
                  "are not shown; `terraform init` installs it")
        return None
    real = real_path(root.real / installed.dir)
    if real is None or not scan.root.contains(real):
        scan.error(InputError(f"{where}: its directory in {manifest.file} is {OUTSIDE_ROOT}; not followed",
                              file, block["line"]))
        return None
    if not real.is_dir():
        scan.note(f"{where}: its directory {installed.dir} is missing: its principals are not shown; "
                  "`terraform init` (or `terraform get`) installs it")
        return None
    return _loaded(scan, call, real, os.path.join(root.display, installed.dir), source, stack)


def _key_address(key: str) -> str:
    """The address of a module call, without instance keys, from its manifest Key."""
    return ".".join(f"module.{name}" for name in key.split("."))


def _loaded(
    scan: Scan, call: _Call, real: Path, display: str, source: str, stack: tuple[Path, ...]
) -> Module | None:
    if real in stack:
        scan.note(f"{call.address}: module source {source} is a module cycle; not followed")
        return None
    if len(scan.instances) >= _MAX_INSTANCES:
        scan.error(InputError(f"over {_MAX_INSTANCES:,} module instances: further calls not followed"))
        return None
    return scan.files.module(real, os.path.normpath(display))


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
    caller = call.caller
    call_key = f"{caller.call_key}.{call.name}" if caller.call_key else call.name
    return instantiate(scan, module, prefix, inputs, stack, unsettled or caller.unsettled, call_key)
