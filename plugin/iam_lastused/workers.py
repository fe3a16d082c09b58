"""Run a pure function over many inputs in worker processes, each input within a budget.

The code scanned comes from untrusted pull requests, and python-hcl2 takes tens of
seconds and most of a gigabyte for a file of a few megabytes. `map_bounded` gives each
input a `Budget` of wall-clock time and memory: an input that goes over it comes back
as `OverBudget` (to be reported as not read) and the others are read as usual. The
workers also parse on every core.

    results = map_bounded(parse_file, [(path.name, data) for path, data in files])

Each item is the tuple of positional arguments of one call; results come back in the
order of the items. `function` must be picklable (defined at the top level of a
module), pure (its worker is reused for later items) and must let MemoryError
propagate: a function that catches it returns a result for an input that did not fit
(its worker is replaced all the same, so the next input has its whole budget).
Anything else the function raises is raised here, with the worker's traceback as its
cause: it is a bug, not an input over budget.

Why no library: concurrent.futures has no timeout that stops a task, and one worker
that dies breaks its whole pool. pebble, the obvious candidate, stops a worker that
runs late with SIGTERM, whose handler runs multiprocessing's clean-up in the worker,
and waits 3 s before SIGKILL: given 10 s, the 4 MB file of bench/largest_file.py came
back after 11.5 s, and after 13.1 s under a 200 MB cap (the worker, out of memory,
spun in that clean-up and printed on the terminal). Nor can it replace a worker after
a task that came near the memory cap, and all its workers answer on one shared pipe.
What is here is a loop over one pipe per worker, with SIGKILL at the deadline.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from typing import Any, Generic, TypeVar

try:
    import resource
except ImportError:  # Windows: no limits but the deadline
    resource = None  # type: ignore[assignment]

R = TypeVar("R")

# Items whose str and bytes arguments add up to no more than this are run in this
# process, one after another: starting the workers costs more than parsing them.
# Measured with python-hcl2 (through iam_lastused.sources.terraform.scan.parse_file) on
# 32 KiB inputs on the 2-core CI machine: an ordinary module file 0.13 s and +0 MB;
# the worst of the adversarial inputs tried (a list of 16,000 one-digit numbers)
# 0.71 s and +24 MB, a chain of 16,000 `+` 0.48 s and +31 MB, interpolations 0.51 s;
# long strings, heredocs and comments are cheaper than ordinary HCL, and deep nesting
# stops at a RecursionError that parse_file reports. cfn-lint on a 32 KiB template: 0.4 s
# at most, most of it importing cfn-lint. So everything run here stays under a tenth
# of the default budget, while starting the workers and reading one small file in
# them costs 0.3 s the first time in a process (the forkserver and its imports) and
# 0.13 s after that, against 10-30 ms for that file in this process.
IN_PROCESS_BYTES = 32 * 1024

# A worker whose peak memory passed this fraction of its cap is replaced after its
# task: its heap may hold what the task left, garbage in cycles or fragments.
_RETIRE_FRACTION = 0.5
_OUT_OF_MEMORY = 86  # a worker's exit code: its input needed more than its memory cap
# a worker that has not said it is ready in this long is not going to be (it takes
# 0.1-0.3 s, mostly imports)
_START_SECONDS = 60.0
_READY, _RETURNED, _RAISED = "ready", "returned", "raised"


@dataclass(frozen=True)
class Budget:
    """What one input may take: wall-clock seconds, and bytes of address space for
    the worker that reads it (Python and the parser's modules take 40-170 MB of it)."""

    seconds: float = 10.0
    memory_bytes: int = 500 * 1024 * 1024

    def __post_init__(self) -> None:
        if not (self.seconds > 0 and self.memory_bytes > 0):
            raise ValueError(f"a budget must be positive: {self}")


@dataclass(frozen=True)
class OverBudget:
    """An input that was not read: `reason` says why, for the report."""

    reason: str


def map_bounded(
    function: Callable[..., R],
    items: Sequence[tuple[Any, ...]],
    budget: Budget = Budget(),
    *,
    workers: int | None = None,
) -> list[R | OverBudget]:
    """`function(*item)` for each item, in the order of the items, or OverBudget for
    each that took longer than `budget.seconds` or needed more than
    `budget.memory_bytes`, or whose worker died (a crash, a kill).

    Items whose str and bytes arguments add up to at most IN_PROCESS_BYTES are run in
    this process (pass the text to read, not a path to it, so that its size counts).
    Otherwise `workers` processes (by default one per core) read the items, each one
    at a time. They are started for this call and are all gone when it returns or
    raises, KeyboardInterrupt included.

    Call it before starting threads of your own. The workers are forked by
    multiprocessing's forkserver, a process started once (by the first call) from a
    clean interpreter, and not from this process: so they are not copies of a process
    that may have threads (a fork copies only the calling thread, and any lock
    another thread held stays held in the copy), and each starts small, whatever this
    process holds, so the memory cap means the same in every run. The forkserver
    stays, idle, until this process exits; it is reused by later calls (and so the
    workers have the environment variables of the first call's time).
    """
    if not items:
        return []
    if sum(map(_size, items)) <= IN_PROCESS_BYTES:
        return [_in_process(function, item, budget) for item in items]
    return _Pool(function, budget, min(len(items), workers or _cores())).run(items)


def _size(item: tuple[Any, ...]) -> int:
    return sum(len(argument) for argument in item if isinstance(argument, (str, bytes, bytearray)))


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use, on Linux
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _in_process(function: Callable[..., R], item: tuple[Any, ...], budget: Budget) -> R | OverBudget:
    try:
        return function(*item)
    except MemoryError:
        return OverBudget(_over_memory(budget))


def _over_time(budget: Budget) -> str:
    return f"not read: took over {budget.seconds:g} s"


def _over_memory(budget: Budget) -> str:
    return f"not read: needed over {budget.memory_bytes / 2**20:g} MB"


def _stopped(exitcode: int | None, budget: Budget) -> str:
    if exitcode == _OUT_OF_MEMORY:
        return _over_memory(budget)
    if exitcode == -signal.SIGXCPU:  # the worker's own CPU limit; see _serve
        return _over_time(budget)
    return f"not read: the parser stopped ({_how(exitcode)})"


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, as its cause."""

    def __str__(self) -> str:
        return str(self.args[0])


# ---------------------------------------------------------------------------
# The parent: one pipe per worker, one item in flight per worker
# ---------------------------------------------------------------------------


class _Worker:
    """A worker process and its pipe. It is `ready` once it has said so; until then it
    is starting, and `deadline` is the time it has to start in. Once ready, `index`
    is the item it reads, if any, and `deadline` the time it has for it."""

    def __init__(self, context: BaseContext, function: bytes, budget: Budget) -> None:
        self.conn, child = context.Pipe()
        # daemon: should this process exit without stopping it, multiprocessing's
        # exit handler terminates it
        # typeshed gives BaseContext no Process; every start method's context has one
        self.process = context.Process(target=_serve, args=(child, function, budget), daemon=True)  # type: ignore[attr-defined]
        try:
            self.process.start()
        finally:
            child.close()
        self.ready = False
        self.index: int | None = None
        self.deadline = time.monotonic() + _START_SECONDS

    def stop(self) -> int | None:
        """Kills the worker if it still runs; its exit code."""
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join()
        self.conn.close()
        return self.process.exitcode


class _Pool(Generic[R]):
    def __init__(self, function: Callable[..., R], budget: Budget, size: int) -> None:
        self.function = pickle.dumps(function)  # unpickled by the worker, which reports a failure
        self.budget = budget
        self.size = size
        self.context = multiprocessing.get_context(
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        if self.context.get_start_method() == "forkserver":
            # when this call starts the server, it imports the function's module, once
            # for all the workers (a later call uses the server as it is)
            self.context.set_forkserver_preload([function.__module__])

    def run(self, items: Sequence[tuple[Any, ...]]) -> list[R | OverBudget]:
        results: list[Any] = [None] * len(items)
        queue = deque(range(len(items)))
        # a slot is empty once its worker ran late, died or retired, until it is needed
        workers: list[_Worker | None] = [None] * self.size
        try:
            while True:
                for slot, worker in enumerate(workers):
                    if worker is None:
                        if queue:
                            workers[slot] = _Worker(self.context, self.function, self.budget)
                    elif worker.ready and worker.index is None and queue:
                        self._dispatch(workers, worker, queue.popleft(), items, results)
                    elif not worker.ready and not queue:  # the others read the last items
                        worker.stop()
                        workers[slot] = None
                live = [w for w in workers if w is not None and (not w.ready or w.index is not None)]
                if not live:
                    if queue:  # a worker died as it was given an item: another is started
                        continue
                    return results
                timeout = max(0.0, min(worker.deadline for worker in live) - time.monotonic())
                ready = set(wait([w.conn for w in live] + [w.process.sentinel for w in live], timeout))
                for worker in live:
                    if worker.conn in ready or worker.process.sentinel in ready:
                        self._collect(workers, worker, results)
                    elif time.monotonic() < worker.deadline:
                        pass
                    elif not worker.ready:
                        raise RuntimeError(f"a worker process did not start in {_START_SECONDS:g} s")
                    else:  # killed, a little after its deadline
                        self._finish(workers, worker, results, OverBudget(_over_time(self.budget)))
        finally:
            for worker in workers:
                if worker is not None:
                    worker.stop()

    def _dispatch(
        self,
        workers: list[_Worker | None],
        worker: _Worker,
        index: int,
        items: Sequence[tuple[Any, ...]],
        results: list[Any],
    ) -> None:
        worker.index = index
        worker.deadline = time.monotonic() + self.budget.seconds
        try:
            worker.conn.send(items[index])
        except OSError:  # it died while idle, killed from outside
            self._finish(workers, worker, results, OverBudget(_stopped(worker.stop(), self.budget)))

    def _collect(self, workers: list[_Worker | None], worker: _Worker, results: list[Any]) -> None:
        """The message of a worker that has one, or that has stopped."""
        try:
            status, value, retiring = worker.conn.recv() if worker.conn.poll() else (None, None, True)
        except (EOFError, OSError):  # it died before answering, or while answering
            status, value, retiring = None, None, True
        if status == _RAISED:
            exception, text = value  # type: ignore[misc]  # _RAISED always carries the pair
            raise exception from _RemoteTraceback(text)
        if not worker.ready:
            if status != _READY:
                raise RuntimeError(f"a worker process stopped as it started ({_how(worker.stop())})")
            worker.ready = True
            return
        if status is None:
            value = OverBudget(_stopped(worker.stop(), self.budget))
        self._finish(workers, worker, results, value, retire=retiring)

    @staticmethod
    def _finish(
        workers: list[_Worker | None], worker: _Worker, results: list[Any], value: Any, retire: bool = True
    ) -> None:
        """Records the worker's result; a worker that ran late, died or retires is
        stopped, and its slot left empty."""
        assert worker.index is not None
        results[worker.index] = value
        worker.index = None
        if retire:
            worker.stop()
            workers[workers.index(worker)] = None


# ---------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------


def _serve(conn: Connection, function: bytes, budget: Budget) -> None:
    """A worker's life: answers each item from `conn` with (status, value, retiring)
    until the pipe closes or it retires. It never prints: whatever goes wrong outside
    the function ends it, and the parent reports the item it was reading."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is for the parent, which kills the workers
        _limit_memory(budget.memory_bytes)
        try:
            call: Callable[..., Any] = pickle.loads(function)
        except Exception as exc:  # its module cannot be imported here: the parent raises this
            conn.send((_RAISED, _portable(exc), True))
            os._exit(0)
        conn.send((_READY, None, False))  # its deadlines start now, without the imports
        while True:
            try:
                item = conn.recv()
            except EOFError:  # the parent is done, or gone
                break
            _limit_cpu(budget.seconds)
            try:
                reply: tuple[str, Any] = (_RETURNED, call(*item))
            except MemoryError:
                os._exit(_OUT_OF_MEMORY)
            except BaseException as exc:
                reply = (_RAISED, _portable(exc))
            del item
            retiring = _peak_memory() > budget.memory_bytes * _RETIRE_FRACTION
            try:
                conn.send((*reply, retiring))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:  # the result does not pickle
                conn.send((_RAISED, _portable(exc), retiring))
            del reply
            if retiring:
                break
    except MemoryError:
        os._exit(_OUT_OF_MEMORY)
    except BaseException:
        os._exit(1)
    os._exit(0)  # not multiprocessing's clean-up, which has nothing to do here and needs memory


def _portable(exc: BaseException) -> tuple[BaseException, str]:
    """The exception, or a RuntimeError saying what it was when it does not pickle,
    and its traceback as text."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc.with_traceback(None), text


def _limit_memory(memory_bytes: int) -> None:
    """Caps the address space (RLIMIT_AS): past it an allocation fails and Python
    raises MemoryError. RLIMIT_DATA would serve as well on Linux since 4.7, where it
    counts anonymous mappings too (Python's arenas and large objects); RLIMIT_AS is
    enforced on every Linux. Where the system will not set it (macOS), there is no
    memory cap, only the deadline."""
    if resource is not None:
        _lower(resource.RLIMIT_AS, memory_bytes)


def _limit_cpu(seconds: float) -> None:
    """A CPU-time limit of a little more than the budget for the item about to run, in
    case the parent is gone and cannot kill the worker at the deadline: the kernel
    then ends it with SIGXCPU. A worker's CPU time is never more than its wall-clock
    time, so while the parent lives, its deadline always comes first."""
    if resource is not None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        _lower(resource.RLIMIT_CPU, math.ceil(used.ru_utime + used.ru_stime + seconds) + 1)


def _lower(limit: int, soft: int) -> None:
    """Sets the soft `limit` to `soft`, never above its hard limit; where the system
    will not, there is no such limit."""
    try:
        _, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(limit, (soft, hard))
    except (ValueError, OSError):
        pass


def _peak_memory() -> int:
    if resource is None:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere
