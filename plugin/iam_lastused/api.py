"""The library API: what the command line, the GitHub Action's steps or your own
script call. Plain values in, a `RunResult` out; `render` gives exactly what the
command line prints for a format.

    from iam_lastused import api

    result = api.scan(["infra"], access_data="access-data.json")
    print(api.render(result, "markdown"))

Options are keyword arguments named like the long command-line options
(`access_data=`, `stale_days=`, `account_id=`, `assume_role_arn=`, `granularity=`,
`root=`, ...: the fields of `runner.Options`). Bad options or unreadable inputs raise
`UsageError`; bad code is reported in `RunResult.errors`, and the run carries on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from iam_lastused import deployed_stacks
from iam_lastused.analysis.analyze import FAIL_LEVELS, has_findings
from iam_lastused.aws.sweep import Shard
from iam_lastused.environment import Environment
from iam_lastused.files import DEFAULT_EXCLUDE, Root, excluded, outside_root, root_for
from iam_lastused.model import RunResult
from iam_lastused.render import renderer
from iam_lastused.resolve import partition_of_region
from iam_lastused.runner import NO_CREDENTIALS, Options, Run, UsageError
from iam_lastused.sources import (
    Inputs,
    NoCode,
    ParametersError,
    Plan,
    PlanError,
    StackError,
    Terraform,
    parse_entries,
    plan_from_json,
    read_deployed,
    read_parameters_file,
    read_stack_mapping,
    scan_paths,
)
from iam_lastused.sources import load_plan as load_plan_file
from iam_lastused.sources import read_arns as principals_from_arns
from iam_lastused.suggest.edits import suggest as suggest_edits
from iam_lastused.suggest.verdicts import DEFAULT_MIN_AGE_DAYS, Suggestions
from iam_lastused.usage.fetch import FetchResult, fetch_access_data
from iam_lastused.usage.sweep import parse_shard
from iam_lastused.usage.sweep import run_sweep as sweep

__all__ = [
    "FAIL_LEVELS",
    "NO_CREDENTIALS",
    "FetchResult",
    "Options",
    "Shard",
    "UsageError",
    "cfn",
    "check",
    "fetch",
    "has_findings",
    "hook",
    "hook_files",
    "load_plan",
    "parse_shard",
    "plan",
    "principals_from_arns",
    "render",
    "scan",
    "suggest",
    "sweep",
]


def _options(options: Mapping[str, Any]) -> Options:
    paths = ("access_data", "root")
    values: dict[str, Any] = {
        key: Path(value) if key in paths and value and not str(value).startswith("s3://") else value
        for key, value in options.items()
    }
    try:
        return Options(**values)
    except TypeError as exc:  # an option that does not exist
        raise UsageError(str(exc).replace("__init__()", "option")) from None


def _paths(paths: Sequence[str | Path]) -> list[Path]:
    return [Path(path) for path in paths]


def scan(
    paths: Sequence[str | Path],
    *,
    var_file: Sequence[str | Path] = (),
    var: Sequence[str] = (),
    stack: Sequence[str] = (),
    stack_from_file: str | Path | None = None,
    parameters: str | Path | None = None,
    parameter: Sequence[str] = (),
    exclude: Sequence[str] = (),
    **options: Any,
) -> RunResult:
    """The principals in Terraform code, CloudFormation templates and CDK cloud
    assemblies under `paths`. `var_file` and `var` (`NAME=VALUE`) set Terraform root
    module variables; `stack` entries are `[TEMPLATE=]NAME`: the stack a template is
    deployed as; `parameters` a CloudFormation parameters file, `parameter` `KEY=VALUE`
    entries. The walk of each directory leaves out what the `exclude` globs match
    (relative to it), besides DEFAULT_EXCLUDE (files.walk; a module called from the
    code is read wherever it is); a directory left with nothing to read raises UsageError."""
    run = Run(_options(options))
    found_paths = _paths(paths)
    var_files, variables = _variables(var_file, var)
    try:
        stacks = read_stack_mapping(found_paths, stack, Path(stack_from_file) if stack_from_file else None)
    except StackError as exc:
        raise UsageError(str(exc)) from None
    if stacks and run.access_data is not None:
        raise UsageError("--stack reads the stack from AWS; it cannot be used with --access-data")
    values = _parameter_values(parameters, parameter)
    deployed = deployed_stacks.parameters(run, set(stacks.values()))
    environment = _environment(run, live=True)
    try:
        found = scan_paths(
            found_paths, var_files, stacks, root_for(found_paths, run.options.root),
            parameters=values, environment=environment, stack_parameters=deployed,
            use_cache=not run.options.no_cache, variables=variables, exclude=exclude,
        )
    except NoCode as exc:
        raise UsageError(str(exc)) from None
    principals = deployed_stacks.named(run, found.principals, set(stacks.values()))
    return run.analyse(replace(found, principals=tuple(run.resolve(principals))))


def plan(
    plan: str | Path | Mapping[str, Any], *, chdir: str | Path | None = None, **options: Any
) -> RunResult:
    """The principals of a Terraform plan: the JSON of `terraform show -json` (a file, or
    already loaded: `load_plan`), or a binary plan file. `chdir` is the configuration
    directory the plan was made in, for file:line: by default the plan file's own
    directory when it holds Terraform files, else the current directory. Only that root
    module and the modules it calls are read, never the tree below it."""
    run = Run(_options(options))
    source = Plan()
    configuration = Path(chdir) if chdir is not None else source.made_in(
        None if isinstance(plan, Mapping) else Path(plan))
    inputs = Inputs(root_for([configuration], run.options.root), configuration=configuration)
    try:
        if isinstance(plan, Mapping):
            found = source.read_loaded(plan, "plan", inputs)
        else:
            found = source.read([Path(plan)], inputs)
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    return run.analyse(found)


def load_plan(plan: str | Path | bytes, *, terraform: Sequence[str] | None = None) -> dict[str, Any]:
    """A Terraform plan, for `plan`: from its JSON text (`bytes`, as `terraform show
    -json` prints it), or from a file of it or a binary plan file, which the Terraform
    of $TERRAFORM_BINARY converts, or `terraform` when given (the command that made it:
    the binary and its global options, such as `-chdir`). UsageError when it is not a
    plan this reads, or cannot be converted."""
    try:
        return plan_from_json(plan) if isinstance(plan, bytes) else load_plan_file(plan, terraform)
    except PlanError as exc:
        raise UsageError(str(exc)) from None


def _environment(run: Run, live: bool) -> Environment:
    """What the run knows, before any code is evaluated, of where the code is deployed,
    for data.aws_caller_identity, data.aws_partition, data.aws_region and the pseudo
    parameters: the account as given (`--account-id`, access data naming one); else,
    `live` and with no access data, the caller's own, from STS; live, the region is the
    session's unless given; the partition the account's, else the region's. Nothing is
    said here when AWS cannot answer (no credentials, a profile that cannot be set up):
    resolving says it, once, if the code holds a principal that needs the account."""
    account = run.given_account()
    account_id, partition = (account.account_id, account.partition) if account else (None, None)
    region = run.options.region
    if live and run.access_data is None:
        try:
            region = region or run.session.region_name
            identity = run.identity_if_known() if account is None else None
        except UsageError:  # the session cannot be set up
            identity = None
        if identity is not None:
            account_id, partition = identity.account, identity.partition
    return Environment(account_id, region, partition or partition_of_region(region))


def check(arns: Sequence[str], **options: Any) -> RunResult:
    """Deployed principals by ARN."""
    run = Run(_options(options))
    return run.analyse(principals_from_arns(arns))


def _variables(
    var_file: Sequence[str | Path], var: Sequence[str]
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The var files, each readable, and the `NAME=VALUE` variables, in the order given."""
    files = _paths(var_file)
    for path in files:
        try:
            path.open("rb").close()
        except OSError as exc:
            reason = "no such file or directory" if isinstance(exc, FileNotFoundError) else exc.strerror
            raise UsageError(f"{path}: cannot read var file: {reason}") from None
    variables = []
    for entry in var:
        name, equals, value = entry.partition("=")
        if not equals or not name.strip():
            raise UsageError(f"--var {entry}: expected NAME=VALUE")
        variables.append((name.strip(), value))
    return files, variables


def _parameter_values(parameters: str | Path | None, parameter: Sequence[str]) -> dict[str, str]:
    """CloudFormation parameter values: a file's, then `KEY=VALUE` entries, which win."""
    try:
        found = read_parameters_file(Path(parameters)) if parameters else {}
        return {**found, **parse_entries(parameter)}
    except ParametersError as exc:
        raise UsageError(str(exc)) from None


def cfn(
    stack: str,
    *,
    change_set: str | None = None,
    parameters: str | Path | None = None,
    parameter: Sequence[str] = (),
    **options: Any,
) -> RunResult:
    """A deployed CloudFormation stack, or what a pending change set would make of it,
    each read with its own parameter values (`parameters`, `parameter` win)."""
    run = Run(_options(options))
    if run.access_data is not None:
        raise UsageError("cfn reads the stack from AWS; it cannot be used with --access-data")
    inputs = Inputs(Root(()), parameters=_parameter_values(parameters, parameter),  # no file is read
                    environment=_environment(run, live=False))
    found = read_deployed(deployed_stacks.deployed(run, stack, change_set), inputs)
    resolved = run.resolve(run.resolve_stacks(found.principals, {stack}))
    return run.analyse(replace(found, principals=tuple(resolved)))


def hook(
    files: Sequence[str | Path],
    *,
    offline: bool = False,
    var_file: Sequence[str | Path] = (),
    var: Sequence[str] = (),
    exclude: Sequence[str] = (),
    **options: Any,
) -> RunResult:
    """Changed Terraform files (pre-commit's arguments), each read with its own module
    directory and no directory below; `offline` for the code's own findings only. A file
    whose path as given (pre-commit's: from the repository's top) matches an `exclude`
    glob or DEFAULT_EXCLUDE is left out, as pre-commit's own `exclude` would."""
    run = Run(_options(options))
    var_files, variables = _variables(var_file, var)
    named = _paths(files)
    root = root_for(named, run.options.root)
    refused = outside_root(named, root)
    leave_out = (*DEFAULT_EXCLUDE, *exclude)
    changed = [path for path in named if root.contains(path) and not excluded(path, leave_out)]
    inputs = Inputs(root, var_files, use_cache=not run.options.no_cache, variables=variables,
                    environment=_environment(run, live=not offline and bool(changed)))
    found = Terraform().read(changed, inputs)
    found = replace(found, errors=(*refused, *found.errors))
    if not offline and found.principals:  # no AWS call for none (every changed file excluded, say)
        found = replace(found, principals=tuple(run.resolve(found.principals)))
    return run.analyse(found, usage=not offline)


