"""The command line's options: one parser, with the options every command shares."""

from __future__ import annotations

import argparse
from pathlib import Path

from iam_lastused import __version__
from iam_lastused.api import FAIL_LEVELS
from iam_lastused.cli.commands import run_task, sweep
from iam_lastused.cli.usage_options import add_usage_options
from iam_lastused.config import Config, apply_defaults
from iam_lastused.options import default
from iam_lastused.render import REPORT_FORMATS


def _format_and_file(value: str) -> tuple[str, Path]:
    """`FORMAT=FILE` for --also-write."""
    name, equals, file = value.partition("=")
    if not equals or not file:
        raise argparse.ArgumentTypeError(f"{value!r}: give FORMAT=FILE, e.g. markdown=report.md")
    if name not in REPORT_FORMATS:
        raise argparse.ArgumentTypeError(f"{name!r}: the format is one of {', '.join(REPORT_FORMATS)}")
    return name, Path(file)


def _aws_options(group: argparse._ActionsContainer) -> None:
    """How reports are fetched from AWS: for every command."""
    _engine_options(group)
    group.add_argument("--no-cache", action="store_true",
                       help="neither read nor write the caches (reports, policy documents, parsed code)")


def _engine_options(group: argparse._ActionsContainer) -> None:
    """Whose credentials, and how the report engine asks: for every command, the sweep too
    (which keeps no cache)."""
    group.add_argument("--profile", help="AWS named profile")
    group.add_argument("--config", type=Path, metavar="FILE", dest="config_file",
                       help="a config file of yours, over the repository's: it may also set the usage "
                       "data and the AWS identity (default: $IAM_LASTUSED_CONFIG)")
    group.add_argument("--region", help="AWS region for the API endpoint")
    group.add_argument("--assume-role-arn", metavar="TEMPLATE",
                       help="for each account, assume this role for its reports, "
                       "e.g. 'arn:aws:iam::{account_id}:role/iam-lastused'")
    group.add_argument("--granularity", choices=["service", "action"], default=default("granularity"),
                       help="last-accessed reports per service (default) or per action")
    group.add_argument(
        "--timeout",
        type=float,
        default=default("timeout"),
        metavar="SECONDS",
        help=f"give up on reports not complete after this long (default {default('timeout'):g})",
    )


def _analysis_options(group: argparse._ActionsContainer) -> None:
    """What is analysed and what fails the run: for every command that analyses."""
    add_usage_options(group)
    group.add_argument("--account-id", metavar="ID",
                       help="the AWS account principals named in the code live in "
                       "(default: from STS; offline, the one account the access data names)")
    group.add_argument(
        "--stale-days",
        type=int,
        default=default("stale-days"),
        metavar="N",
        help=f"a service last used more than N days ago is stale (default {default('stale-days')})",
    )
    group.add_argument(
        "--max-services",
        type=int,
        default=default("max-services"),
        metavar="N",
        help=f"flag a principal granted more than N services (default {default('max-services')})",
    )
    group.add_argument(
        "--fail-on",
        choices=list(FAIL_LEVELS),
        help="exit 1 on findings at or above this level: never, static (broad grants "
        "in the code), stale, unused (default never; for hook, see its help)",
    )


def _quiet(group: argparse._ActionsContainer) -> None:
    group.add_argument("--quiet", action="store_true", help="no progress and no warnings on stderr")


