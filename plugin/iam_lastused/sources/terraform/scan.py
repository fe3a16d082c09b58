"""IAM principals and what they are granted, read from Terraform source.

Terraform is read per module directory, following local module calls, and
evaluated as far as it can be without planning: variables (defaults, var files,
module arguments), locals, templates, references between resources. Whatever
depends on apply stays unknown, and says why. Each file's parse is cached by
its content, so a second scan of an unchanged tree skips python-hcl2.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias

from iam_lastused.files import (
    DEFAULT_EXCLUDE,
    HIDDEN_DIRECTORIES,
    OUTSIDE_ROOT,
    ReadRefused,
    Root,
    excerpt,
    real_path,
    refusal,
    root_for,
)
from iam_lastused.files import read_bytes as read_file_bytes
from iam_lastused.files import walk as walk_files
from iam_lastused.model import Grant, InputError, Kind, Location, Principal, SourceResult
from iam_lastused.policy import PolicyDoc
from iam_lastused.sources.iam_resources import PRINCIPAL_TYPES, TERRAFORM, collect
from iam_lastused.sources.terraform import data_sources, parse_cache
from iam_lastused.sources.terraform.data_sources import Known
from iam_lastused.sources.terraform.hcl import Block, Expr, HclError, hcl_attributes, hcl_blocks, json_blocks
from iam_lastused.sources.terraform.syntax import Literal, Unevaluated
from iam_lastused.sources.terraform.values import (
    Document,
    Namespace,
    Text,
    Unknown,
    as_declared,
    as_string,
    document_from_block,
    evaluate,
    expanded,
    policy_document,
    tag,
    text,
    why_unknown,
)
from iam_lastused.store import scan_memo
from iam_lastused.workers import OverBudget, map_bounded

CACHE_NAMESPACE = parse_cache.NAMESPACE
_CACHE_FORMAT = "terraform-parse/7"  # 7: typed expression nodes (syntax.py), kept by msgspec

_MODULE_META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}
# python-hcl2 takes seconds and hundreds of megabytes per megabyte of HCL: a bigger
# file (generated, or hostile) is reported rather than read
MAX_FILE_BYTES = 4 * 1024 * 1024
# module calls multiply (a calls b twice, b calls c twice, ...): past this many
# instances, further calls are not followed
_MAX_INSTANCES = 10_000

Key = tuple["_Instance", str, str, Any]
"""A resource instance: its module instance, type, name and instance key."""


def scan_terraform(
    paths: Sequence[Path],
    var_files: Sequence[Path] = (),
    root: Root | None = None,
    use_cache: bool = True,
    known: Known | None = None,
    variables: Sequence[tuple[str, str]] = (),
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
) -> SourceResult:
    """Principals defined by the Terraform in `paths` (files or directories); the var
    files set the variables of the root modules. Files the code names (`file()`,
    module sources, links) are read only inside `root` (by default the one of `paths`).
    Without `use_cache`, the parse cache is neither read nor written. `known` is what
    the data sources aws_caller_identity, aws_region and aws_partition answer;
    `variables` (`--var NAME=VALUE`) are set after the var files, in their order;
    `exclude` globs leave root modules out of the walk (`_Scan.discover`). A scan of
    what an earlier one read, unchanged, gives that scan's result (store.scan_memo)."""
    root = root if root is not None else root_for(paths)
    known = known or Known()
    memo_key = scan_memo.key(
        os.getcwd(), [str(path) for path in paths], [str(path) for path in var_files], list(variables),
        sorted((name, value) for name, value in os.environ.items() if name.startswith("TF_VAR_")),
        [str(directory) for directory in root.directories], known, list(exclude),
    )
    with _fewer_collections():
        if use_cache and (kept := scan_memo.load(memo_key)) is not None:
            return kept
        started = time.time_ns()
        scan = _Scan(root, use_cache, known)
        result = _read(scan, paths, var_files, variables, exclude)
        if use_cache:
            scan_memo.keep(memo_key, scan.manifest, result, started)
    return result


