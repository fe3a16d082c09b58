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

The config reader (config.py) asks this table; a test holds the command line's
options and this table to the same set of names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Setter = Literal["repository", "invoker", "command-line"]


@dataclass(frozen=True)
class Option:
    name: str
    """The long option's name, and its key in a config file."""
    set_by: Setter
    path: bool = False
    """Its value names a file or directory: in a config file, relative to that file."""


PATHS = {"access-data", "store", "var-file", "parameters", "stack-from-file", "chdir", "plan-text", "output",
         "root", "config"}


def _declare(set_by: Setter, *names: str) -> dict[str, Option]:
    return {name: Option(name, set_by, name in PATHS) for name in names}


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
