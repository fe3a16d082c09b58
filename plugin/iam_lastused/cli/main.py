"""The `iam-lastused` command line.

Exit codes: 0 no finding at the `--fail-on` level; 1 findings at or above it;
2 usage error, or nothing could be analysed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from iam_lastused import __version__
from iam_lastused.analysis.analyze import DEFAULT_MAX_SERVICES, analyze
from iam_lastused.analysis.suppressions import with_suppressions
from iam_lastused.aws import managed_policies, reports
from iam_lastused.aws import session as aws
from iam_lastused.config import Config, ConfigError, apply_defaults, find_config
from iam_lastused.files import ReadRefused, Root, read_bytes, root_for
from iam_lastused.integrations.terraform_wrapper import run_wrapped
from iam_lastused.model import AccessReport, InputError, Principal, ReportFailure, RunResult, SourceResult
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.github import render_github
from iam_lastused.render.json_report import render_json
from iam_lastused.render.markdown import render_markdown
from iam_lastused.render.plan_text import annotate_plan, place_notes, principal_notes
from iam_lastused.render.sarif import render_sarif
from iam_lastused.render.text import render_text
from iam_lastused.resolve import (
    Account,
    account_from_arns,
    caller_account,
    confirm_deployed,
    iam_path,
    principal_from_arn,
    stack_resources,
    with_arns,
)
from iam_lastused.sources import TERRAFORM_SUFFIXES, scan_paths
from iam_lastused.sources.cloudformation.template import resolve_from_stack, scan_template
from iam_lastused.sources.plan.read import PlanError, load_plan, note_headers, read_plan
from iam_lastused.sources.terraform.scan import MAX_FILE_BYTES, scan_terraform
from iam_lastused.store.access_data import (
    AccessDataError,
    load_access_data,
    report_from_response,
    write_atomically,
)
from iam_lastused.suggest.verdicts import (
    DEFAULT_MIN_AGE_DAYS,
    render_patch,
    render_suggestions,
    suggest,
    suggestions_json,
)

RENDERERS: dict[str, Callable[[RunResult], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "sarif": render_sarif,
    "github": render_github,
}
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def _format_and_file(value: str) -> tuple[str, Path]:
    """`FORMAT=FILE` for --also-write."""
    name, equals, file = value.partition("=")
    if not equals or not file:
        raise argparse.ArgumentTypeError(f"{value!r}: give FORMAT=FILE, e.g. markdown=report.md")
    if name not in RENDERERS:
        raise argparse.ArgumentTypeError(f"{name!r}: the format is one of {', '.join(sorted(RENDERERS))}")
    return name, Path(file)


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--access-data",
        type=Path,
        metavar="FILE",
        help="take reports from this file (offline: no AWS call is made)",
    )
    group.add_argument("--format", choices=[*sorted(RENDERERS), "plan"], default="text",
                       help="text, json, markdown, sarif, github, or plan (the plan text, annotated)")
    group.add_argument("--output", type=Path, metavar="FILE", help="write the report here, not to stdout")
    group.add_argument(
        "--also-write", action="append", type=_format_and_file, default=[], metavar="FORMAT=FILE",
        help="also write the report in FORMAT (text, json, markdown, sarif, github) to FILE, "
        "from the same run (repeatable)",
    )
    group.add_argument(
        "--stale-days",
        type=int,
        default=90,
        metavar="N",
        help="a service last used more than N days ago is stale (default 90)",
    )
    group.add_argument("--granularity", choices=["service", "action"], default="service")
    group.add_argument("--profile", help="AWS named profile")
    group.add_argument("--region", help="AWS region for the API endpoint")
    group.add_argument("--account-id", help="AWS account of principals named in code (default: from STS)")
    group.add_argument("--assume-role-arn", metavar="TEMPLATE",
                       help="for each account, assume this role for its reports, "
                       "e.g. 'arn:aws:iam::{account_id}:role/iam-lastused'")
    group.add_argument(
        "--fail-on",
        choices=list(FAIL_LEVELS),
        default="never",
        help="exit 1 on findings at or above this level: never, static (broad grants "
        "in the code), stale, unused (default never)",
    )
    group.add_argument(
        "--max-services",
        type=int,
        default=DEFAULT_MAX_SERVICES,
        metavar="N",
        help=f"flag a principal granted more than N services (default {DEFAULT_MAX_SERVICES})",
    )
    group.add_argument("--no-cache", action="store_true", help="ignore and do not update the report cache")
    group.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="give up on reports not complete after this long (default 600)",
    )
    group.add_argument("--quiet", action="store_true", help="no progress and no warnings on stderr")
    group.add_argument(
        "--root", type=Path, metavar="DIR",
        help="files the code names (file(), module sources, links) are read only inside DIR "
        "(default: the git work tree holding each scanned path, else the current directory)",
    )
    return common


def _suggest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suggest", nargs="?", const="text", choices=["text", "patch"],
                        help="suggest each statement rewritten to what was used; "
                        "--suggest=patch prints a patch for git apply")
    parser.add_argument("--min-age-days", type=int, default=DEFAULT_MIN_AGE_DAYS, metavar="N",
                        help="suggest no removal for a principal created less than N days ago "
                        f"(default {DEFAULT_MIN_AGE_DAYS})")


def build_parser(config: Config | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iam-lastused",
        description="Show which AWS services each IAM principal is granted but has never used.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common_options()
    check = commands.add_parser("check", parents=[common], help="analyse deployed principals by ARN")
    check.add_argument("arns", nargs="+", metavar="ARN")
    fetch = commands.add_parser(
        "fetch", parents=[common], help="save reports from AWS as an access-data file"
    )
    fetch.add_argument(
        "arns", nargs="+", metavar="ARN",
        help="principals to fetch reports for, and AWS managed policies (arn:aws:iam::aws:policy/...) "
        "whose documents to save",
    )
    scan = commands.add_parser("scan", parents=[common], help="analyse the principals in Terraform code")
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="Terraform files or directories")
    scan.add_argument(
        "--var-file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a .tfvars file for the root modules (repeatable)",
    )
    scan.add_argument(
        "--stack",
        action="append",
        default=[],
        metavar="[TEMPLATE=]NAME",
        help="the CloudFormation stack a template is deployed as (repeatable)",
    )
    scan.add_argument(
        "--stack-from-file",
        type=Path,
        metavar="FILE",
        help="a YAML or JSON mapping of template paths to stack names",
    )
    _suggest_options(scan)
    plan = commands.add_parser(
        "plan", parents=[common], help="analyse a Terraform plan (terraform show -json, or a plan file)"
    )
    plan.add_argument("plan", type=Path, metavar="PLAN")
    plan.add_argument("--chdir", type=Path, default=Path("."), metavar="DIR",
                      help="the configuration directory, for file:line (default: the current directory)")
    plan.add_argument("--plan-text", type=Path, metavar="FILE",
                      help="terraform's human plan output, to annotate with --format plan")
    _suggest_options(plan)
    wrap = commands.add_parser(
        "wrap", parents=[common],
        help="run terraform plan (or tofu, terragrunt) and annotate it: iam-lastused wrap -- terraform plan",
    )
    wrap.add_argument("wrapped", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                      help="the plan command and its arguments, after --")
    wrap.add_argument("--chdir", type=Path, default=Path("."), metavar="DIR",
                      help="the configuration directory, for file:line (default: the current directory)")
    cfn = commands.add_parser(
        "cfn", parents=[common], help="analyse a deployed CloudFormation stack or a pending change set"
    )
    cfn.add_argument("--stack", required=True, metavar="NAME")
    cfn.add_argument("--change-set", metavar="NAME-OR-ARN", help="annotate what this change set would do")
    _suggest_options(cfn)
    hook = commands.add_parser(
        "hook", parents=[common], help="pre-commit: analyse the module directories of changed files"
    )
    hook.add_argument("files", nargs="*", type=Path, metavar="FILE")
    hook.add_argument(
        "--offline", action="store_true", help="static findings only: no AWS call, no credentials needed"
    )
    hook.add_argument("--var-file", action="append", type=Path, default=[], metavar="FILE")
    if config is not None:
        apply_defaults(list(commands.choices.values()), config)
    return parser


def _show_progress(args: argparse.Namespace) -> bool:
    return not args.quiet and args.format == "text" and sys.stderr.isatty() and not os.environ.get("CI")


def _warn(args: argparse.Namespace, message: str) -> None:
    """One line on stderr; messages quote names and ARNs from the code, so made terminal-safe."""
    if not args.quiet:
        print(f"iam-lastused: {terminal_safe(message)}", file=sys.stderr)


class Run:
    """What one invocation shares: its options, the access data, and one AWS session."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.access_data: dict[str, dict] | None = None
        if args.access_data:
            try:
                self.access_data = load_access_data(args.access_data)
            except AccessDataError as exc:
                raise UsageError(str(exc)) from None
        self._session: Any = None
        self.interrupted = False

    @property
    def session(self) -> Any:
        if self._session is None:
            try:
                self._session = aws.make_session(self.args.profile, self.args.region)
            except Exception as exc:  # botocore raises several unrelated types for a bad profile
                raise UsageError(f"cannot set up AWS: {exc}") from None
        return self._session

    def client(self, service: str) -> Any:
        try:
            return aws.client(self.session, service)
        except BotoCoreError as exc:  # NoRegionError, for CloudFormation
            raise UsageError(f"cannot use AWS {service}: {exc} (give --region)") from None

    def fetch(self, arns: list[str]) -> dict[str, dict | ReportFailure]:
        """Reports from AWS; on Ctrl-C, what was complete (and `interrupted` is set)."""
        args = self.args
        settings = reports.EngineSettings(
            granularity=args.granularity, timeout=args.timeout, use_cache=not args.no_cache
        )
        clients = aws.AccountClients(self.session, args.assume_role_arn, args.config.accounts)
        try:
            if not _show_progress(args):
                fetched = reports.fetch_reports(clients, arns, settings)
            else:
                from rich.progress import Progress

                with Progress(transient=True) as bar:
                    task = bar.add_task("Last-accessed reports", total=len(arns))
                    fetched = reports.fetch_reports(
                        clients, arns, settings, progress=lambda done, total: bar.update(task, completed=done)
                    )
        except reports.Interrupted as stop:
            self.interrupted = True
            _warn(args, "interrupted: the report below is partial")
            return stop.outcomes
        for note in dict.fromkeys(fetched.notes):
            _warn(args, note)
        return fetched.outcomes

    def outcomes(self, arns: list[str]) -> dict[str, AccessReport | ReportFailure]:
        """The report or failure for each ARN that has one, from the access data or from AWS."""
        if self.access_data is not None:
            data = self.access_data
            raw: dict[str, dict | ReportFailure] = {arn: data[arn] for arn in arns if arn in data}
        elif arns:
            try:
                raw = self.fetch(arns)
            except reports.CredentialsMissing:
                _warn(self.args, NO_CREDENTIALS)
                return {arn: ReportFailure(arn, "no AWS credentials") for arn in arns}
        else:
            raw = {}
        return {
            arn: value if isinstance(value, ReportFailure) else report_from_response(arn, value)
            for arn, value in raw.items()
        }

    def with_managed_policies(self, principals: Sequence[Principal]) -> tuple[Principal, ...]:
        """The principals with the statements of the managed policies they are attached to
        but the code does not define, from the access data or from IAM."""
        arns = managed_policies.attached_policy_arns(principals)
        if not arns:
            return tuple(principals)
        if self.access_data is not None:
            documents = managed_policies.documents_from_access_data(self.access_data)
        else:
            fetched = managed_policies.fetch_documents(self.client("iam"), arns, not self.args.no_cache)
            for note in fetched.notes:
                _warn(self.args, note)
            documents = fetched.found
        return managed_policies.with_documents(principals, documents)

    def account(self) -> tuple[Account | None, str]:
        """The account that principals named in code live in, or why it is unknown."""
        args = self.args
        if self.access_data is not None:
            from_data = account_from_arns(self.access_data)
            if args.account_id:
                partition = from_data.partition if from_data else "aws"
                return Account(partition, args.account_id), ""
            return from_data, "account unknown: give --account-id (the access data names no one account)"
        try:
            found = caller_account(self.client("sts"))
        except NoCredentialsError:
            _warn(args, NO_CREDENTIALS)
            return None, "no AWS credentials: the account is unknown"
        except (ClientError, BotoCoreError) as exc:
            _warn(args, f"cannot identify the AWS account (sts:GetCallerIdentity): {exc}")
            return None, "the AWS account could not be identified"
        return (Account(found.partition, args.account_id) if args.account_id else found), ""

    def resolve_stacks(self, principals: Sequence[Principal], stacks: set[str]) -> list[Principal]:
        """CloudFormation principals with the physical names their stacks gave them."""
        client = self.client("cloudformation")
        iam = self.client("iam")
        resolved = list(principals)
        for stack in sorted(stacks):
            try:
                physical = stack_resources(client, stack)
            except (ClientError, BotoCoreError) as exc:
                raise UsageError(
                    f"cannot read stack {stack} (cloudformation:ListStackResources): {exc}"
                ) from None
            in_stack = [p for p in resolved if p.address.startswith(f"{stack}/")]
            others = [p for p in resolved if not p.address.startswith(f"{stack}/")]
            resolved = others + resolve_from_stack(
                in_stack, physical, lambda kind, name: iam_path(iam, kind, name)
            )
        return resolved

    def resolve(self, principals: Sequence[Principal]) -> list[Principal]:
        account, why_unknown = self.account()
        resolved = with_arns(principals, account, why_unknown)
        if self.access_data is not None or account is None:
            return resolved
        client = self.client("iam")
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda p: confirm_deployed(client, p), resolved))


