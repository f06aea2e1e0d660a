"""Model `thread`: a shared counter with and without a lock, and I/O vs CPU tasks.

The counter race is made honest: on CPython 3.10+ the interpreter only switches threads at
calls and backward jumps, so a bare ``counter += 1`` almost never loses an update and would
"prove" that no lock is needed.  The ``update`` knob picks how the read-modify-write is
written:

- ``inplace``: ``counter += 1``, the textbook line (seldom loses updates on 3.10+);
- ``call``: ``counter = bump(counter)``, a function call between the read and the write,
  which is where real code (a getter, a log line) gives the scheduler its chance;
- ``sleep0``: read, ``time.sleep(0)``, write: the sleep lets go of the interpreter lock
  between the read and the write.  On 3.11 to 3.13 the waiting thread always takes it,
  the two threads move in lock step, read the same value and write the same result: of
  2 x 5,000 updates exactly half are lost, every run.  On 3.10 the sleeping thread often
  takes the lock straight back, and anything from 0 to 50% is lost (measured on Linux,
  2 cores: 0, 8, 14, 16-44 and 50% in 15 runs).  It races on every version, but only
  ``call`` races at a rate that looks like real code's.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Annotated, Literal

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext

from .tasks import cpu_task, sleep_task


class ThreadParams(Params):
    workload: Annotated[
        Literal["counter", "sleep", "cpu"],
        Meta(description="shared counter race, or tasks that sleep (I/O) or compute (CPU)"),
    ] = "counter"
    threads: Annotated[int, Meta(ge=1, le=10_000, description="threads started")] = 2
    increments: Annotated[
        int, Meta(ge=1, le=100_000_000, description="counter: per thread (the race needs many)")
    ] = 1_000_000
    lock: Annotated[
        Literal["none", "per_increment", "whole_loop"],
        Meta(description="counter: no lock, one acquire per increment, or one per thread"),
    ] = "none"
    update: Annotated[
        Literal["inplace", "call", "sleep0"],
        Meta(
            description="counter: `inplace` is `c += 1` (seldom races on CPython 3.10+), `call` is "
            "`c = bump(c)` (a call between read and write, as real code has), `sleep0` sleeps "
            "between them (3.11+: threads in lock step, half lost; 3.10: 0-50% lost)"
        ),
    ] = "call"
    tasks: Annotated[
        int, Meta(ge=0, le=100_000, description="sleep/cpu: tasks in all (0: one per thread)")
    ] = 0
    task_seconds: Annotated[
        float, Meta(ge=0, le=3600, description="sleep: seconds each task sleeps")
    ] = 0.1
    cpu_iterations: Annotated[
        int, Meta(ge=1, le=10**10, description="cpu: loop length per task")
    ] = 200_000
    daemon: Annotated[bool, Meta(description="start the threads as daemon threads")] = False


class ThreadModel(Model):
    name = "thread"
    description = "Threads: a shared counter with or without a lock; sleep (I/O) vs CPU tasks"
    Params = ThreadParams
    metrics = (
        Metric("wall_s", "s", False, "time for all threads to finish", key=True),
        Metric("expected", "updates", None, "counter: threads x increments"),
        Metric("final", "updates", None, "counter: the counter's final value"),
        Metric("lost_updates", "updates", False, "counter: expected - final", key=True),
        Metric("serial_s", "s", False, "sleep/cpu: the same tasks run one after another"),
        Metric("speedup", "x", True, "sleep/cpu: serial_s / wall_s", key=True),
    )

    def run(self, params: ThreadParams, ctx: RunContext) -> dict[str, float]:
        if params.workload == "counter":
            return _counter(params)
        return _tasks(params)


class _Counter:
    value = 0


def _bump(value: int) -> int:
    return value + 1


def _increment_loop(c: _Counter, n: int, update: str, lock: threading.Lock | None) -> None:
    # One loop per variant: a branch inside the loop would change where switches happen.
    if lock is not None and update == "inplace":
        for _ in range(n):
            with lock:
                c.value += 1
    elif lock is not None and update == "call":
        for _ in range(n):
            with lock:
                c.value = _bump(c.value)
    elif lock is not None:
        for _ in range(n):
            with lock:
                v = c.value
                time.sleep(0)
                c.value = v + 1
    elif update == "inplace":
        for _ in range(n):
            c.value += 1
    elif update == "call":
        for _ in range(n):
            c.value = _bump(c.value)
    else:
        for _ in range(n):
            v = c.value
            time.sleep(0)
            c.value = v + 1


def _counter(p: ThreadParams) -> dict[str, float]:
    counter = _Counter()
    lock = threading.Lock()
    per_inc = lock if p.lock == "per_increment" else None

    def work() -> None:
        if p.lock == "whole_loop":
            with lock:
                _increment_loop(counter, p.increments, p.update, None)
        else:
            _increment_loop(counter, p.increments, p.update, per_inc)

    wall = _run_threads([work] * p.threads, p.daemon)
    expected = p.threads * p.increments
    return {"wall_s": wall, "expected": expected, "final": counter.value,
            "lost_updates": expected - counter.value}  # fmt: skip


def _tasks(p: ThreadParams) -> dict[str, float]:
    n = p.tasks or p.threads
    task: Callable[[], object]
    if p.workload == "sleep":
        task = functools.partial(sleep_task, p.task_seconds)
    else:
        task = functools.partial(cpu_task, p.cpu_iterations)
    t0 = time.perf_counter()
    for _ in range(n):
        task()
    serial = time.perf_counter() - t0
    # Tasks are dealt to the threads round-robin, as a fixed pool would take them.
    shares = [n // p.threads + (1 if i < n % p.threads else 0) for i in range(p.threads)]

    def worker(count: int) -> None:
        for _ in range(count):
            task()

    wall = _run_threads([functools.partial(worker, c) for c in shares if c], p.daemon)
    return {"wall_s": wall, "serial_s": serial, "speedup": serial / wall if wall else 0.0}


def _run_threads(targets: list[Callable[[], None]], daemon: bool) -> float:
    threads = [threading.Thread(target=t, daemon=daemon) for t in targets]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


@hookimpl
def runner_models() -> list[Model]:
    return [ThreadModel()]
