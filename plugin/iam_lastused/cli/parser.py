"""The command line's options: one parser, with the options every command shares. Each
option's argument is made from its declaration (options.py, by cli/arguments.py); here
is only which command has which, in which group."""

from __future__ import annotations

import argparse
from pathlib import Path

from iam_lastused import __version__
from iam_lastused.cli.arguments import add_options
from iam_lastused.cli.commands import run_task, sweep
from iam_lastused.config import Config, config_defaults

ENGINE = ("profile", "config", "region", "assume-role-arn", "granularity", "timeout")
"""Whose credentials, and how the report engine asks: for every command, the sweep too
(which keeps no cache)."""
AWS = (*ENGINE, "no-cache")
"""How reports are fetched from AWS: for every command but the sweep."""
ANALYSIS = ("access-data", "max-age", "usage-source", "analyzer-arn", "account-id", "stale-days",
            "max-services", "fail-on")
"""What is analysed and what fails the run: for every command that analyses."""
REPORT = ("format", "output", "also-write", "quiet", "no-color")
"""How a report is written: for every command that prints one."""
FETCH = ("output", "quiet")
SUGGEST = ("suggest", "min-age-days")
PARAMETERS = ("parameters", "parameter")
"""CloudFormation parameter values, for `scan` and `cfn`."""

OWN: dict[str, tuple[str, ...]] = {
    "check": (),
    "scan": ("exclude", "root", "var-file", "var", "stack", "stack-from-file", *PARAMETERS, *SUGGEST),
    "plan": ("chdir", "root", "plan-text", *SUGGEST),
    "wrap": ("chdir", "root"),
    "cfn": ("stack", "change-set", *PARAMETERS, *SUGGEST),
    "hook": ("offline", "exclude", "root", "var-file", "var"),
}
"""Each reporting command's options besides REPORT, ANALYSIS and AWS, in the order its help lists them."""


def _analysis_and_aws(parser: argparse.ArgumentParser) -> None:
    add_options(parser.add_argument_group("analysis options"), ANALYSIS)
    add_options(parser.add_argument_group("AWS options"), AWS)


def _report_options() -> argparse.ArgumentParser:
    """The options of every command that prints a report."""
    common = argparse.ArgumentParser(add_help=False)
    add_options(common.add_argument_group("report options"), REPORT)
    _analysis_and_aws(common)
    return common


def _serve_options() -> argparse.ArgumentParser:
    """A report's options, but for how and where it is written: each run's goes to HCP Terraform."""
    options = argparse.ArgumentParser(add_help=False)
    _analysis_and_aws(options)
    return options


def _engine_options(group: argparse._ActionsContainer) -> None:
    add_options(group, ENGINE)


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
    add_options(fetch, FETCH, "fetch")
    add_options(fetch.add_argument_group("AWS options"), AWS)
    scan = commands.add_parser(
        "scan", parents=[report], help="analyse the principals in Terraform, CloudFormation, SAM or CDK code"
    )
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                      help="Terraform files, CloudFormation or SAM templates, CDK cloud assemblies "
                      "(cdk.out), or directories of them")
    plan = commands.add_parser(
        "plan", parents=[report], help="analyse a Terraform plan (terraform show -json, or a plan file)"
    )
    plan.add_argument("plan", type=Path, metavar="PLAN",
                      help="terraform show -json output, a binary plan file, or - for the JSON on stdin")
    wrap = commands.add_parser(
        "wrap", parents=[report],
        help="run terraform plan (or tofu, terragrunt) and annotate it: iam-lastused wrap -- terraform plan",
    )
    wrap.add_argument("wrapped", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                      help="the plan command and its arguments, after --")
    cfn = commands.add_parser(
        "cfn", parents=[report], help="analyse a deployed CloudFormation stack or a pending change set"
    )
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
    reporting = {"check": check, "scan": scan, "plan": plan, "wrap": wrap, "cfn": cfn, "hook": hook}
    for name, command in reporting.items():
        add_options(command, OWN[name], name)
    serve = run_task.add_parser(commands, _serve_options())
    swept = sweep.add_parser(commands, _engine_options)
    if config is not None:
        declared: list[tuple[str, argparse.ArgumentParser, tuple[str, ...]]] = [
            *((name, command, (*REPORT, *ANALYSIS, *AWS, *OWN[name])) for name, command in reporting.items()),
            ("fetch", fetch, (*FETCH, *AWS)),
            ("serve", serve, (*ANALYSIS, *AWS, *run_task.OPTIONS)),
            ("sweep", swept, (*sweep.OPTIONS, *ENGINE)),
        ]
        for name, command, options in declared:
            command.set_defaults(**config_defaults(config, options, name))
    return parser