def _report_options() -> argparse.ArgumentParser:
    """The options of every command that prints a report."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("report options")
    group.add_argument("--format", choices=[*REPORT_FORMATS, "plan"],
                       help="text (default; lint for hook), json, markdown, sarif, github (workflow "
                       "annotations), lint (path:line: [rule] message), junit, gitlab (Code Quality), "
                       "or plan (plan and wrap only: the plan text, annotated)")
    group.add_argument("--output", type=Path, metavar="FILE", help="write the report here, not to stdout")
    group.add_argument(
        "--also-write", action="append", type=_format_and_file, default=[], metavar="FORMAT=FILE",
        help=f"also write the report in FORMAT ({', '.join(REPORT_FORMATS)}) to FILE, "
        "from the same run (repeatable)",
    )
    _quiet(group)
    group.add_argument("--no-color", action="store_true",
                       help="no colour in the text report on a terminal (also: NO_COLOR set)")
    _analysis_and_aws(common)
    return common


def _analysis_and_aws(parser: argparse.ArgumentParser) -> None:
    _analysis_options(parser.add_argument_group("analysis options"))
    _aws_options(parser.add_argument_group("AWS options"))


def _serve_options() -> argparse.ArgumentParser:
    """A report's options, but for how and where it is written: each run's goes to HCP Terraform."""
    options = argparse.ArgumentParser(add_help=False)
    _analysis_and_aws(options)
    return options


def _root_option(parser: argparse.ArgumentParser) -> None:
    """For the commands that read code."""
    parser.add_argument(
        "--root", type=Path, metavar="DIR",
        help="files the code names (file(), module sources, links) are read only inside DIR "
        "(default: the git work tree holding each scanned path, else the current directory)",
    )


def _suggest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suggest", nargs="?", const="text", choices=["text", "patch"],
                        help="suggest each statement rewritten to what was used; "
                        "--suggest=patch prints a patch for git apply")
    parser.add_argument("--min-age-days", type=int, default=default("min-age-days"), metavar="N",
                        help="suggest no removal for a principal created less than N days ago "
                        f"(default {default('min-age-days')})")


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
    report = _report_options()
    check = commands.add_parser("check", parents=[report], help="analyse deployed principals by ARN")
    check.add_argument("arns", nargs="+", metavar="ARN",
                       help="an IAM role, user or group ARN (or a managed policy's)")
    fetch = commands.add_parser(
        "fetch", help="save reports from AWS as an access-data file",
        description="Save last-accessed reports (and AWS managed policies' documents) from AWS "
        "as an access-data file, for --access-data.",
    )
    fetch.add_argument(
        "arns", nargs="+", metavar="ARN",
        help="principals to fetch reports for, and AWS managed policies (arn:aws:iam::aws:policy/...) "
        "whose documents to save",
    )
    fetch.add_argument("--output", type=Path, metavar="FILE", help="the access-data file to write (required)")
    _quiet(fetch)
    _aws_options(fetch.add_argument_group("AWS options"))
    scan = commands.add_parser(
        "scan", parents=[report], help="analyse the principals in Terraform, CloudFormation, SAM or CDK code"
    )
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                      help="Terraform files, CloudFormation or SAM templates, CDK cloud assemblies "
                      "(cdk.out), or directories of them")
    scan.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB",
        help="in the walk of each directory PATH, leave out what matches GLOB (relative to PATH): "
        "a directory and all below it (examples/**, legacy/) or files (**/*_test.tf); "
        ".terraform/, .git/ and node_modules/ always (repeatable). A module called from the code "
        "scanned is read wherever it is",
    )
    _root_option(scan)
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
        help="the CloudFormation stack a template is deployed as; NAME alone when one template "
        "file is scanned (repeatable)",
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
        "plan", parents=[report], help="analyse a Terraform plan (terraform show -json, or a plan file)"
    )
    plan.add_argument("plan", type=Path, metavar="PLAN",
                      help="terraform show -json output, a binary plan file, or - for the JSON on stdin")
    plan.add_argument("--chdir", type=Path, metavar="DIR",
                      help="the configuration directory the plan was made in, for file:line (default: the "
                           "plan's own directory when it holds .tf files, else the current directory)")
    _root_option(plan)
    plan.add_argument("--plan-text", type=Path, metavar="FILE",
                      help="terraform's human plan output, to annotate with --format plan")
    _suggest_options(plan)
    wrap = commands.add_parser(
        "wrap", parents=[report],
        help="run terraform plan (or tofu, terragrunt) and annotate it: iam-lastused wrap -- terraform plan",
    )
    wrap.add_argument("wrapped", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                      help="the plan command and its arguments, after --")
    wrap.add_argument("--chdir", type=Path, default=Path("."), metavar="DIR",
                      help="the configuration directory, for file:line (default: the current directory)")
    _root_option(wrap)
    cfn = commands.add_parser(
        "cfn", parents=[report], help="analyse a deployed CloudFormation stack or a pending change set"
    )
    cfn.add_argument("--stack", required=True, metavar="NAME", help="the deployed stack's name")
    cfn.add_argument("--change-set", metavar="NAME-OR-ARN",
                     help="a pending change set of the stack: analyse what it would deploy")
    _parameter_options(cfn)
    _suggest_options(cfn)
    hook = commands.add_parser(
        "hook", parents=[report], help="pre-commit: analyse the module directories of changed files",
        description="A linter for pre-commit: one line per finding (--format lint), failing on "
        "findings: --offline on the code's own (--fail-on static), live on never-used services "
        "(--fail-on unused), without credentials on the code's own. That level is a floor: a "
        "--fail-on (or the config's fail-on) can widen it, not narrow it; never turns failing off.",
    )
    hook.add_argument("files", nargs="*", type=Path, metavar="FILE",
                      help="the changed files, as pre-commit passes them; Terraform files that "
                      "mention IAM are read, each with its module directory")
    hook.add_argument(
        "--offline", action="store_true", help="static findings only: no AWS call, no credentials needed"
    )
    hook.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB",
        help="leave out a changed file whose path, as pre-commit passes it (from the repository's "
        "top), matches GLOB: examples/**, legacy/, **/*_test.tf; .terraform/, .git/ and "
        "node_modules/ always (repeatable)",
    )
    _root_option(hook)
    hook.add_argument("--var-file", action="append", type=Path, default=[], metavar="FILE",
                      help="a .tfvars file for the changed modules (repeatable)")
    hook.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                      help="a variable of the changed modules, after the var files (repeatable)")

    serve = run_task.add_parser(commands, _serve_options())
    sweep.add_parser(commands, _engine_options)
    if config is not None:
        apply_defaults([*commands.choices.values(), serve], config)
    return parser