NO_CREDENTIALS = "no AWS credentials found: usage data skipped (set a profile, or use --access-data)"


def _warn_failures(args: argparse.Namespace, outcomes: dict[str, AccessReport | ReportFailure]) -> None:
    """Each distinct failure once, however many principals it hit."""
    counts = Counter(o.message for o in outcomes.values() if isinstance(o, ReportFailure) and not o.not_found)
    for message, count in counts.items():
        if message != "no AWS credentials":
            _warn(args, f"{message} ({count} principal{'s' if count != 1 else ''} not analysed)")


def analyse(run: Run, found: SourceResult, usage: bool = True) -> RunResult:
    """Join what a source found with the reports; `usage=False` for static findings only."""
    found = with_suppressions(found, run.args.config.suppress)
    outcomes: dict[str, AccessReport | ReportFailure] = {}
    if usage:
        arns = [p.arn for p in found.principals if p.arn and not p.unresolved and p.deployed is not False]
        outcomes = run.outcomes(list(dict.fromkeys(arns)))
        _warn_failures(run.args, outcomes)
        if any(isinstance(outcome, AccessReport) for outcome in outcomes.values()):
            found = replace(found, principals=run.with_managed_policies(found.principals))
    now = datetime.now(timezone.utc)
    principals = analyze(found.principals, outcomes, now, run.args.stale_days, run.args.max_services)
    if not usage:
        principals = tuple(
            replace(p, status="no-data", error="usage data not requested (offline)") for p in principals
        )
    return RunResult(
        stale_days=run.args.stale_days,
        now=now,
        principals=principals,
        errors=found.errors,
        notes=found.notes,
    )


