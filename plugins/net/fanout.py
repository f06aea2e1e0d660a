"""Run N client jobs concurrently as threads, processes or greenlets, and collect results.

A job gets an :class:`Env`: the socket module to use (the standard one, or gevent's own,
so greenlets cooperate without monkey patching), a gate that waits until every client has
arrived, and a shared work counter.  Processes are forked per run and always reaped.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from runner.errors import ModelError

R = TypeVar("R")


@dataclasses.dataclass
class Env:
    index: int
    sockmod: Any  # ``socket`` or ``gevent.socket``
    # Wait (at most the given seconds) until every client has called it; reusable, like
    # threading.Barrier.  TimeoutError if one is late or failed.
    gate: Callable[[float], None]
    take: Callable[[], int]  # the next index of shared work: 0, 1, 2 ... across all clients
    sleep: Callable[[float], None] = time.sleep  # gevent's own for greenlets, so others run


def run_clients(kind: str, count: int, job: Callable[[Env], R], timeout: float) -> list[R]:
    """Run ``job`` in ``count`` clients of ``kind``; return their results in client order.

    :raises ModelError: a job raised, or clients were still running after ``timeout`` s.
    """
    if kind == "thread":
        return _threads(count, job, timeout)
    if kind == "process":
        return _processes(count, job, timeout)
    if kind == "gevent":
        return _greenlets(count, job, timeout)
    raise ValueError(f"unknown client kind {kind!r}")


def _failure(index: int, exc: BaseException) -> str:
    if isinstance(exc, ModelError):  # already explained
        return f"client {index}: {exc}"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return f"client {index}: {type(exc).__name__}: {exc}{where}"


def _threads(count: int, job: Callable[[Env], R], timeout: float) -> list[R]:
    import socket

    barrier = threading.Barrier(count)
    lock = threading.Lock()
    counter = itertools.count()
    results: list[Any] = [None] * count
    failures: list[str] = []

    def gate(seconds: float) -> None:
        try:
            barrier.wait(seconds)
        except threading.BrokenBarrierError:
            raise TimeoutError("not every client reached the gate in time") from None

    def take() -> int:
        with lock:
            return next(counter)

    def body(i: int) -> None:
        try:
            results[i] = job(Env(i, socket, gate, take))
        except BaseException as exc:
            failures.append(_failure(i, exc))
            barrier.abort()  # the others stop waiting for this one

    previous = threading.stack_size(256 * 1024) if count > 64 else None
    try:
        threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
        for t in threads:
            t.start()
    finally:
        if previous is not None:
            threading.stack_size(previous)
    end = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    running = sum(t.is_alive() for t in threads)
    if running:
        raise ModelError(f"{running} client threads still running after {timeout:.0f} s")
    if failures:
        raise ModelError(failures[0])
    return results


def _processes(count: int, job: Callable[[Env], R], timeout: float) -> list[R]:
    import multiprocessing
    import socket
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("fork")  # the job is a closure: fork, do not pickle it
    barrier = ctx.Barrier(count)
    counter = ctx.Value("q", 0)

    def gate(seconds: float) -> None:
        try:
            barrier.wait(seconds)
        except threading.BrokenBarrierError:
            raise TimeoutError("not every client reached the gate in time") from None

    def take() -> int:
        with counter.get_lock():
            value = counter.value
            counter.value = value + 1
        return value

    def body(i: int, writer: Any) -> None:
        try:
            writer.send(("ok", job(Env(i, socket, gate, take))))
        except BaseException as exc:
            barrier.abort()
            writer.send(("error", _failure(i, exc)))

    procs: list[Any] = []
    readers: dict[Any, int] = {}
    results: list[Any] = [None] * count
    failures: list[str] = []
    try:
        for i in range(count):
            reader, writer = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=body, args=(i, writer), daemon=True)
            proc.start()
            writer.close()
            procs.append(proc)
            readers[reader] = i
        end = time.monotonic() + timeout
        while readers and time.monotonic() < end:
            ready: list[Any] = wait(list(readers), timeout=max(0.0, end - time.monotonic()))
            for conn in ready:
                i = readers.pop(conn)
                try:
                    status, value = conn.recv()
                except EOFError:
                    status, value = (
                        "error",
                        f"client {i}: process exited with code {procs[i].exitcode}",
                    )
                conn.close()
                if status == "ok":
                    results[i] = value
                else:
                    failures.append(value)
        if readers:
            raise ModelError(f"{len(readers)} client processes still running after {timeout:.0f} s")
    finally:
        for conn in readers:
            conn.close()
        for proc in procs:
            proc.join(1.0)
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
    if failures:
        raise ModelError(failures[0])
    return results


class _GreenGate:
    """A reusable barrier for greenlets, like ``threading.Barrier``."""

    def __init__(self, count: int) -> None:
        from gevent.event import Event

        self._event_type = Event
        self.count = count
        self.arrived = 0
        self.event = Event()
        self.broken = False

    def wait(self, seconds: float) -> None:
        event = self.event
        self.arrived += 1
        if self.arrived >= self.count:  # the last one in lets this round go; the next starts
            self.arrived = 0
            self.event = self._event_type()
            event.set()
        elif not event.wait(seconds):
            self.broken = True
            raise TimeoutError("not every client reached the gate in time")
        if self.broken:
            raise TimeoutError("a client failed before reaching the gate")

    def abort(self) -> None:
        self.broken = True
        self.event.set()


def _greenlets(count: int, job: Callable[[Env], R], timeout: float) -> list[R]:
    import gevent
    from gevent import socket as gsocket

    gate = _GreenGate(count)
    counter = itertools.count()
    results: list[Any] = [None] * count
    failures: list[str] = []

    def body(i: int) -> None:
        try:
            results[i] = job(Env(i, gsocket, gate.wait, counter.__next__, gevent.sleep))
        except BaseException as exc:
            failures.append(_failure(i, exc))
            gate.abort()

    greenlets = [gevent.spawn(body, i) for i in range(count)]
    gevent.joinall(greenlets, timeout=timeout)
    running = sum(not g.dead for g in greenlets)
    if running:
        gevent.killall(greenlets, block=True, timeout=5)
        raise ModelError(f"{running} client greenlets still running after {timeout:.0f} s")
    if failures:
        raise ModelError(failures[0])
    return results
