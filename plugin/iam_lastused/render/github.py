"""GitHub Actions workflow commands, which the runner turns into annotations on the
pull request's files:

- `::warning` for a granted service never used (the finding to act on),
- `::warning` for a granted service that is no known IAM service (a mistyped prefix?),
- `::notice` for a stale service, for a used service with never-used actions
  (`--granularity action`), for a granted service IAM's report does not list, for a
  principal whose ARN is only known at apply (`unresolved`), for a permission set's roles
  (one per permission set: its role in each account, or why there is none), and for each
  run note,
- `::error` for a principal whose report could not be had (`error`) and for input
  that was skipped (a file that does not parse).

Each annotation points at the first statement granting the service (else the
principal's own definition) and names the others in its message. GitHub shows at
most 10 warnings and 10 errors per step, and 50 annotations per job, so the text
or Markdown report is still the place for the whole list.

Every value from the code or from AWS is made printable (`terminal_safe`) and then
escaped by GitHub's rules, so no name can end a command or start a new one: CR and LF
are escaped, so nothing from a name reaches the start of a line, where `::` starts a
command, and `##[` (the runner's legacy command prefix, which it looks for anywhere in
a line) is broken. In a property, which the runner decodes, every `:` is escaped too.
"""

from __future__ import annotations

from iam_lastused.analysis import rules
from iam_lastused.analysis.rule import Level, Rule
from iam_lastused.analysis.rules import NOT_IN_REPORT, STALE, UNKNOWN_SERVICE, UNUSED, UNUSED_ACTIONS
from iam_lastused.model import InputError, Location, PrincipalResult, RunResult, ServiceResult
from iam_lastused.render.common import days_ago, in_accounts, roles_text
from iam_lastused.render.escape import terminal_safe
from iam_lastused.render.findings import unreported_message, unused_actions_message
from iam_lastused.suggest.verdicts import Suggestions

_DATA_ESCAPES = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROPERTY_ESCAPES = {**_DATA_ESCAPES, ":": "%3A", ",": "%2C"}
# The runner takes `::` as a command only at the start of a line, which escaping CR
# and LF rules out; its legacy `##[` it takes anywhere in a line, so that is broken
# (after the escapes above, so the `%` written here is not escaped again). A `::` in a
# message (every ARN has one) is left as it reads.
_LEGACY_START = "##["
_COMMANDS: dict[Level, str] = {"error": "error", "warning": "warning", "note": "notice"}


def _level(rule: Rule) -> str:
    """The workflow command for a finding of `rule`, from the rule's level."""
    return _COMMANDS[rule.level]


def _neutralise(text: str) -> str:
    return text.replace(_LEGACY_START, "#%23[")


def escape_data(text: str) -> str:
    """A command's message: `%`, CR and LF escaped, and `##[` broken."""
    return _neutralise("".join(_DATA_ESCAPES.get(ch, ch) for ch in text))


def escape_property(text: str) -> str:
    """A command's property value (file, title): also `:` and `,` escaped, and `##[` broken."""
    return _neutralise("".join(_PROPERTY_ESCAPES.get(ch, ch) for ch in text))


def command(level: str, message: str, location: Location | None = None, title: str | None = None) -> str:
    properties = []
    if location is not None:
        properties.append(f"file={escape_property(terminal_safe(location.file))}")
        if location.line:
            properties.append(f"line={location.line}")
    if title:
        properties.append(f"title={escape_property(terminal_safe(title))}")
    head = f"{level} {','.join(properties)}" if properties else level
    return f"::{head}::{escape_data(terminal_safe(message))}"


def _where(location: Location) -> str:
    return f"{location.file}:{location.line}" if location.line else location.file


def _service_command(result: PrincipalResult, service: ServiceResult, run: RunResult) -> str:
    principal = result.principal
    who = f"{principal.kind} {principal.address}"
    what = f"{service.namespace} ({service.name})"
    where = service.granted_by or ((principal.location,) if principal.location else ())
    also = f" Also granted at {', '.join(_where(loc) for loc in where[1:])}." if len(where) > 1 else ""
    first = where[0] if where else None
    held = f", {in_accounts(service.accounts)}" if service.accounts else ""
    if service.state == "unused":
        message = f"{who} is granted {what} but has not used it in IAM's tracking period{held}.{also}"
        return command(_level(UNUSED), message, first, f"Unused AWS service: {service.namespace}")
    message = (
        f"{who} is granted {what} but last used it {days_ago(service.last_accessed, run.now)}, "
        f"stale after {run.stale_days} days{held}.{also}"
    )
    return command(_level(STALE), message, first, f"Stale AWS service: {service.namespace}")


def _first(result: PrincipalResult, service: ServiceResult) -> Location | None:
    return service.granted_by[0] if service.granted_by else result.principal.location


def _detail_commands(result: PrincipalResult) -> list[str]:
    """The used services with never-used actions, and the services the report does not list."""
    commands = [
        command(_level(UNUSED_ACTIONS), unused_actions_message(result, service), _first(result, service),
                f"Unused AWS actions: {service.namespace}")
        for service in result.partly_used()
    ]
    for service in result.unreported:
        message = unreported_message(result, service)
        if service.state == "unknown-service":
            commands.append(
                command(_level(UNKNOWN_SERVICE), message, _first(result, service), "Unknown AWS service")
            )
        else:
            commands.append(command(_level(NOT_IN_REPORT), message, _first(result, service),
                                    f"Not in IAM's report: {service.namespace}"))
    return commands


def _principal_commands(result: PrincipalResult, run: RunResult) -> list[str]:
    principal = result.principal
    roles = [command("notice", f"{principal.kind} {principal.address}: {roles_text(principal, run.now)}",
                     principal.location, "Permission set roles")] if principal.roles else []
    return _own_commands(result, run) + roles


def _own_commands(result: PrincipalResult, run: RunResult) -> list[str]:
    principal = result.principal
    who = f"{principal.kind} {principal.address}"
    reason = result.error or "unknown reason"
    static = [
        command(_level(rules.by_name(finding.rule)), f"{who} {finding.message}", finding.location,
                "Broad IAM grant")
        for finding in result.static
    ]
    if result.status in ("unresolved", "invalid-name"):
        message = f"{who} cannot be analysed: {reason}"
        return [command("notice", message, principal.location, "Principal not analysed"), *static]
    if result.status == "error":
        message = f"No last-accessed report for {who}: {reason}"
        return [command("error", message, principal.location, "Principal not analysed"), *static]
    if result.status != "analyzed":
        return static
    suppressed = [
        command(
            "notice",
            f"{who}: {service.state} {service.namespace} suppressed: {service.suppressed.reason}",
            _first(result, service),
            "Suppressed finding",
        )
        for service in result.suppressed()
        if service.suppressed
    ]
    services = [_service_command(result, service, run) for service in result.findings()]
    return services + _detail_commands(result) + static + suppressed


def _input_error(error: InputError) -> str:
    location = Location(error.file, error.line) if error.file else None
    return command("error", error.message, location, "Input skipped")


def render_github(run: RunResult, suggestions: Suggestions | None = None) -> str:
    lines = [line for result in run.principals for line in _principal_commands(result, run)]
    lines += [_input_error(error) for error in run.errors]
    lines += [command("notice", note) for note in run.notes]
    return "".join(line + "\n" for line in lines)
