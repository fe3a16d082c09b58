"""Running `terraform plan` (or tofu, terragrunt) as a wrapper, after tfcmt's
convention: the command runs as given, its output goes to our stdout unchanged
as it comes and is kept, and the plan it saved is read with `show -json`.
Terraform's exit code always stands; nothing here can lose its output."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from iam_lastused import api

EXIT_NOT_FOUND = 127


@dataclass(frozen=True)
class WrapResult:
    """What the wrapped command did: its exit code, its output, and the plan it
    saved (None when it failed, or when the plan could not be read: then `error`)."""

    exit_code: int
    output: str
    plan: dict[str, Any] | None = None
    error: str | None = None
    saved: str | None = None
    """The plan file the wrapper chose (the user gave no -out), kept: terraform's own
    `terraform apply "FILE"` hint names it."""


def run_wrapped(command: list[str], stdout: BinaryIO) -> WrapResult:
    """Runs the plan command, its output streamed to `stdout`, and reads the plan it saved.
    Without the user's -out, the plan goes to a file of the wrapper's own (in a private
    temporary directory), which is kept when the plan succeeded: terraform's output
    says to apply it. A failed plan leaves nothing behind."""
    if not command:
        return WrapResult(EXIT_NOT_FOUND, "", error="no command to run")
    given = _out_argument(command)
    directory = None if given else tempfile.mkdtemp(prefix="iam-lastused-")
    plan_file = given or os.path.join(directory or "", "plan.tfplan")
    keep = False
    try:
        try:
            process = subprocess.Popen(
                [*command, f"-out={plan_file}"] if directory else command, stdout=subprocess.PIPE
            )
        except OSError as exc:
            return WrapResult(EXIT_NOT_FOUND, "", error=f"{command[0]}: cannot run: {exc.strerror or exc}")
        with _interrupts_to_child():
            output = _stream(process, stdout)
            code = process.wait()
        code = 128 - code if code < 0 else code  # killed by a signal: the shell's convention
        text = output.decode("utf-8", "replace")
        succeeded = code == 0 or (code == 2 and _detailed_exit_code(command))
        if not succeeded:
            return WrapResult(code, text)
        plan, error = _show(command, plan_file)
        keep = directory is not None and os.path.exists(plan_file)
        return WrapResult(code, text, plan, error, plan_file if keep else None)
    finally:
        if directory and not keep:
            shutil.rmtree(directory, ignore_errors=True)


def subcommand(command: list[str]) -> str | None:
    """The Terraform subcommand: the first argument after the binary that is not an
    option (`-chdir=DIR` comes before it); for terragrunt's `run-all plan`, `plan`."""
    words = [argument for argument in command[1:] if not argument.startswith("-")]
    if words[:1] == ["run-all"]:
        words = words[1:]
    return words[0] if words else None


def _out_argument(command: list[str]) -> str | None:
    """The plan file the user asked for with -out=FILE (or -out FILE), if any."""
    for index, argument in enumerate(command):
        name, equals, value = argument.partition("=")
        if name in ("-out", "--out"):
            if equals:
                return value
            return command[index + 1] if index + 1 < len(command) else None
    return None


def _detailed_exit_code(command: list[str]) -> bool:
    """Whether exit code 2 means success with changes, as -detailed-exitcode asks."""
    return any(
        argument.lstrip("-") in ("detailed-exitcode", "detailed-exitcode=true") for argument in command
    )


def _stream(process: subprocess.Popen[bytes], stdout: BinaryIO) -> bytes:
    """Copies the process's output to `stdout` as it comes, and returns all of it."""
    assert process.stdout is not None
    chunks = []
    while chunk := os.read(process.stdout.fileno(), 65536):
        chunks.append(chunk)
        stdout.write(chunk)
        stdout.flush()
    process.stdout.close()
    return b"".join(chunks)


@contextmanager
def _interrupts_to_child() -> Iterator[None]:
    """Ctrl-C reaches the whole process group; Terraform stops gracefully on it, and
    the wrapper keeps relaying its output until it has."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _show(command: list[str], plan_file: str) -> tuple[dict[str, Any] | None, str | None]:
    """The saved plan as JSON, read by the same binary with the same global options
    (such as -chdir) as the plan command."""
    subcommand = command.index("plan") if "plan" in command else 1
    try:
        return api.load_plan(plan_file, terraform=command[:subcommand]), None
    except api.UsageError as exc:
        return None, str(exc)
