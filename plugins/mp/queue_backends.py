"""What runs the queue model's producers and consumers: processes, threads or greenlets.

Each backend makes a fresh queue per run, shared counters, and starts, joins and (when a
run fails) stops the loops of plugins/mp/queue_workers.py.  A loop that did not finish
cleanly is a ModelError naming it; its traceback is on the trial's stderr.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, MutableSequence
from typing import Any

from runner.errors import ModelError


def _remaining(deadline_ns: int) -> float:
    return max(0.0, (deadline_ns - time.perf_counter_ns()) / 1e9)


def _check_report(job: Any, role: str) -> None:
    if not os.path.exists(job.report):
        raise ModelError(f"{role} {job.slot} stopped without its report (traceback on stderr)")


class ProcessBackend:
    """mp_queue, mp_simple_queue and manager_queue: one child process per loop."""

    pause = "os"

    def __init__(self, kind: str, start_method: str) -> None:
        from .context import get_context

        self.kind = kind
        self.mp = get_context(start_method)
        # The manager's server process is started once per trial, outside the measured runs.
        self.manager = self.mp.Manager() if kind == "manager_queue" else None

    def make_queue(self, maxsize: int) -> Any:
        if self.kind == "mp_simple_queue":
            return self.mp.SimpleQueue()
        if self.manager is not None:
            return self.manager.Queue(maxsize)
        return self.mp.Queue(maxsize)

    def counters(self, n: int) -> MutableSequence[int]:
        # Lock-free shared memory: each slot has a single writer (see queue_workers).
        return self.mp.RawArray("q", n)

    def start(self, fn: Callable[..., None], q: Any, counters: Any, job: Any) -> Any:
        proc = self.mp.Process(target=fn, args=(q, counters, job))
        proc.start()
        proc.job = job  # type: ignore[attr-defined]
        return proc

    def join(self, procs: list[Any], deadline_ns: int, role: str) -> None:
        for proc in procs:
            proc.join(_remaining(deadline_ns))
            if proc.exitcode is None:
                raise ModelError(f"{role} {proc.job.slot} still running at the run's timeout")
            if proc.exitcode != 0:
                raise ModelError(f"{role} {proc.job.slot} exited with code {proc.exitcode}")
            _check_report(proc.job, role)

    def put_sentinel(self, q: Any, deadline_ns: int) -> None:
        if self.kind == "mp_simple_queue":
            q.put(None)
        else:
            q.put(None, True, _remaining(deadline_ns))

    def close(self, q: Any) -> None:
        if self.kind == "mp_queue":
            q.close()
            q.join_thread()  # the parent's sentinels are flushed by its feeder thread

    def stop(self, procs: list[Any]) -> None:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
            proc.join(5)

    def shutdown(self) -> None:
        if self.manager is not None:
            self.manager.shutdown()


class ThreadBackend:
    """thread_queue: queue.Queue shared by threads of the trial's process."""

    pause = "os"

    def make_queue(self, maxsize: int) -> Any:
        import queue

        return queue.Queue(maxsize)

    def counters(self, n: int) -> MutableSequence[int]:
        return [0] * n

    def start(self, fn: Callable[..., None], q: Any, counters: Any, job: Any) -> Any:
        import threading

        # Daemonic: a loop stuck past the timeout must not keep the trial alive.
        thread = threading.Thread(target=fn, args=(q, counters, job), daemon=True)
        thread.start()
        thread.job = job  # type: ignore[attr-defined]
        return thread

    def join(self, threads: list[Any], deadline_ns: int, role: str) -> None:
        for thread in threads:
            thread.join(_remaining(deadline_ns))
            if thread.is_alive():
                raise ModelError(f"{role} {thread.job.slot} still running at the run's timeout")
            _check_report(thread.job, role)

    def put_sentinel(self, q: Any, deadline_ns: int) -> None:
        q.put(None, True, _remaining(deadline_ns))

    def close(self, q: Any) -> None:
        pass

    def stop(self, threads: list[Any]) -> None:
        pass  # threads cannot be stopped; they are daemonic and end with the trial

    def shutdown(self) -> None:
        pass


class GeventBackend:
    """gevent_queue: gevent.queue.Queue shared by greenlets of the trial's process."""

    pause = "gevent"

    def make_queue(self, maxsize: int) -> Any:
        import gevent.queue

        return gevent.queue.Queue(maxsize or None)  # None is gevent's unbounded

    def counters(self, n: int) -> MutableSequence[int]:
        return [0] * n

    def start(self, fn: Callable[..., None], q: Any, counters: Any, job: Any) -> Any:
        import gevent

        glet = gevent.spawn(fn, q, counters, job)
        glet.job = job
        return glet

    def join(self, glets: list[Any], deadline_ns: int, role: str) -> None:
        import gevent

        gevent.joinall(glets, timeout=_remaining(deadline_ns))
        for glet in glets:
            if not glet.dead:
                raise ModelError(f"{role} {glet.job.slot} still running at the run's timeout")
            if glet.exception is not None:
                raise ModelError(f"{role} {glet.job.slot} failed: {glet.exception!r}")
            _check_report(glet.job, role)

    def put_sentinel(self, q: Any, deadline_ns: int) -> None:
        q.put(None, True, _remaining(deadline_ns))

    def close(self, q: Any) -> None:
        pass

    def stop(self, glets: list[Any]) -> None:
        import gevent

        gevent.killall(glets, timeout=5)

    def shutdown(self) -> None:
        pass