FAIL_LEVELS: dict[str, set[str]] = {
    "never": set(),
    "static": {"static", "stale", "unused"},
    "stale": {"stale", "unused"},
    "unused": {"unused"},
}


def has_findings(run: RunResult, fail_on: str) -> bool:
    levels = FAIL_LEVELS[fail_on]
    if "static" in levels and any(p.static for p in run.principals):
        return True
    return any(s.state in levels for p in run.principals for s in p.findings())


def exit_code(run: RunResult, fail_on: str) -> int:
    if not any(p.status in ("analyzed", "not-deployed") for p in run.principals):
        return EXIT_USAGE if (run.principals or run.errors) else EXIT_OK
    return EXIT_FINDINGS if has_findings(run, fail_on) else EXIT_OK


def _write(path: Path, text: str) -> None:
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _emit(args: argparse.Namespace, text: str, result: RunResult | None = None) -> None:
    """The report to --output or stdout; with `result`, also each --also-write format."""
    if result is not None:
        for name, path in getattr(args, "also_write", []):
            _write(path, RENDERERS[name](result))
    if args.output:
        _write(args.output, text)
    else:
        sys.stdout.write(text)


def _principals_from_arns(arns: Sequence[str]) -> SourceResult:
    principals: list[Principal] = []
    errors: list[InputError] = []
    for arn in arns:
        found = principal_from_arn(arn)
        (errors if isinstance(found, InputError) else principals).append(found)  # type: ignore[arg-type]
    return SourceResult(principals=tuple(principals), errors=tuple(errors))