def _read(
    scan: _Scan,
    paths: Sequence[Path],
    var_files: Sequence[Path],
    variables: Sequence[tuple[str, str]],
    exclude: Sequence[str],
) -> SourceResult:
    given = scan.read_var_files(var_files)
    for name, value in variables:
        given[name] = scan.given_value(value, f"--var {name}")
    walked = scan.discover(paths, exclude)
    called = {callee for real in walked for callee in scan.local_calls(real) if callee != real}
    for real in walked:
        if real not in called:
            scan.instantiate_root(real, given)
    instantiated = {instance.module.real for instance in scan.instances}
    for real in walked:
        if real not in instantiated:  # only modules in a cycle of calls are left
            scan.instantiate_root(real, given)
            instantiated.update(instance.module.real for instance in scan.instances)
    return SourceResult(tuple(_principals(scan)), tuple(scan.errors), tuple(scan.notes))


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A scan keeps every file's parse, many small containers that live to the end;
    at the default threshold the garbage collector walks them over and over, which
    triples the time of a scan from the cache."""
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


# ---------------------------------------------------------------------------
# Files and module directories
# ---------------------------------------------------------------------------


TERRAFORM_SUFFIXES = (".tf", ".tf.json")


def _is_terraform(name: str) -> bool:
    return name.endswith(TERRAFORM_SUFFIXES)


def _terraform_files(directory: Path) -> list[Path]:
    return [path for path in sorted(directory.iterdir()) if _is_terraform(path.name) and not path.is_dir()]


_KEPT_DATA = {"aws_iam_policy_document", *data_sources.KNOWN_TYPES}


def _keep_block(kind: str, labels: list[str]) -> bool:
    if kind == "resource":
        return bool(labels) and labels[0] in TERRAFORM
    if kind == "data":
        return bool(labels) and labels[0] in _KEPT_DATA
    return kind in ("variable", "locals", "module", "output")


def parse_file(name: str, data: bytes) -> dict[str, Any]:
    """The blocks of one file as plain JSON-able data, or why it cannot be read."""
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"error": "cannot parse: not UTF-8 text", "line": None}
    try:
        blocks = (
            json_blocks(source, _keep_block) if name.endswith(".json") else hcl_blocks(source, _keep_block)
        )
    except MemoryError:  # over the worker's budget: workers.map_bounded says so
        raise
    except HclError as exc:  # HCL that Terraform refuses: in its words
        return {"error": str(exc), "line": exc.line}
    except Exception as exc:  # python-hcl2 and lark raise many types; each means this file is unreadable
        message, line = _describe(exc, source)
        return {"error": f"cannot parse: {message}", "line": line}
    return {"blocks": blocks}


def _describe(exc: Exception, source: str) -> tuple[str, int | None]:
    """Where a parse failed, and a short excerpt of that line: never the exception's own
    text, which quotes whole tokens of the file (a string of any length, say)."""
    line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
    line = line if isinstance(line, int) and line > 0 else None
    column = getattr(exc, "column", None) or getattr(exc, "colno", None)
    column = column if isinstance(column, int) and column > 0 else None
    token = getattr(getattr(exc, "token", None), "type", None)
    if token == "$END":
        what = "unexpected end of file"
    elif token is not None:
        what = "unexpected token"
    elif getattr(exc, "char", None) is not None:
        what = "unexpected character"
    else:
        what = "invalid syntax" if line else f"invalid {'JSON' if isinstance(exc, ValueError) else 'HCL'}"
    where = f" at column {column}" if column else ""
    near = excerpt(source, line, column)
    return f"{what}{where}" + (f" near `{near}`" if near else ""), line


def _load_all(
    paths: Sequence[Path], root: Root, use_cache: bool, manifest: scan_memo.Manifest
) -> list[dict[str, Any]]:
    """Each file's parse: from the cache when its content has been parsed before, the
    others all at once in bounded workers (on every core, each file within its time
    and memory budget). A file over the budget is not cached, nor is the scan that
    read it: on a busy machine an ordinary file may run late, and the cache would
    make that last."""
    loaded: list[dict[str, Any]] = []
    misses: list[tuple[int, str, bytes, str]] = []
    for path in paths:
        manifest.saw(path)
        try:
            data = read_file_bytes(path, MAX_FILE_BYTES, root)
        except (OSError, ReadRefused) as exc:
            loaded.append({"error": f"not read: {refusal(exc)}", "line": None})
            continue
        key = f"{_CACHE_FORMAT}:{hashlib.sha256(data).hexdigest()}"
        cached = parse_cache.load(key) if use_cache else None
        loaded.append(cached if isinstance(cached, dict) else {})
        if not isinstance(cached, dict):
            misses.append((len(loaded) - 1, path.name, data, key))
    parsed = map_bounded(parse_file, [(name, data) for _, name, data, _ in misses])
    for (index, _, _, key), outcome in zip(misses, parsed, strict=True):
        if isinstance(outcome, OverBudget):
            loaded[index] = {"error": outcome.reason, "line": None}
            manifest.keepable = False
        else:
            if use_cache:
                parse_cache.store(key, outcome)
            loaded[index] = outcome
    return loaded


@dataclass
class _Module:
    real: Path
    display: str
    files: list[tuple[str, list[Block]]]

    def blocks(self, kind: str) -> Iterator[tuple[str, Block]]:
        for file, blocks in self.files:
            for block in blocks:
                if block["type"] == kind:
                    yield file, block


def _local_source(block: Block) -> str | None:
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


class _Scan:
    def __init__(self, root: Root, use_cache: bool = True, known: Known | None = None) -> None:
        self.root = root
        self.use_cache = use_cache
        self.known = known or Known()
        self._policy_names: tuple[int, list[tuple[str, str, Key]]] | None = None
        self._finding_policies = False
        self.errors: dict[InputError, None] = {}
        self.notes: dict[str, None] = {}
        self.modules: dict[Path, _Module] = {}
        self.instances: list[_Instance] = []
        self.texts: dict[Path, Text | Unknown] = {}
        self.parsed: dict[Path, dict[str, Any]] = {}
        self.manifest = scan_memo.Manifest()

    def error(self, error: InputError) -> None:
        self.errors[error] = None

    def policy_by_arn(self, arn: str) -> Key | None:
        """The aws_iam_policy defined in the code whose ARN is `arn` (only when the
        account is known, as then are the ARNs of the policies the code defines)."""
        account = self.known.account_id
        if account is None:
            return None
        prefix = f"arn:{self.known.partition}:iam::{account}:policy"
        return next((key for path, name, key in self._policies() if f"{prefix}{path}{name}" == arn), None)

    def policy_by_name(self, name: str, path_prefix: str | None) -> Key | None:
        """The one aws_iam_policy defined in the code named `name`, on a path under
        `path_prefix`, as `data "aws_iam_policy"` finds it in any account."""
        found = [key for path, own, key in self._policies()
                 if own == name and path.startswith(path_prefix or "/")]
        return found[0] if len(found) == 1 else None

    def _policies(self) -> list[tuple[str, str, Key]]:
        """The path and name of each aws_iam_policy instance whose name is known (none
        while they are being found: a policy's name may read a data source that looks
        policies up)."""
        if self._finding_policies:
            return []
        if self._policy_names is None or self._policy_names[0] != len(self.instances):
            self._finding_policies = True
            try:
                found: list[tuple[str, str, Key]] = []
                for instance in list(self.instances):
                    for resource_type, name in list(instance.resources):
                        if resource_type != "aws_iam_policy":
                            continue
                        for key in instance.keys(resource_type, name):
                            if key is ALL:
                                continue
                            policy_name = instance.name(resource_type, name, key)
                            path = _path_of(instance, name, key)
                            if isinstance(policy_name, str) and isinstance(path, str):
                                found.append((path, policy_name, (instance, resource_type, name, key)))
            finally:
                self._finding_policies = False
            self._policy_names = (len(self.instances), found)
        return self._policy_names[1]

    def note(self, note: str) -> None:
        self.notes[note] = None

    def discover(self, paths: Sequence[Path], exclude: Sequence[str]) -> list[Path]:
        """The module directories under `paths`, loaded; each real directory is visited
        once. The walk leaves out hidden directories and what `exclude` names (globs,
        `files.walk`); a file named in `paths` is read whatever they say. They choose
        only the root modules: a module directory is read whole, as terraform reads it
        (a file glob leaves a directory out only when it leaves out all its Terraform
        files), and a module called from a root is read wherever it lies, excluded or
        not, as terraform would load it."""
        found: list[tuple[Path, str]] = []
        seen: set[Path] = set()
        for path in paths:
            self.manifest.saw(path)
            if path.is_file():
                walk: Iterator[tuple[Path, list[str], list[str]]] = iter([(path.parent, [], [path.name])])
            elif path.is_dir():
                walk = walk_files(path, (*exclude, HIDDEN_DIRECTORIES))
            else:
                self.error(InputError("no such file or directory", str(path)))
                continue
            for directory, links, names in walk:
                self.manifest.saw(directory)
                for link in links:
                    self.note(f"{directory / link}: a link to a directory; not followed")
                real = real_path(directory)
                if real is None or real in seen:
                    continue
                seen.add(real)
                if any(_is_terraform(name) for name in names):
                    found.append((real, str(directory)))
        self.preload([real for real, _ in found])
        for real, display in found:
            self.module(real, display)
        return [real for real, _ in found]

    def preload(self, directories: Sequence[Path]) -> None:
        """Parse the files of every module directory in one batch."""
        for directory in directories:
            self.manifest.saw(directory)
        files = [path for directory in directories for path in _terraform_files(directory)]
        missing = [path for path in files if path not in self.parsed]
        loaded = _load_all(missing, self.root, self.use_cache, self.manifest)
        self.parsed.update(zip(missing, loaded, strict=True))

    def module(self, real: Path, display: str) -> _Module:
        if real not in self.modules:
            self.preload([real])  # a directory reached only through a module call
            files = []
            for path in _terraform_files(real):
                file = str(Path(display) / path.name)
                parsed = self.parsed.pop(path)
                if "error" in parsed:
                    self.error(InputError(parsed["error"], file, parsed["line"]))
                files.append((file, parsed.get("blocks", [])))
            self.modules[real] = _Module(real, str(Path(display)), files)
        return self.modules[real]

    def local_calls(self, real: Path) -> list[Path]:
        module = self.modules[real]
        sources = (_local_source(block) for _, block in module.blocks("module"))
        return [callee for source in sources if source and (callee := real_path(real / source))]

    def read_var_files(self, var_files: Sequence[Path]) -> dict[str, Any]:
        """The values of the var files the user gave (on the command line, or in the
        config, which keeps them inside the repository)."""
        values: dict[str, Any] = {}
        for path in var_files:
            self.manifest.saw(path)
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.error(InputError(f"cannot read var file: {refusal(exc)}", str(path)))
                continue
            values.update(self._var_file(path, source))
        return values

    def auto_variables(self, module: _Module) -> dict[str, Any]:
        """What Terraform sets a root module's variables to before any -var-file:
        TF_VAR_* from the environment, then terraform.tfvars(.json), then the
        *.auto.tfvars(.json) files in lexical order, read inside the root."""
        values: dict[str, Any] = {}
        for name, value in os.environ.items():
            if name.startswith("TF_VAR_") and len(name) > 7:
                values[name[7:]] = self.given_value(value)
        self.manifest.saw(module.real)
        names = sorted(os.listdir(module.real)) if module.real.is_dir() else []
        auto = [name for name in names if name.endswith((".auto.tfvars", ".auto.tfvars.json"))]
        for name in ["terraform.tfvars", "terraform.tfvars.json", *auto]:
            if name not in names:
                continue
            display = Path(module.display) / name
            self.manifest.saw(module.real / name)
            try:
                source = read_file_bytes(module.real / name, MAX_FILE_BYTES, self.root).decode("utf-8")
            except (OSError, ReadRefused, UnicodeDecodeError) as exc:
                self.error(InputError(f"cannot read var file: {refusal(exc)}", str(display)))
                continue
            values.update(self._var_file(display, source))
        return values

    def given_value(self, value: str, origin: str = "environment") -> Any:
        """A TF_VAR_ or --var value: a string, or a list or map written in HCL."""
        if not value.lstrip().startswith(("[", "{")):
            return value
        try:
            expr = hcl_attributes(f"value = {value}\n")["value"]
        except Exception:  # not HCL: Terraform would take it as a string, or refuse it
            return value
        return evaluate(expr, _VarFileScope(self, origin))

    def _var_file(self, path: Path, source: str) -> dict[str, Any]:
        """The values a .tfvars or .tfvars.json file sets (none where it cannot be read)."""
        try:
            if path.name.endswith(".json"):
                values = json.loads(source)
                return values if isinstance(values, dict) else {}
            scope = _VarFileScope(self, str(path))
            return {name: evaluate(expr, scope) for name, expr in hcl_attributes(source).items()}
        except Exception as exc:  # unparsable: python-hcl2 and lark raise many types
            message, line = _describe(exc, source)
            self.error(InputError(f"cannot read var file: {message}", str(path), line))
            return {}

    def read(self, instance: _Instance, value: str, file: str, line: int | None) -> Text | Unknown:
        """The text of a file named in file()/templatefile(), relative to the module."""
        path = Path(value) if Path(value).is_absolute() else instance.module.real / value
        real = real_path(path) or path
        if real not in self.texts:
            self.manifest.saw(real)
            relative = os.path.relpath(real, instance.module.real)
            display = os.path.normpath(os.path.join(instance.module.display, relative))
            try:
                data = read_file_bytes(real, MAX_FILE_BYTES, self.root).decode("utf-8")
                self.texts[real] = text(data, file=display, line=1)
            except (OSError, ReadRefused, UnicodeDecodeError) as exc:
                self.texts[real] = Unknown(refusal(exc))
            except ValueError:  # a NUL in the name
                self.texts[real] = Unknown("not a file name")
        found = self.texts[real]
        if isinstance(found, Unknown):  # said at each place that names it
            # path.module evaluates to the real directory; say it as the report names it
            shown = value.replace(str(instance.module.real), instance.module.display)
            self.error(InputError(f"cannot read {shown}: {found.reason}", file, line))
            return Unknown(f"{shown} was not read: {found.reason}")
        return found

    def instantiate_root(self, real: Path, variables: dict[str, Any]) -> None:
        given = {**self.auto_variables(self.modules[real]), **variables}
        inputs = {name: (lambda value=value: value) for name, value in given.items()}
        self.instantiate(self.modules[real], "", inputs, (real,))

    def instantiate(
        self,
        module: _Module,
        prefix: str,
        inputs: Mapping[str, Callable[..., Any]],
        stack: tuple[Path, ...],
        unsettled: str | None = None,
    ) -> _Instance:
        instance = _Instance(self, module, prefix, inputs, stack[0], unsettled)
        self.instances.append(instance)
        for file, block in module.blocks("module"):
            name = block["labels"][0]
            instance.children[name] = self.call(instance, name, file, block, stack)
        return instance

    def call(
        self, caller: _Instance, name: str, file: str, block: Block, stack: tuple[Path, ...]
    ) -> Children:
        """The instances of a module call: one, a list (count), a mapping (for_each), or
        None where the call is not followed."""
        address = f"{caller.prefix}module.{name}"
        source_expr = block["attrs"].get("source")
        source = evaluate(source_expr, _Scope(caller, file)) if source_expr else Unknown("no source")
        if not isinstance(source, str):
            self.note(f"{address}: module source is not a literal; not followed")
            return None
        local = _local_source(block)
        if local is None:
            self.note(f"{address}: {_source_kind(source)} source {source} not followed")
            return None
        real = real_path(caller.module.real / local)
        if real is None:
            self.error(InputError(f"{address}: module source {local} is not a path", file, block["line"]))
            return None
        if not self.root.contains(real):
            self.error(InputError(f"{address}: module source {local} is {OUTSIDE_ROOT}; not followed",
                                  file, block["line"]))
            return None
        if real in stack:
            self.note(f"{address}: module source {local} is a module cycle; not followed")
            return None
        if not real.is_dir():
            self.error(InputError(f"{address}: module source {local} not found", file, block["line"]))
            return None
        if len(self.instances) >= _MAX_INSTANCES:
            self.error(InputError(f"over {_MAX_INSTANCES:,} module instances: further calls not followed"))
            return None
        # shown from where it really is, as file() paths are: `./link/../x` through a
        # link to a directory deeper down is not `../x`
        relative = os.path.relpath(real, caller.module.real)
        shown = os.path.normpath(os.path.join(caller.module.display, relative))
        module = self.module(real, shown)
        repeats = caller.repeats(("module", name), file, block)
        if isinstance(repeats, Unknown):
            self.note(f"{address}: {repeats.reason}; its instances are read as one")
            unsettled = f"{address}: {repeats.reason}"
            called = (caller, module, address, file, block, (*stack, real))
            return self._call_instance(*called, ALL, None, unsettled)
        called = (caller, module, address, file, block, (*stack, real))
        children = {key: self._call_instance(*called, key, repeat, None) for key, repeat in repeats}
        if repeats and repeats[0][0] is None:
            return children[None]
        if all(isinstance(key, int) for key in children):
            return list(children.values())
        return children

    def _call_instance(
        self,
        caller: _Instance,
        module: _Module,
        address: str,
        file: str,
        block: Block,
        stack: tuple[Path, ...],
        key: Any,
        repeat: Repeat,
        unsettled: str | None,
    ) -> _Instance:
        scope = _Scope(caller, file, repeat)
        inputs = {
            argument: (lambda expr=expr: evaluate(expr, scope))
            for argument, expr in block["attrs"].items()
            if argument not in _MODULE_META_ARGUMENTS
        }
        return self.instantiate(
            module, f"{address}{instance_suffix(key)}.", inputs, stack, unsettled or caller.unsettled
        )


# ---------------------------------------------------------------------------
# Module instances: the evaluation scope of one module call
# ---------------------------------------------------------------------------

_BUSY = object()


class _VarFileScope:
    """A .tfvars file: literal values only."""

    def __init__(self, scan: _Scan, file: str) -> None:
        self.scan = scan
        self.file = file

    def root(self, name: str) -> Any:
        return Unknown(f"{name} cannot be referenced in a var file")

    def read(self, path: str, line: int | None) -> Text | Unknown:
        return Unknown("file() in a var file is not evaluated")

    def error(self, error: InputError) -> None:
        self.scan.error(error)


class _Scope:
    """Expressions written in one file of one module instance; in a resource or module
    call with count or for_each, `repeat` holds what `count` and `each` read as."""

    def __init__(self, instance: _Instance, file: str, repeat: Repeat = None) -> None:
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

Children: TypeAlias = "_Instance | list[_Instance] | dict[Any, _Instance] | None"

_MAX_REPEATS = 1_000


def instance_suffix(key: Any) -> str:
    """How an address names the instance `key`: `[0]`, `["a"]`, `[*]`, or nothing."""
    if key is None:
        return ""
    if key is ALL:
        return "[*]"
    return f"[{json.dumps(key, ensure_ascii=False) if isinstance(key, str) else key}]"


def _repeats(block: Block, scope: _Scope) -> list[tuple[Any, Repeat]] | Unknown:
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


class _Instance:
    def __init__(
        self,
        scan: _Scan,
        module: _Module,
        prefix: str,
        inputs: Mapping[str, Callable[..., Any]],
        root: Path,
        unsettled: str | None = None,
    ) -> None:
        self.scan = scan
        self.module = module
        self.prefix = prefix
        self.inputs = inputs
        self.root_module = root
        self.unsettled = unsettled
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
        declared = self.variables.get(name)
        if name in self.inputs:
            value = self.inputs[name]()
        elif declared is None:
            return Unknown(f"var.{name} is not declared")
        elif "default" in declared[1]["attrs"]:
            value = evaluate(declared[1]["attrs"]["default"], _Scope(self, declared[0]))
        else:
            return Unknown(f"var.{name} has no default")
        if declared is None:
            return value
        return as_declared(value, declared[1]["attrs"].get("type"), _Scope(self, declared[0]))

    def local(self, name: str) -> Any:
        if name not in self.locals:
            return Unknown(f"local.{name} is not defined")
        file, expr = self.locals[name]
        return self._once(("local", name), lambda: evaluate(expr, _Scope(self, file)))

    def path(self, name: str) -> Any:
        """`path.module`; `path.root` and `path.cwd`, which are the root module's directory,
        where terraform runs."""
        if name == "module":
            return str(self.module.real)
        if name in ("root", "cwd"):
            return str(self.root_module)
        return Unknown(f"path.{name} is not evaluated")

    def repeats(self, what: tuple[str, str], file: str, block: Block) -> list[tuple[Any, Repeat]] | Unknown:
        """The instances of a resource, data source or module call (`what`: its type
        and name), memoised."""
        return self._once(("repeats", *what), lambda: _repeats(block, _Scope(self, file)))

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
        return self._once(("output", name), lambda: evaluate(value, _Scope(self, file)))

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

        policies = _InTreePolicies(self.scan, address)

        def instance(key: Any) -> Namespace:
            def attribute(attr: str) -> Any:
                scope = _Scope(self, file, self.repeat(what, file, block, key))
                return self._once(("data", data_type, name, key, attr), lambda: data_sources.attribute(
                    data_type, address, block, scope, attr, self.scan.known, policies))

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
        scope = _Scope(self, file, self.repeat(("data", name), file, block, key))
        return self._once(("document", name, key), lambda: document_from_block(block, scope))

    def resource(self, resource_type: str, name: str) -> Any:
        if (resource_type, name) not in self.resources:
            return Unknown(f"{resource_type}.{name} is not defined")
        file, block = self.resources[(resource_type, name)]

        def instance(key: Any) -> Namespace:
            whole = key is None or key is ALL
            return Namespace(lambda attr: self.attribute(resource_type, name, attr, key), instances=whole)

        return _instances(self.repeats((resource_type, name), file, block), instance)

    def scope(self, resource_type: str, name: str, key: Any) -> _Scope:
        """The scope of one instance of a resource."""
        file, block = self.resources[(resource_type, name)]
        return _Scope(self, file, self.repeat((resource_type, name), file, block, key))

    def attribute(self, resource_type: str, name: str, attr: str, key: Any = None) -> Any:
        resource: Key = (self, resource_type, name, key)
        kind = TERRAFORM[resource_type].kind
        if (attr == "name" and kind) or (attr == "id" and kind in ("role", "user", "group")):
            return tag(self.name(resource_type, name, key), resource)
        return Unknown(f"{resource_type}.{name}.{attr} is known only after apply", resource)

    def name(self, resource_type: str, name: str, key: Any = None) -> Any:
        """A principal's name, or Unknown with the reason it is not known."""
        _, block = self.resources[(resource_type, name)]
        scope = self.scope(resource_type, name, key)
        return self._once(("name", resource_type, name, key), lambda: self._name(block["attrs"], scope))

    def _name(self, attrs: dict[str, Expr], scope: _Scope) -> Any:
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


