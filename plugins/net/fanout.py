"""Run N client jobs concurrently as threads, processes or greenlets, and collect results.

A job gets an :class:`Env`: the socket module to use (the standard one, or gevent's own,
so greenlets cooperate without monkey patching), a gate that waits until every client has
arrived, and a shared work counter.  Process clients are the trial's :mod:`.forker` and
the processes it forks for each run, always reaped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from runner.errors import ModelError

if TYPE_CHECKING:
    from .forker import Forker

A = TypeVar("A")
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


def run_clients(kind: str, count: int, make_job: Callable[[A], Callable[[Env], R]], arg: A,
                timeout: float, *, forker: Forker | None = None) -> list[R]:  # fmt: skip
    """Run the job ``make_job(arg)`` in ``count`` clients of ``kind``; return their results
    in client order.  Process clients need the trial's started ``forker``, which calls
    ``make_job`` itself: a module-level function, and ``arg`` picklable.

    :raises ModelError: a job raised, or clients were still running after ``timeout`` s.
    """
    if kind == "process":
        if forker is None:
            raise ValueError("process clients need the trial's forker")
        return forker.run(count, make_job, arg, timeout)
    if kind == "thread":
        return in_threads(count, make_job(arg), timeout)
    if kind == "gevent":
        return _greenlets(count, make_job(arg), timeout)
    raise ValueError(f"unknown client kind {kind!r}")


def _failure(index: int, exc: BaseException) -> str:
    if isinstance(exc, ModelError):  # already explained
        return f"client {index}: {exc}"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return f"client {index}: {type(exc).__name__}: {exc}{where}"


def in_threads(count: int, job: Callable[[Env], R], timeout: float) -> list[R]:
    """``job`` in ``count`` client threads of this process."""
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


def fork_clients(count: int, job: Callable[[Env], R], timeout: float) -> list[R]:
    """``job`` in ``count`` client processes: this one (the forker) and ``count - 1``
    forked from it."""
    import multiprocessing
    import socket

    # os.fork rather than multiprocessing.Process: its bootstrap and exit in every child
    # took a third as long again as the fork itself, inside the timed window.  The
    # barrier and the counter still come from multiprocessing (fork-shared semaphores).
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

    pids: dict[int, int] = {}  # client index -> pid
    readers: dict[int, int] = {}  # pipe fd -> client index
    replies: dict[int, tuple[str, Any]] = {}
    # Made here, not in each client: whatever a client runs first touches the forker's
    # pages, and each page touched is a copy-on-write fault in every client.
    envs = [Env(i, socket, gate, take) for i in range(count)]
    end = time.monotonic() + timeout
    try:
        for i in range(1, count):
            reader, writer = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child never returns
                os.close(reader)
                for fd in readers:  # the earlier clients' pipes are not this one's
                    os.close(fd)
                _client_process(i, writer, job, envs[i], barrier)
            os.close(writer)
            pids[i] = pid
            readers[reader] = i
        # Client 0 is the forker itself, one process of the count as the others are.  Its
        # own pages are not copied on write, and from the first run (a warm-up) on, the
        # clients are forked with the job's code already run here: a client running code
        # the forker never ran writes to it (reference counts, the interpreter's
        # specialised bytecode), and each page written is a copy.
        replies[0] = _run_here(job, envs[0], barrier)
        _read_all(readers, replies, end)
    finally:
        for fd in readers:
            os.close(fd)
        _reap(pids, set(replies))
    if len(replies) < count:
        raise ModelError(
            f"{count - len(replies)} client processes still running after {timeout:.0f} s"
        )
    results: list[Any] = [None] * count
    failures: list[str] = []
    for i in range(count):
        status, value = replies[i]
        if status == "ok":
            results[i] = value
        else:
            failures.append(value)
    if failures:
        raise ModelError(failures[0])
    return results


def _run_here(job: Callable[[Env], Any], env: Env, barrier: Any) -> tuple[str, Any]:
    """Client 0's job, run in the forker: its outcome as a forked client replies it."""
    try:
        return "ok", job(env)
    except Exception as exc:
        barrier.abort()  # the others stop waiting for this one
        return "error", _failure(env.index, exc)


def _client_process(i: int, writer: int, job: Callable[[Env], Any], env: Env, barrier: Any) -> None:
    """A client process's whole life: run, send the pickled outcome, exit without clean-up."""
    code = 0
    try:
        try:
            reply = pickle.dumps(("ok", job(env)))
        except BaseException as exc:
            barrier.abort()  # the others stop waiting for this one
            reply = pickle.dumps(("error", _failure(i, exc)))
        # os.write, not a file object: setting one up touched some 45 of the forker's
        # pages, each a copy-on-write fault in every client.
        view = memoryview(reply)
        while view:
            view = view[os.write(writer, view) :]
    except BaseException:
        code = 1
    finally:
        try:  # what the job printed is kept (not contextlib.suppress: fewer such pages)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # it exits whatever happens
            pass
        os._exit(code)


def _read_all(readers: dict[int, int], replies: dict[int, tuple[str, Any]], end: float) -> None:
    """Each client's pickled reply into ``replies``, read as it comes (a full pipe must not
    stall a client), until every pipe has ended or ``end`` (``time.monotonic()``)."""
    import selectors

    got: dict[int, bytearray] = {fd: bytearray() for fd in readers}
    with selectors.DefaultSelector() as sel:
        for fd in readers:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map() and time.monotonic() < end:
            for key, _ in sel.select(max(0.0, end - time.monotonic())):
                fd = key.fd
                data = os.read(fd, 1 << 20)
                if data:
                    got[fd] += data
                    continue
                sel.unregister(fd)
                i = readers[fd]
                try:
                    replies[i] = pickle.loads(got.pop(fd))
                except (pickle.UnpicklingError, EOFError, ValueError):
                    replies[i] = ("error", f"client {i}: process exited without a result")


def _reap(pids: dict[int, int], replied: set[int]) -> None:
    """Wait for every client process (by client index); one that has not replied is
    killed first."""
    import signal

    for i, pid in pids.items():
        if i not in replied:  # still running, or died silently: it goes now
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)  # one that replied has closed its pipe and is exiting


class _GreenGate:
    """A reusable barrier for greenlets, like ``threading.Barrier``.

    One timer per round, started by the first to arrive, rather than one per waiter:
    10,000 clients at the gate would otherwise start and cancel 10,000 timers, inside the
    window that ``connect_s`` measures.
    """

    def __init__(self, count: int) -> None:
        from gevent import get_hub
        from gevent.event import Event

        self._event_type = Event
        self._loop = get_hub().loop
        self.count = count
        self.arrived = 0
        self.event = Event()
        self.timer: Any = None
        self.why = ""  # why the gate broke; empty while it holds

    def wait(self, seconds: float) -> None:
        """Wait until all have arrived; the first to arrive sets the round's ``seconds``."""
        event = self.event
        self.arrived += 1
        if self.arrived >= self.count:  # the last one in lets this round go; the next starts
            self.arrived = 0
            self.event = self._event_type()
            self._stop_timer()
            event.set()
        else:
            if self.timer is None and not self.why:
                self.timer = self._loop.timer(seconds)
                self.timer.start(self._expire, event)
            event.wait()
        if self.why:
            raise TimeoutError(self.why)

    def _expire(self, event: Any) -> None:
        self.timer = None
        if event is self.event:  # this round is still waiting for someone
            self.why = self.why or "not every client reached the gate in time"
            event.set()

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.close()
            self.timer = None

    def abort(self) -> None:
        self.why = self.why or "a client failed before reaching the gate"
        self._stop_timer()
        self.event.set()

    def close(self) -> None:
        """No timer left behind once the run is over."""
        self._stop_timer()


def _spawn_all(body: Callable[[int], None], count: int) -> list[Any]:
    import gevent

    return [gevent.spawn(body, i) for i in range(count)]


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

    # Spawned from a greenlet of their own: each spawn records the spawner's stack (up to
    # 10 frames, for gevent's greenlet tree), and the trial's is deep where a plain
    # script's is shallow.  c10k connected 11% sooner so (8 interleaved rounds).
    greenlets = gevent.spawn(_spawn_all, body, count).get()
    try:
        gevent.joinall(greenlets, timeout=timeout)
        running = sum(not g.dead for g in greenlets)
        if running:
            gevent.killall(greenlets, block=True, timeout=5)
            raise ModelError(f"{running} client greenlets still running after {timeout:.0f} s")
    finally:
        gate.close()
    if failures:
        raise ModelError(failures[0])
    return results