EXIT_INTERRUPTED = 130


def _with_suggestions(args: argparse.Namespace, result: RunResult, report: str) -> str:
    """The report with the suggested least-privilege edits: appended to text, a
    `suggestions` field in JSON, or for `--suggest=patch` the patch alone, to pipe
    into `git apply`."""
    if not getattr(args, "suggest", None):
        return report
    created = {p.principal.address: p.principal.created for p in result.principals if p.principal.created}
    found = suggest(result, args.granularity, args.min_age_days, created)
    if args.suggest == "patch":
        return render_patch(found, Path.cwd())
    if args.format == "json":
        document = json.loads(report)
        document["suggestions"] = suggestions_json(found)
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return report + "\n" + render_suggestions(found)


def _report(run: Run, result: RunResult) -> int:
    _emit(run.args, _with_suggestions(run.args, result, RENDERERS[run.args.format](result)), result)
    return EXIT_INTERRUPTED if run.interrupted else exit_code(result, run.args.fail_on)


def cmd_check(args: argparse.Namespace) -> int:
    run = Run(args)
    return _report(run, analyse(run, _principals_from_arns(args.arns)))


def _stacks(args: argparse.Namespace) -> dict[Path, str]:
    """Which stack each template is deployed as, from --stack and --stack-from-file."""
    stacks: dict[Path, str] = {}
    if args.stack_from_file:
        import yaml

        try:
            mapping = yaml.safe_load(args.stack_from_file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"{args.stack_from_file}: cannot read the stack mapping: {exc}") from None
        if not isinstance(mapping, dict):
            raise UsageError(f"{args.stack_from_file}: expected a mapping of template paths to stack names")
        stacks.update({Path(str(k)): str(v) for k, v in mapping.items()})
    templates = [path for path in args.paths if not path.is_dir()]
    for entry in args.stack:
        template, equals, name = entry.rpartition("=")
        if equals:
            stacks[Path(template)] = name
        elif len(templates) == 1:
            stacks[templates[0]] = name
        else:
            raise UsageError(f"--stack {name}: name the template too (--stack TEMPLATE={name})")
    if stacks and args.access_data:
        raise UsageError("--stack reads the stack from AWS; it cannot be used with --access-data")
    return stacks