class _InTreePolicies:
    """The code's own aws_iam_policy resources, as the data source `address` finds them
    (data_sources.InTreePolicies)."""

    def __init__(self, scan: _Scan, address: str) -> None:
        self.scan, self.address = scan, address

    def by_arn(self, arn: str) -> Any:
        found = self.scan.policy_by_arn(arn)
        return None if found is None else tag(arn, found)

    def by_name(self, name: str, path_prefix: str | None) -> Any:
        found = self.scan.policy_by_name(name, path_prefix)
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


# ---------------------------------------------------------------------------
# Principals and grants
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resource:
    """One instance of a resource (`key` None where it has no count or for_each; ALL
    where they cannot be settled, with why in `unsettled`)."""

    instance: _Instance
    type: str
    name: str
    file: str
    block: Block
    key: Any = None
    unsettled: str | None = None

    @property
    def location(self) -> Location:
        return Location(self.file, self.block["line"])

    @property
    def where(self) -> str:
        return f"{self.instance.prefix}{self.type}.{self.name}"

    @property
    def address(self) -> str:
        return f"{self.where}{instance_suffix(self.key)}"

    def value(self, attr: str) -> Any:
        return evaluate(self.block["attrs"][attr], self.instance.scope(self.type, self.name, self.key))

    def attr_location(self, attr: str) -> Location:
        return Location(self.file, self.block["lines"].get(attr, self.block["line"]))


