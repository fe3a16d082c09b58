"""The command line's options: one parser, with the options every command shares."""

from __future__ import annotations

import argparse
from pathlib import Path

from iam_lastused import __version__
from iam_lastused.analysis.analyze import DEFAULT_MAX_SERVICES, FAIL_LEVELS
from iam_lastused.cli.commands import run_task
from iam_lastused.config import Config, apply_defaults
from iam_lastused.render import REPORT_FORMATS
from iam_lastused.suggest.verdicts import DEFAULT_MIN_AGE_DAYS


def _format_and_file(value: str) -> tuple[str, Path]:
    """`FORMAT=FILE` for --also-write."""
    name, equals, file = value.partition("=")
    if not equals or not file:
        raise argparse.ArgumentTypeError(f"{value!r}: give FORMAT=FILE, e.g. markdown=report.md")
    if name not in REPORT_FORMATS:
        raise argparse.ArgumentTypeError(f"{name!r}: the format is one of {', '.join(REPORT_FORMATS)}")
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
    group.add_argument("--format", choices=[*REPORT_FORMATS, "plan"],
                       help="text (default; lint for hook), json, markdown, sarif, github, lint "
                       "(path:line: [rule] message), or plan (the plan text, annotated)")
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
        help="exit 1 on findings at or above this level: never, static (broad grants "
        "in the code), stale, unused (default never; for hook, see its help)",
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
    group.add_argument("--no-color", action="store_true",
                       help="no colour in the text report on a terminal (also: NO_COLOR set)")
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


def _parameter_options(parser: argparse.ArgumentParser) -> None:
    """CloudFormation parameter values, for `scan` and `cfn`."""
    parser.add_argument(
        "--parameters",
        type=Path,
        metavar="FILE",
        help="CloudFormation parameter values: the AWS CLI's JSON, CodePipeline's, or samconfig.toml",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a CloudFormation parameter value (repeatable; wins over --parameters)",
    )


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
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                      help="Terraform files, CloudFormation or SAM templates, or directories of them")
    scan.add_argument(
        "--var-file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a .tfvars file for the root modules (repeatable)",
    )
    scan.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                      help="a root module variable, after the var files, as terraform -var does (repeatable)")
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
    _parameter_options(scan)
    _suggest_options(scan)
    plan = commands.add_parser(
        "plan", parents=[common], help="analyse a Terraform plan (terraform show -json, or a plan file)"
    )
    plan.add_argument("plan", type=Path, metavar="PLAN",
                      help="terraform show -json output, a binary plan file, or - for the JSON on stdin")
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
    cfn.add_argument("--stack", required=True, metavar="NAME", help="the deployed stack's name")
    cfn.add_argument("--change-set", metavar="NAME-OR-ARN", help="annotate what this change set would do")
    _parameter_options(cfn)
    _suggest_options(cfn)
    hook = commands.add_parser(
        "hook", parents=[common], help="pre-commit: analyse the module directories of changed files",
        description="A linter for pre-commit: one line per finding (--format lint), failing on "
        "findings: --offline on the code's own (--fail-on static), live on never-used services "
        "(--fail-on unused), without credentials on the code's own.",
    )
    hook.add_argument("files", nargs="*", type=Path, metavar="FILE")
    hook.add_argument(
        "--offline", action="store_true", help="static findings only: no AWS call, no credentials needed"
    )
    hook.add_argument("--var-file", action="append", type=Path, default=[], metavar="FILE",
                      help="a .tfvars file for the changed modules (repeatable)")
    hook.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                      help="a variable of the changed modules, after the var files (repeatable)")

    serve = run_task.add_parser(commands, common)
    if config is not None:
        apply_defaults([*commands.choices.values(), serve], config)
    return parser
