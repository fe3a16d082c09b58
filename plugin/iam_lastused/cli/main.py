"""`iam-lastused`: parse the command line and dispatch to its command.

Exit codes: 0 no finding at the `--fail-on` level; 1 findings at or above it;
2 usage error, or nothing could be analysed; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from iam_lastused import api
from iam_lastused.cli import output
from iam_lastused.cli.commands import cfn, check, fetch, hook, plan, run_task, scan, sweep, wrap
from iam_lastused.cli.parser import build_parser
from iam_lastused.config import ConfigError, read_config
from iam_lastused.options import OPTIONS, problem
from iam_lastused.render import SUGGESTING_FORMATS
from iam_lastused.render.escape import terminal_safe

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": check.run,
    "fetch": fetch.run,
    "scan": scan.run,
    "hook": hook.run,
    "cfn": cfn.run,
    "plan": plan.run,
    "wrap": wrap.run,
    "run-task": run_task.run,
    "sweep": sweep.run,
}
PLAN_COMMANDS = ("plan", "wrap")


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the command given (of `run-task serve`, its action's), whose usage
    line a usage error shows, as argparse's own errors do."""
    chosen = parser
    for name in (args.command, getattr(args, "run_task_action", None)):
        commands = next((action for action in chosen._actions
                         if isinstance(action, argparse._SubParsersAction)), None)
        if commands is None or name not in commands.choices:
            break
        chosen = commands.choices[name]
    return chosen


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """What argparse alone cannot check; exits with the command's usage error. Also the defaults
    that differ by command (parents' options are shared, so set_defaults cannot): the
    hook is a linter, with its own lines and failing on findings (commands/hook.py)."""
    if getattr(args, "format", "") is None:
        args.format = "lint" if args.command == "hook" else "text"
    if getattr(args, "fail_on", "") is None and args.command != "hook":
        args.fail_on = "never"
    for name in OPTIONS:  # each value as its declaration checks it (options.py)
        if (wrong := problem(name, getattr(args, name.replace("-", "_"), None))) is not None:
            parser.error(f"--{name} {wrong}")
    if getattr(args, "format", None) == "plan" and args.command not in PLAN_COMMANDS:
        parser.error("--format plan annotates a Terraform plan: use it with plan or wrap")
    if getattr(args, "suggest", None) == "text" and args.format not in SUGGESTING_FORMATS:
        parser.error(f"--suggest adds to text or json output, not {args.format}: use --suggest=patch")


def main(argv: Sequence[str] | None = None) -> int:
    try:  # which config file the invoker names (--config) decides the parser's defaults
        config = read_config(Path.cwd(), build_parser().parse_args(argv).config_file)
        parser = build_parser(config)
    except ConfigError as exc:
        print(f"iam-lastused: error: {exc}", file=sys.stderr)
        return output.EXIT_USAGE
    for refused in config.refused:
        print(f"iam-lastused: warning: {terminal_safe(refused)}", file=sys.stderr)
    args = parser.parse_args(argv)
    args.config = config
    _check(_command_parser(parser, args), args)
    try:
        return COMMANDS[args.command](args)
    except api.UsageError as exc:  # may quote names from the input: made terminal-safe
        print(f"iam-lastused: error: {terminal_safe(str(exc))}", file=sys.stderr)
        return output.EXIT_USAGE
    except KeyboardInterrupt:
        print("iam-lastused: interrupted", file=sys.stderr)
        return output.EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line and exit 2, never a traceback or exit 1 ("findings")
        message = f"internal error: {type(exc).__name__}: {exc} (please report it)"
        print(f"iam-lastused: {message}", file=sys.stderr)
        return output.EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
