"""map_bounded: each input read within its budget in a worker process, or reported as
over it, without harm to the others; results in the order of the inputs.

The functions the workers run are defined here, at the top level, so that they pickle.
Each takes a `pad` argument: inputs whose text adds up to more than IN_PROCESS_BYTES
go to the workers, smaller batches are read in this process.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from iam_lastused.sources.terraform.reader import parse_file
from iam_lastused.workers import IN_PROCESS_BYTES, Budget, OverBudget, map_bounded

PAD = b"#" * IN_PROCESS_BYTES  # with it, any batch goes to the workers
MB = 1024 * 1024
limits_memory = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux"
)


def square(value: int, pad: bytes) -> tuple[int, int]:
    return value * value, os.getpid()


def sleep_on(value: int, pad: bytes, slow: int) -> int:
    if value == slow:
        time.sleep(60)
    return value


def allocate(value: int, pad: bytes, megabytes: int) -> int:
    if value == 1:
        block = bytearray(megabytes * MB)
        return len(block)
    return value


def stop(value: int, pad: bytes) -> int:
    if value == 1:
        os._exit(3)
    if value == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def fail(value: int, pad: bytes) -> int:
    if value == 1:
        raise ValueError(f"no {value}")
    return value


def swallow(value: int, pad: bytes) -> tuple[str, int]:
    """Fills the memory until an allocation fails, and catches the MemoryError, as
    parsers may."""
    if value == 0:
        hoard = []
        try:
            while True:
                hoard.append(b"x" * (64 * 1024))
        except MemoryError:
            return "swallowed", os.getpid()
    return "read", os.getpid()


def hang_after_writing(value: int, pad: bytes, directory: str) -> int:
    Path(directory, f"{os.getpid()}.pid").touch()
    time.sleep(60)
    return value


def test_results_in_the_order_of_the_items_from_the_workers() -> None:
    results = map_bounded(square, [(value, PAD) for value in range(40)])
    assert [result for result, _ in results] == [value * value for value in range(40)]  # type: ignore[misc]
    pids = {pid for _, pid in results}  # type: ignore[misc]
    assert os.getpid() not in pids and len(pids) <= (os.cpu_count() or 1)


def test_a_small_batch_is_read_in_this_process() -> None:
    results = map_bounded(square, [(value, b"") for value in range(3)])
    assert results == [(0, os.getpid()), (1, os.getpid()), (4, os.getpid())]
    assert map_bounded(square, []) == []


def test_an_input_past_the_deadline_is_over_budget_and_the_others_are_read() -> None:
    start = time.monotonic()
    results = map_bounded(sleep_on, [(value, PAD, 2) for value in range(6)], Budget(seconds=0.5))
    assert results == [0, 1, OverBudget("not read: took over 0.5 s"), 3, 4, 5]
    assert time.monotonic() - start < 30  # killed at its deadline, not left to sleep


@limits_memory
def test_an_input_past_the_memory_cap_is_over_budget_and_the_others_are_read() -> None:
    results = map_bounded(allocate, [(value, PAD, 400) for value in range(4)], Budget(memory_bytes=200 * MB))
    assert results == [0, OverBudget("not read: needed over 200 MB"), 2, 3]


@limits_memory
def test_a_worker_that_came_near_its_cap_is_replaced_for_the_next_input() -> None:
    """Its heap may still hold what the input left: the next input gets a new worker
    with the whole budget."""
    first, second = map_bounded(swallow, [(0, PAD), (1, PAD)], Budget(memory_bytes=200 * MB), workers=1)
    assert first[0] == "swallowed" and second[0] == "read"  # type: ignore[index]
    assert first[1] != second[1]  # type: ignore[index]


def test_a_worker_that_dies_makes_its_input_over_budget_and_the_others_are_read() -> None:
    results = map_bounded(stop, [(value, PAD) for value in range(5)])
    assert results == [
        0,
        OverBudget("not read: the parser stopped (exit code 3)"),
        OverBudget("not read: the parser stopped (killed by SIGKILL)"),
        3,
        4,
    ]


def test_an_exception_from_the_function_is_raised_with_the_workers_traceback() -> None:
    with pytest.raises(ValueError, match="no 1") as raised:
        map_bounded(fail, [(value, PAD) for value in range(3)])
    assert "in fail" in str(raised.value.__cause__)


def test_no_worker_is_left_after_an_interrupt(tmp_path: Path) -> None:
    """Ctrl-C once the workers are at work (one has written its pid file), however long
    they took to start on a loaded machine; at the latest after a minute."""
    deadline = time.monotonic() + 60

    def interrupt(*_: Any) -> None:
        if any(tmp_path.glob("*.pid")) or time.monotonic() > deadline:
            signal.setitimer(signal.ITIMER_REAL, 0)  # one Ctrl-C, not one during the clean-up
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
    try:
        with pytest.raises(KeyboardInterrupt):
            map_bounded(hang_after_writing, [(value, PAD, str(tmp_path)) for value in range(2)])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pids = [int(path.stem) for path in tmp_path.glob("*.pid")]
    assert pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_terraform_files_parse_in_the_workers_as_in_this_process() -> None:
    text = Path(__file__).parents[1].joinpath("examples", "terraform", "main.tf").read_bytes()
    items = [(f"main{index}.tf", text) for index in range(IN_PROCESS_BYTES // len(text) + 2)]
    results = map_bounded(parse_file, items)
    assert results == [parse_file(*item) for item in items]
    assert all(result["blocks"] for result in results)  # type: ignore[index]