def cmd_scan(args: argparse.Namespace) -> int:
    run = Run(args)
    stacks = _stacks(args)
    found = scan_paths(args.paths, args.var_file, stacks, root_for(args.paths, args.root))
    principals = run.resolve_stacks(found.principals, set(stacks.values())) if stacks else found.principals
    resolved = replace(found, principals=tuple(run.resolve(principals)))
    return _report(run, analyse(run, resolved))


def cmd_fetch(args: argparse.Namespace) -> int:
    if not args.output:
        raise UsageError("fetch needs --output FILE for the access-data file")
    if args.access_data:
        raise UsageError("fetch gets reports from AWS; it cannot take --access-data")
    policies = [arn for arn in args.arns if managed_policies.is_aws_managed(arn)]
    found = _principals_from_arns([arn for arn in args.arns if arn not in policies])
    for error in found.errors:
        _warn(args, error.message)
    arns = [p.arn for p in found.principals if p.arn]
    run = Run(args)
    try:
        raw = run.fetch(arns) if arns else {}
    except reports.CredentialsMissing:
        raise UsageError("no AWS credentials found: set a profile or the standard AWS variables") from None
    saved: dict[str, Any] = reports.only_reports(raw)
    for arn, outcome in raw.items():
        if isinstance(outcome, ReportFailure):
            _warn(args, f"{arn}: {outcome.message}")
    if policies and not run.interrupted:
        documents = managed_policies.fetch_documents(run.client("iam"), policies, not args.no_cache)
        for note in documents.notes:
            _warn(args, note)
        saved.update(managed_policies.as_access_data(documents.found))
    if not saved:
        _warn(args, "no report could be fetched; nothing written")
        return EXIT_USAGE
    _emit(args, json.dumps(saved, indent=2) + "\n")
    _warn(args, f"saved {len(saved)} of {len(arns) + len(policies)} reports and policies to {args.output}")
    if run.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if len(saved) == len(arns) + len(policies) and not found.errors else EXIT_USAGE