class _Reader:
    """The collector's view of resources in module instances (iam_resources.Reader)."""

    def __init__(self, scan: _Scan) -> None:
        self.scan = scan

    def key(self, resource: _Resource) -> Key:
        return (resource.instance, resource.type, resource.name, resource.key)

    def type(self, resource: _Resource) -> str:
        return resource.type

    def sets(self, resource: _Resource, attr: str) -> bool:
        block = resource.block
        return attr in block["attrs"] or any(
            nested["type"] == attr or (nested["type"] == "dynamic" and nested["labels"] == [attr])
            for nested in block["blocks"]
        )

    def document(self, resource: _Resource, attr: str, own: bool) -> Grant:
        if own:  # a managed policy's document, evaluated once for every attachment of it
            document = resource.instance.policy(resource.name, resource.key)
            grant = _grant(document, resource.attr_location(attr))
            return _unsettled(grant, resource)
        if attr not in resource.block["attrs"]:
            return Grant(resource.location, known=False, unknown=f"{attr} is not set")
        document = policy_document(resource.value(attr), resource.location, self.scan.error)
        return _unsettled(_grant(document, resource.location), resource)

    def inline_policies(self, resource: _Resource, attr: str) -> list[Grant]:
        """The role's inline_policy blocks, `dynamic "inline_policy"` ones expanded."""
        scope = resource.instance.scope(resource.type, resource.name, resource.key)
        grants = []
        for nested in resource.block["blocks"]:
            reasons: list[str] = []
            for inline, inner in expanded(nested, attr, scope, reasons):
                if "policy" in inline["attrs"]:
                    location = Location(resource.file, inline["line"])
                    value = evaluate(inline["attrs"]["policy"], inner)
                    grant = _grant(policy_document(value, location, self.scan.error), location)
                    grants.append(_unsettled(grant, resource))
            if reasons:
                grants.append(Grant(Location(resource.file, nested["line"]), known=False, unknown=reasons[0]))
        return grants

    def attached(self, resource: _Resource, attr: str) -> tuple[list[Grant], list[Key]]:
        """Grants for a policy_arn argument: an in-tree policy's statements or an ARN; at the
        attribute on a principal (a role's managed_policy_arns), else at the resource."""
        own = TERRAFORM[resource.type].kind is not None
        location = resource.attr_location(attr) if own else resource.location
        value = resource.value(attr) if attr in resource.block["attrs"] else Unknown(f"{attr} is not set")
        grants, sources = self._attached(value, location, resource.where)
        return [_unsettled(grant, resource) for grant in grants], sources

    def _attached(self, value: Any, location: Location, where: str) -> tuple[list[Grant], list[Key]]:
        if isinstance(value, list):
            found = [self._attached(item, location, where) for item in value]
            return [g for grants, _ in found for g in grants], [k for _, keys in found for k in keys]
        resource = getattr(value, "resource", None)
        if resource is not None and resource[1] == "aws_iam_policy":
            return [_grant(resource[0].policy(resource[2], resource[3]), location)], [resource]
        if isinstance(value, str):
            in_tree = self.scan.policy_by_arn(str(value))
            if in_tree is not None:
                return [_grant(in_tree[0].policy(in_tree[2], in_tree[3]), location)], [in_tree]
            return [Grant(location, policy_arn=str(value), known=False)], []
        reason = value.reason if isinstance(value, Unknown) else "not an ARN"
        self.scan.note(f"{where}: the policy ARN is not known: {reason}")
        return [Grant(location, known=False, unknown=f"the policy ARN is not known: {reason}")], []

    def unreadable(self, resource: _Resource) -> None:
        self.scan.error(InputError(f"{resource.where}: nested too deeply to read", resource.file))

    def targets(self, resource: _Resource, attr: str, kind: Kind) -> list[Key]:
        if attr not in resource.block["attrs"]:
            return []
        return self._targets(resource.instance, resource.value(attr), kind, resource.where)

    def _targets(self, instance: _Instance, value: Any, kind: Kind, where: str) -> list[Key]:
        """The principals of `kind` that a role/user/group argument names."""
        if isinstance(value, list):
            return [key for item in value for key in self._targets(instance, item, kind, where)]
        resource = getattr(value, "resource", None)
        resource_type = PRINCIPAL_TYPES[kind]
        if resource is not None and resource[1] == resource_type:
            return [resource]
        if isinstance(value, str):
            matches: list[Key] = [
                (instance, resource_type, name, key)
                for candidate_type, name in instance.resources
                if candidate_type == resource_type
                for key in instance.keys(resource_type, name)
                if instance.name(resource_type, name, key) == value
            ]
            if not matches:
                self.scan.note(f"{where}: {kind} {value} is not defined in the tree")
            return matches
        reason = value.reason if isinstance(value, Unknown) else f"not a {kind} name"
        self.scan.note(f"{where}: the {kind} is not known: {reason}")
        return []


def _grant(document: PolicyDoc, location: Location) -> Grant:
    statements = tuple(statement for _, statement in document.statements)
    reason = None if document.known else getattr(document, "reason", None)
    return Grant(location, statements, known=document.known, unknown=reason)


def _unsettled(grant: Grant, resource: _Resource) -> Grant:
    """A grant of a resource that may not exist (its count or for_each, or its module
    call's, cannot be settled) is not known: nothing may be removed on its account."""
    reason = resource.unsettled or resource.instance.unsettled
    if reason is None:
        return grant
    return replace(grant, known=False, unknown=f"{reason}: whether it exists is not known")


def _path_of(instance: _Instance, name: str, key: Any) -> Any:
    """The path of an aws_iam_policy: `/` when not set or null."""
    _, block = instance.resources[("aws_iam_policy", name)]
    if "path" not in block["attrs"]:
        return "/"
    value = evaluate(block["attrs"]["path"], instance.scope("aws_iam_policy", name, key))
    return "/" if value is None else value


def _path(resource: _Resource) -> tuple[str, str | None]:
    if "path" not in resource.block["attrs"]:
        return "/", None
    value = resource.value("path")
    if value is None:
        return "/", None
    if isinstance(value, str):
        return value, None
    return "/", f"path is computed: {value.reason if isinstance(value, Unknown) else 'not a string'}"


