"""Every option, declared once: its name, and who may set it.

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

Each option's default and its check of a value are declared here too, once: the
command line's parser (cli/parser.py), the config reader (config.py), the check of the
parsed command line (cli/main.py) and the library's `runner.Options` take them from this
table; tests/test_options_declared_once.py holds them to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from iam_lastused.analysis.analyze import DEFAULT_MAX_SERVICES
from iam_lastused.suggest.verdicts import DEFAULT_MIN_AGE_DAYS

Setter = Literal["repository", "invoker", "command-line"]


@dataclass(frozen=True)
class Option:
    name: str
    """The long option's name, and its key in a config file."""
    set_by: Setter
    path: bool = False
    """Its value names a file or directory: in a config file, relative to that file."""
    default: Any = None
    check: Callable[[Any], str | None] | None = None
    """What is wrong with a value, to follow `--NAME ` (or `KEY ` in a config file)."""


def at_least(least: int) -> Callable[[Any], str | None]:
    return lambda value: f"must be {least} or more" if value < least else None


def seconds(value: float) -> str | None:
    return "must be more than 0 seconds" if value <= 0 else None


def account_id(value: str) -> str | None:
    return None if len(value) == 12 and value.isdigit() else "must be an AWS account ID: 12 digits"


PATHS = {"access-data", "store", "var-file", "parameters", "stack-from-file", "chdir", "plan-text", "output",
         "root", "config"}


_VALUES: dict[str, dict[str, Any]] = {
    "stale-days": {"default": 90, "check": at_least(0)},
    "max-services": {"default": DEFAULT_MAX_SERVICES, "check": at_least(0)},
    "min-age-days": {"default": DEFAULT_MIN_AGE_DAYS, "check": at_least(0)},
    "granularity": {"default": "service"},
    "timeout": {"default": 600.0, "check": seconds},
    "account-id": {"check": account_id},
    "usage-source": {"default": "iam"},
    "max-age": {"default": 86400.0},
    "host": {"default": "127.0.0.1"},
    "port": {"default": 8080, "check": at_least(0)},
    "api-url": {"default": "https://app.terraform.io"},
    "queue-limit": {"default": 16, "check": at_least(1)},
    "workers": {"default": 1, "check": at_least(1)},
    "run-timeout": {"default": 540.0, "check": seconds},
}
"""The default (where it is not None) and the check of each option that has one."""


def _declare(set_by: Setter, *names: str) -> dict[str, Option]:
    return {name: Option(name, set_by, name in PATHS, **_VALUES.get(name, {})) for name in names}


OPTIONS: dict[str, Option] = {
    **_declare(
        "repository",
        # what the analysis judges as a finding, and what fails the run
        "stale-days", "max-services", "fail-on", "granularity", "min-age-days",
        # what of the code is read, and with which values
        "exclude", "var-file", "var", "parameters", "parameter", "stack", "stack-from-file",
        "change-set", "chdir", "plan-text", "offline",
        # how the report looks and how long the run may take
        "format", "quiet", "no-color", "timeout", "no-cache", "suppress",
        # run-task serve: the server's own settings
        "host", "port", "workers", "queue-limit", "run-timeout",
    ),
    **_declare(
        "invoker",
        "access-data", "account-id", "accounts", "region", "profile", "assume-role-arn",
        # run-task serve: where results (with the run's token) go, and the key that signs
        "api-url", "hmac-key-env",
        # where usage data comes from besides AWS's reports: Access Analyzer, a store's
        # snapshots (and how old one may be), the organisation's accounts a sweep reads
        "usage-source", "analyzer-arn", "store", "max-age", "organization", "ou", "shard",
    ),
    **_declare("command-line", "output", "also-write", "suggest", "root", "config"),
}
"""Config keys are these names (`accounts` is the `[accounts]` table, `suppress` the
`[[suppress]]` entries); an option added to the command line is added here."""


def default(name: str) -> Any:
    """An option's default: what the parser, the config reader and `runner.Options` use."""
    return OPTIONS[name].default


def problem(name: str, value: Any) -> str | None:
    """What is wrong with a value of an option (`must be 0 or more`), or None."""
    check = OPTIONS[name].check
    return check(value) if check is not None and value is not None else None