def _template_text(client: Any, **params: str) -> str:
    body = client.get_template(**params)["TemplateBody"]
    return body if isinstance(body, str) else json.dumps(body, indent=2)


def _change_actions(client: Any, stack: str, change_set: str) -> dict[str, str]:
    """Each logical ID the change set touches, with its change in the plan's terms."""
    actions: dict[str, str] = {}
    params = {"StackName": stack, "ChangeSetName": change_set}
    while True:
        page = client.describe_change_set(**params)
        for change in page.get("Changes", []):
            detail = change.get("ResourceChange", {})
            action = CHANGE_ACTIONS.get(detail.get("Action", ""), "update")
            if action == "update" and detail.get("Replacement") == "True":
                action = "replace"
            actions[detail.get("LogicalResourceId", "")] = action
        if not page.get("NextToken"):
            return actions
        params["NextToken"] = page["NextToken"]


CHANGE_ACTIONS = {
    "Add": "create", "Modify": "update", "Remove": "delete", "Import": "create", "Dynamic": "update",
}


def cmd_cfn(args: argparse.Namespace) -> int:
    """A stack as deployed, or with a change set's template and changes applied."""
    if args.access_data:
        raise UsageError("cfn reads the stack from AWS; it cannot be used with --access-data")
    run = Run(args)
    client = run.client("cloudformation")
    stack = args.stack
    try:
        current = _template_text(client, StackName=stack)
        pending = None
        if args.change_set:
            pending = _template_text(client, StackName=stack, ChangeSetName=args.change_set)
        actions = _change_actions(client, stack, args.change_set) if args.change_set else {}
    except (ClientError, BotoCoreError) as exc:
        raise UsageError(f"cannot read stack {stack}: {exc}") from None
    label = Path(f"cloudformation:{stack}" + (f"/{args.change_set}" if args.change_set else ""))
    before = scan_template(label, stack, text=current)
    found = scan_template(label, stack, text=pending) if pending is not None else before
    if pending is not None:
        previous = {p.address: p for p in before.principals}
        principals = [
            replace(
                p,
                change=actions.get(p.address.rpartition("/")[2], "no-op"),
                grants_before=previous[p.address].grants if p.address in previous else None,
            )
            for p in found.principals
        ]
        found = replace(found, principals=tuple(principals))
    resolved = run.resolve(run.resolve_stacks(found.principals, {stack}))
    return _report(run, analyse(run, replace(found, principals=tuple(resolved))))


def _render_plan(args: argparse.Namespace, result: RunResult, plan: dict[str, Any], text: str | None) -> str:
    """The report in the chosen format; `plan` is terraform's own text, annotated."""
    if args.format != "plan":
        return RENDERERS[args.format](result)
    if text is None:
        raise UsageError("--format plan needs terraform's plan text: give --plan-text FILE")
    notes = {r.principal.address: principal_notes(r, args.stale_days) for r in result.principals}
    return annotate_plan(text, place_notes(note_headers(plan), notes))


