"""Every option, declared once: its name, who may set it, its default, type, check and help.

The config file a repository carries comes with the code, that is from a pull
request: it may state preferences (how stale is stale, what to leave out, what fails
the run), never authority. So each option says where it may come from:

- `repository`: anywhere, the repository's own config file included;
- `invoker`: what decides *which data* judges the code or *whose credentials* read it
  (usage data, account, region, identity): the command line, the environment, or a
  config file the invoker names (`--config FILE` or `IAM_LASTUSED_CONFIG`, outside the
  scanned repository), never the repository's config;
- `command-line`: where the run writes and what it reads besides the code: the
  command line alone.

Everything else about an option is declared here too, once, checkov's way: its kind
(a value, a flag, a repeatable value), the type a value is converted with, its choices,
metavar, help, default, check, and the environment variable that may name it. The
command line's parser adds each option from its declaration (cli/arguments.py), the
config reader converts and checks a value with it (config.py), the check of the parsed
command line (cli/main.py) and the library's `runner.Options` take defaults and checks
from it; tests/test_options_declared_once.py holds them to it. Where one command's
option differs from the others' (hook's `--exclude`, cfn's single `--stack`), the
declaration says so in `variants`, keyed by the command.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from iam_lastused.analysis.analyze import DEFAULT_MAX_SERVICES, FAIL_LEVELS
from iam_lastused.render import REPORT_FORMATS
from iam_lastused.store.snapshots import parse_duration
from iam_lastused.suggest.verdicts import DEFAULT_MIN_AGE_DAYS

Setter = Literal["repository", "invoker", "command-line"]
Kind = Literal["value", "flag", "repeated", "list", "optional"]
"""`value`: --NAME VALUE; `flag`: --NAME alone, true when given; `repeated`: --NAME VALUE,
again and again, a list (empty by default); `list`: one --NAME VALUE its type makes a list
of (empty by default); `optional`: --NAME, or --NAME=VALUE."""


@dataclass(frozen=True)
class Option:
    name: str
    """The long option's name, and its key in a config file."""
    set_by: Setter
    help: str
    """`{default}` in it stands for the default, as the command line writes it."""
    kind: Kind = "value"
    type: Callable[[str], Any] | None = None
    """What converts a value given as text (on the command line, or a config file's string)."""
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    default: Any = None
    check: Callable[[Any], str | None] | None = None
    """What is wrong with a value, to follow `--NAME ` (or `KEY ` in a config file)."""
    path: bool = False
    """Its value names a file or directory: in a config file, relative to that file."""
    const: str | None = None
    """An `optional` option's value when given alone."""
    dest: str | None = None
    """Its attribute on the parsed command line, where that is not its name's."""
    env: str | None = None
    """The environment variable that gives it when the command line does not."""
    required: bool = False
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """What differs for one command, keyed by the command's name."""

    def __post_init__(self) -> None:
        shown = f"{self.default:g}" if isinstance(self.default, float) else str(self.default)
        object.__setattr__(self, "help", self.help.replace("{default}", shown))


def at_least(least: int) -> Callable[[Any], str | None]:
    return lambda value: f"must be {least} or more" if value < least else None


def seconds(value: float) -> str | None:
    return "must be more than 0 seconds" if value <= 0 else None


def account_id(value: str) -> str | None:
    return None if len(value) == 12 and value.isdigit() else "must be an AWS account ID: 12 digits"


def format_and_file(value: str) -> tuple[str, Path]:
    """`FORMAT=FILE` for --also-write."""
    name, equals, file = value.partition("=")
    if not equals or not file:
        raise argparse.ArgumentTypeError(f"{value!r}: give FORMAT=FILE, e.g. markdown=report.md")
    if name not in REPORT_FORMATS:
        raise argparse.ArgumentTypeError(f"{name!r}: the format is one of {', '.join(REPORT_FORMATS)}")
    return name, Path(file)


def access_data_location(value: str) -> Path | str:
    """`--access-data`: an S3 URL as given, else a path (a file or a store's directory)."""
    return value if value.startswith("s3://") else Path(value)