def hook_files(files: Sequence[str | Path], *, root: str | Path | None = None) -> list[Path]:
    """The Terraform files among `files` that mention IAM: those `hook` reads. With none
    (most commits), there is nothing to check, and no AWS to ask."""
    named = _paths(files)
    return Terraform().touching_iam(named, root_for(named, Path(root) if root is not None else None))


def fetch(arns: Sequence[str], **options: Any) -> FetchResult:
    """Reports for principals, and documents for AWS managed policies
    (`arn:aws:iam::aws:policy/...`), from AWS, in the access-data file's shape."""
    return fetch_access_data(Run(_options(options)), arns)


def suggest(
    result: RunResult, *, granularity: str = "service", min_age_days: int = DEFAULT_MIN_AGE_DAYS
) -> Suggestions:
    """Least-privilege edits for the statements of `result`."""
    created = {p.principal.address: p.principal.created for p in result.principals if p.principal.created}
    return suggest_edits(result, granularity, min_age_days, created)


def render(
    result: RunResult,
    format: str = "text",
    *,
    suggestions: Suggestions | None = None,
    plan_text: str | None = None,
    links: str | None = None,
) -> str:
    """The report as the command line prints it: `text`, `json`, `markdown`, `sarif`,
    `github`, `plan` (terraform's `plan_text`, annotated) or `patch` (the suggestions
    as a patch). `links` is the base URL of file links in Markdown."""
    try:
        return renderer(format, plan_text=plan_text, links=links)(result, suggestions)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