def _read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def cmd_plan(args: argparse.Namespace) -> int:
    run = Run(args)
    try:
        plan = load_plan(args.plan)
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    text = _read_text(args.plan_text)
    if args.format == "plan" and text is None:
        raise UsageError("--format plan needs terraform's plan text: give --plan-text FILE")
    result = analyse(run, read_plan(plan, str(args.plan), args.chdir, root_for([args.chdir], args.root)))
    _emit(args, _with_suggestions(args, result, _render_plan(args, result, plan, text)), result)
    return EXIT_INTERRUPTED if run.interrupted else exit_code(result, args.fail_on)


def cmd_wrap(args: argparse.Namespace) -> int:
    """Terraform's output and exit code always stand; the analysis only adds to them."""
    command = args.wrapped[1:] if args.wrapped[:1] == ["--"] else args.wrapped
    if not command:
        raise UsageError("give the plan command after --, e.g. iam-lastused wrap -- terraform plan")
    wrapped = run_wrapped(command, sys.stdout.buffer)
    if wrapped.plan is None:
        if wrapped.error:
            _warn(args, f"plan not analysed: {wrapped.error}")
        return wrapped.exit_code
    try:
        found = read_plan(wrapped.plan, "plan", args.chdir, root_for([args.chdir], args.root))
        result = analyse(Run(args), found)
        report = _render_plan(args, result, wrapped.plan, wrapped.output)
        sys.stdout.flush()
        _emit(args, report, result)
    except Exception as exc:  # an analysis failure must never cost the user terraform's result
        _warn(args, f"plan not analysed: {exc}")
        return wrapped.exit_code
    if wrapped.exit_code == 0 and has_findings(result, args.fail_on):
        return EXIT_FINDINGS
    return wrapped.exit_code


IAM_MARKERS = (b"aws_iam_", b"AWS::IAM::", b"AWS::Serverless::")


def _mentions_iam(path: Path, root: Root) -> bool:
    try:
        data = read_bytes(path, MAX_FILE_BYTES, root)
    except (OSError, ReadRefused):
        return False
    return any(marker in data for marker in IAM_MARKERS)


def cmd_hook(args: argparse.Namespace) -> int:
    """For pre-commit: passes without credentials (the code's own findings still show),
    and costs almost nothing when no changed file touches IAM."""
    root = root_for(args.files, args.root)
    changed = [
        path for path in args.files if path.name.endswith(TERRAFORM_SUFFIXES) and _mentions_iam(path, root)
    ]
    if not changed:
        return EXIT_OK
    found = scan_terraform(changed, args.var_file, root)  # files: their own module directories, not below
    run = Run(args)
    if not args.offline:
        found = replace(found, principals=tuple(run.resolve(found.principals)))
    result = analyse(run, found, usage=not args.offline)
    _emit(args, RENDERERS[args.format](result), result)
    if run.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FINDINGS if result.errors or has_findings(result, args.fail_on) else EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": cmd_check,
    "fetch": cmd_fetch,
    "scan": cmd_scan,
    "hook": cmd_hook,
    "cfn": cmd_cfn,
    "plan": cmd_plan,
    "wrap": cmd_wrap,
}


PLAN_COMMANDS = ("plan", "wrap")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = find_config(Path.cwd())
        parser = build_parser(config)
    except ConfigError as exc:
        print(f"iam-lastused: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    args.config = config
    if args.stale_days < 0:
        parser.error("--stale-days must be 0 or more")
    if args.format == "plan" and args.command not in PLAN_COMMANDS:
        parser.error("--format plan annotates a Terraform plan: use it with plan or wrap")
    if args.max_services < 0:
        parser.error("--max-services must be 0 or more")
    if getattr(args, "suggest", None) == "text" and args.format not in ("text", "json", "plan"):
        parser.error(f"--suggest adds to text or json output, not {args.format}: use --suggest=patch")
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"iam-lastused: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("iam-lastused: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line and exit 2, never a traceback or exit 1 ("findings")
        print(f"iam-lastused: internal error: {type(exc).__name__}: {exc} (please report it)",
              file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