def _resources(scan: _Scan) -> Iterator[_Resource]:
    """Every instance of every IAM resource: none for a count of 0 or an empty for_each."""
    for instance in scan.instances:
        for (resource_type, name), (file, block) in instance.resources.items():
            repeats = instance.repeats((resource_type, name), file, block)
            if isinstance(repeats, Unknown):
                where = f"{instance.prefix}{resource_type}.{name}"
                scan.note(f"{where}: {repeats.reason}; its instances are read as one")
                yield _Resource(instance, resource_type, name, file, block, ALL, f"{where}: {repeats.reason}")
                continue
            for key, _ in repeats:
                yield _Resource(instance, resource_type, name, file, block, key)


def _principals(scan: _Scan) -> Iterator[Principal]:
    resources = list(_resources(scan))
    by_principal = collect(resources, _Reader(scan)).grants
    for resource in resources:
        kind = TERRAFORM[resource.type].kind
        if kind is None:
            continue
        principal_name = resource.instance.name(resource.type, resource.name, resource.key)
        path, path_unresolved = _path(resource)
        known_name = isinstance(principal_name, str)
        yield Principal(
            address=resource.address,
            source="terraform",
            kind=kind,
            location=resource.location,
            name=str(principal_name) if known_name else None,
            path=path,
            grants=tuple(dict.fromkeys(by_principal.get(_Reader(scan).key(resource), []))),
            unresolved=path_unresolved if known_name else principal_name.reason,
        )