def duration(value: str) -> float:
    """`--max-age`: seconds."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def account_ids(value: str) -> list[str]:
    """`--accounts`: account IDs, separated by commas."""
    accounts = [part.strip() for part in value.split(",") if part.strip()]
    for account in accounts:
        if not (len(account) == 12 and account.isdigit()):
            raise argparse.ArgumentTypeError(f"{account!r} is not an AWS account ID (12 digits)")
    return accounts


def shard(value: str) -> Any:
    """`--shard I/N`: a sweep's worker's share of the accounts."""
    from iam_lastused.usage.sweep import parse_shard  # usage.sweep imports runner, which imports this

    try:
        return parse_shard(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


CONFIG_VARIABLE = "IAM_LASTUSED_CONFIG"
_REPEATABLE = " (repeatable)"

_DECLARED = (
    # what the analysis judges as a finding, and what fails the run
    Option("stale-days", "repository", type=int, metavar="N", default=90, check=at_least(0),
           help="a service last used more than N days ago is stale (default {default})"),
    Option("max-services", "repository", type=int, metavar="N", default=DEFAULT_MAX_SERVICES,
           check=at_least(0), help="flag a principal granted more than N services (default {default})"),
    Option("fail-on", "repository", choices=tuple(FAIL_LEVELS),
           help="exit 1 on findings at or above this level: never, static (broad grants "
           "in the code), stale, unused (default never; for hook, see its help)"),
    Option("granularity", "repository", choices=("service", "action"), default="service",
           help="last-accessed reports per service (default) or per action"),
    Option("min-age-days", "repository", type=int, metavar="N", default=DEFAULT_MIN_AGE_DAYS,
           check=at_least(0),
           help="suggest no removal for a principal created less than N days ago (default {default})"),
    # what of the code is read, and with which values
    Option("exclude", "repository", kind="repeated", metavar="GLOB",
           help="in the walk of each directory PATH, leave out what matches GLOB (relative to PATH): "
           "a directory and all below it (examples/**, legacy/) or files (**/*_test.tf); "
           ".terraform/, .git/ and node_modules/ always (repeatable). A module called from the code "
           "scanned is read wherever it is",
           variants={"hook": {"help": "leave out a changed file whose path, as pre-commit passes it (from "
                              "the repository's top), matches GLOB: examples/**, legacy/, **/*_test.tf; "
                              ".terraform/, .git/ and node_modules/ always (repeatable)"}}),
    Option("var-file", "repository", kind="repeated", type=Path, metavar="FILE", path=True,
           help="a .tfvars file for the root modules" + _REPEATABLE,
           variants={"hook": {"help": "a .tfvars file for the changed modules" + _REPEATABLE}}),
    Option("var", "repository", kind="repeated", metavar="NAME=VALUE",
           help="a root module variable, after the var files, as terraform -var does" + _REPEATABLE,
           variants={"hook": {"help": "a variable of the changed modules, after the var files"
                              + _REPEATABLE}}),
    Option("parameters", "repository", type=Path, metavar="FILE", path=True,
           help="CloudFormation parameter values: the AWS CLI's JSON, CodePipeline's, or samconfig.toml"),
    Option("parameter", "repository", kind="repeated", metavar="KEY=VALUE",
           help="a CloudFormation parameter value (repeatable; wins over --parameters)"),
    Option("stack", "repository", kind="repeated", metavar="[TEMPLATE=]NAME",
           help="the CloudFormation stack a template is deployed as; NAME alone when one template "
           "file is scanned" + _REPEATABLE,
           variants={"cfn": {"kind": "value", "required": True, "metavar": "NAME",
                             "help": "the deployed stack's name"}}),
    Option("stack-from-file", "repository", type=Path, metavar="FILE", path=True,
           help="a YAML or JSON mapping of template paths to stack names"),
    Option("change-set", "repository", metavar="NAME-OR-ARN",
           help="a pending change set of the stack: analyse what it would deploy"),
    Option("chdir", "repository", type=Path, metavar="DIR", path=True,
           help="the configuration directory the plan was made in, for file:line (default: the "
           "plan's own directory when it holds .tf files, else the current directory)",
           variants={"wrap": {"default": Path("."), "help": "the configuration directory, for file:line "
                              "(default: the current directory)"}}),
    Option("plan-text", "repository", type=Path, metavar="FILE", path=True,
           help="terraform's human plan output, to annotate with --format plan"),
    Option("offline", "repository", kind="flag",
           help="static findings only: no AWS call, no credentials needed"),
    # how the report looks and how long the run may take
    Option("format", "repository", choices=(*REPORT_FORMATS, "plan"),
           help="text (default; lint for hook), json, markdown, sarif, github (workflow "
           "annotations), lint (path:line: [rule] message), junit, gitlab (Code Quality), "
           "or plan (plan and wrap only: the plan text, annotated)"),
    Option("quiet", "repository", kind="flag", help="no progress and no warnings on stderr"),
    Option("no-color", "repository", kind="flag",
           help="no colour in the text report on a terminal (also: NO_COLOR set)"),
    Option("timeout", "repository", type=float, metavar="SECONDS", default=600.0, check=seconds,
           help="give up on reports not complete after this long (default {default})"),
    Option("no-cache", "repository", kind="flag",
           help="neither read nor write the caches (reports, policy documents, parsed code)"),
    Option("suppress", "repository", help="the config file's [[suppress]] entries"),
    # run-task serve: the server's own settings
    Option("host", "repository", default="127.0.0.1", help="address to listen on (default {default})"),
    Option("port", "repository", type=int, default=8080, check=at_least(0),
           help="port to listen on (default {default})"),
    Option("workers", "repository", type=int, metavar="N", default=1, check=at_least(1),
           help="runs analysed at once (default {default})"),
    Option("queue-limit", "repository", type=int, metavar="N", default=16, check=at_least(1),
           help="runs waiting at most; past it a request is answered 503 (default {default})"),
    Option("run-timeout", "repository", type=float, metavar="SECONDS", default=540.0, check=seconds,
           help="a run not done after this long gets a failed result (default {default})"),
    # whose credentials, and which usage data
    Option("access-data", "invoker", type=access_data_location, metavar="FILE|URL", path=True,
           help="take reports from this file (offline: no AWS call is made), or from a sweep's store: "
           "a directory or s3://BUCKET/PREFIX (what it lacks is asked of AWS)"),
    Option("account-id", "invoker", metavar="ID", check=account_id,
           help="the AWS account principals named in the code live in "
           "(default: from STS; offline, the one account the access data names)"),
    Option("accounts", "invoker", kind="list", type=account_ids, metavar="ID,...",
           help="the accounts to sweep (default: the caller's own)"),
    Option("region", "invoker", help="AWS region for the API endpoint"),
    Option("profile", "invoker", help="AWS named profile"),
    Option("assume-role-arn", "invoker", metavar="TEMPLATE",
           help="for each account, assume this role for its reports, "
           "e.g. 'arn:aws:iam::{account_id}:role/iam-lastused'"),
    Option("api-url", "invoker", metavar="URL", default="https://app.terraform.io",
           help="HCP Terraform or Terraform Enterprise; plan and callback URLs must be under it "
           "(default {default})"),
    Option("hmac-key-env", "invoker", metavar="NAME",
           help="the environment variable holding the run task's HMAC key; requests must then "
           "carry its X-TFC-Task-Signature"),
    Option("usage-source", "invoker", choices=("iam", "access-analyzer"), default="iam",
           help="iam: last-accessed reports (default); access-analyzer: the unused-access "
           "findings of --analyzer-arn (no job generated)"),
    Option("analyzer-arn", "invoker", metavar="ARN",
           help="the IAM Access Analyzer unused-access analyzer, for --usage-source access-analyzer"),
    Option("store", "invoker", metavar="URL", path=True,
           help="s3://BUCKET/PREFIX, or a local directory (required: here, or as store in "
           "the config file --config names)"),
    Option("max-age", "invoker", type=duration, metavar="DURATION", default=86400.0,
           help="use a store's snapshot no older than this: 30m, 24h, 7d (default 24h)"),
    Option("organization", "invoker", kind="flag",
           help="every ACTIVE account of the organisation (organizations:ListAccounts)"),
    Option("ou", "invoker", metavar="OU-ID",
           help="with --organization: only the accounts under this organisational unit, at any depth"),
    Option("shard", "invoker", type=shard, metavar="I/N", default="1/1",
           help="be worker I of N: the accounts at sorted positions I, I+N, I+2N... (default {default})"),
    # what the run writes, and what it reads besides the code: the command line's alone
    Option("output", "command-line", type=Path, metavar="FILE", path=True,
           help="write the report here, not to stdout",
           variants={"fetch": {"help": "the access-data file to write (required)"}}),
    Option("also-write", "command-line", kind="repeated", type=format_and_file, metavar="FORMAT=FILE",
           help=f"also write the report in FORMAT ({', '.join(REPORT_FORMATS)}) to FILE, "
           "from the same run" + _REPEATABLE),
    Option("suggest", "command-line", kind="optional", const="text", choices=("text", "patch"),
           help="suggest each statement rewritten to what was used; --suggest=patch prints a patch "
           "for git apply"),
    Option("root", "command-line", type=Path, metavar="DIR", path=True,
           help="files the code names (file(), module sources, links) are read only inside DIR "
           "(default: the git work tree holding each scanned path, else the current directory)"),
    Option("config", "command-line", type=Path, metavar="FILE", path=True, dest="config_file",
           env=CONFIG_VARIABLE,
           help="a config file of yours, over the repository's: it may also set the usage "
           f"data and the AWS identity (default: ${CONFIG_VARIABLE})"),
)

OPTIONS: dict[str, Option] = {option.name: option for option in _DECLARED}
"""Config keys are these names (`accounts` is the `[accounts]` table, `suppress` the
`[[suppress]]` entries); an option added to the command line is added here."""


def declared(name: str, command: str | None = None) -> Option:
    """An option as `command` has it: its declaration, with that command's variant."""
    option = OPTIONS[name]
    variant = option.variants.get(command or "", {})
    return dataclasses.replace(option, **variant, variants={}) if variant else option


def default(name: str) -> Any:
    """An option's default: what the parser, the config reader and `runner.Options` use."""
    return OPTIONS[name].default


def problem(name: str, value: Any) -> str | None:
    """What is wrong with a value of an option (`must be 0 or more`), or None."""
    check = OPTIONS[name].check
    return check(value) if check is not None and value is not None else None
