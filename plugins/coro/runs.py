"""The coroutine model's runs, one function per workload, dispatching on the implementation.

Each returns a ``Timed``: the measured nanoseconds (``time.perf_counter_ns``) and a count,
the handoffs made for ``switch``, the tasks that ran to the end for ``sleep`` and
``spawn``.  ``gevent`` and ``gevent_unpatched`` run the same code: whether ``time.sleep``
cooperates is up to the monkey patching done (or not) before.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from runner.errors import ModelError


class Timed(NamedTuple):
    """What a workload measured: its nanoseconds, and ``n``: what it counted in them."""

    ns: int
    n: int


# -- switch ------------------------------------------------------------------------------


def switch(impl: str, switches: int, timeout: float) -> Timed:
    """Two tasks hand control back and forth; counts the handoffs."""
    rounds = max(1, switches // 2)
    if impl == "greenlet":
        ns = _switch_greenlet(rounds)
    elif impl in ("gevent", "gevent_unpatched"):
        ns = _switch_gevent(rounds, timeout)
    elif impl == "asyncio":
        ns = _switch_asyncio(rounds, timeout)
    else:
        ns = _switch_threads(rounds, timeout)
    return Timed(ns, 2 * rounds)


def _switch_greenlet(rounds: int) -> int:
    from greenlet import GreenletExit, greenlet

    def ping() -> None:
        for _ in range(rounds):
            pong_g.switch()

    def pong() -> None:
        for _ in range(rounds):
            ping_g.switch()

    ping_g, pong_g = greenlet(ping), greenlet(pong)
    t0 = time.perf_counter_ns()
    ping_g.switch()
    ns = time.perf_counter_ns() - t0
    pong_g.throw(GreenletExit)  # it waits inside its last switch: end it now, not when collected
    return ns


def _switch_gevent(rounds: int, timeout: float) -> int:
    import gevent

    def yielder() -> None:
        for _ in range(rounds):
            gevent.sleep(0)

    t0 = time.perf_counter_ns()
    glets = [gevent.spawn(yielder), gevent.spawn(yielder)]
    gevent.joinall(glets, timeout=timeout, raise_error=True)
    ns = time.perf_counter_ns() - t0
    if not all(g.dead for g in glets):
        gevent.killall(glets)
        raise ModelError("switch: greenlets still running at the timeout")
    return ns


def _switch_asyncio(rounds: int, timeout: float) -> int:
    import asyncio

    async def yielder() -> None:
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def main() -> int:
        t0 = time.perf_counter_ns()
        await asyncio.wait_for(asyncio.gather(yielder(), yielder()), timeout)
        return time.perf_counter_ns() - t0

    return asyncio.run(main())


def _switch_threads(rounds: int, timeout: float) -> int:
    import threading

    ping, pong = threading.Semaphore(0), threading.Semaphore(0)
    failed: list[str] = []

    def ponger() -> None:
        for _ in range(rounds):
            if not ping.acquire(timeout=timeout):
                failed.append("no ping")
                return
            pong.release()

    thread = threading.Thread(target=ponger, daemon=True)
    thread.start()
    t0 = time.perf_counter_ns()
    for _ in range(rounds):
        ping.release()
        if not pong.acquire(timeout=timeout):
            raise ModelError("switch: the other thread stopped answering")
    ns = time.perf_counter_ns() - t0
    thread.join(timeout)
    if failed:
        raise ModelError(f"switch: {failed[0]}")
    return ns


# -- sleep -------------------------------------------------------------------------------


def sleep(impl: str, tasks: int, seconds: float, timeout: float) -> Timed:
    """``tasks`` tasks each sleep ``seconds``; counts the tasks done."""
    done: list[int] = []

    def sleeper() -> None:
        time.sleep(seconds)  # looked up now: gevent's when the trial was monkey patched
        done.append(1)

    async def asleeper() -> None:
        import asyncio

        await asyncio.sleep(seconds)
        done.append(1)

    return Timed(_run_all(impl, sleeper, asleeper, tasks, timeout), len(done))


# -- spawn -------------------------------------------------------------------------------


def spawn(impl: str, tasks: int, timeout: float) -> Timed:
    """Create ``tasks`` no-op tasks, then wait for them all; counts the tasks done."""
    done: list[int] = []

    def task() -> None:
        done.append(1)

    async def atask() -> None:
        done.append(1)

    return Timed(_run_all(impl, task, atask, tasks, timeout), len(done))


def _run_all(impl: str, func: Any, afunc: Any, tasks: int, timeout: float) -> int:
    """Start ``tasks`` copies of ``func`` (``afunc`` for asyncio), wait for all; ns taken."""
    if impl == "greenlet":
        from greenlet import greenlet

        t0 = time.perf_counter_ns()
        glets = [greenlet(func) for _ in range(tasks)]
        for g in glets:
            g.switch()  # runs to its end: a raw greenlet has no scheduler
        return time.perf_counter_ns() - t0
    if impl in ("gevent", "gevent_unpatched"):
        import gevent

        t0 = time.perf_counter_ns()
        # From a greenlet of its own, as plugins/net/fanout.py does: every spawn records
        # its spawner's stack, and the trial's is deep (10,000 spawns: 31 us each from it,
        # 21 from a fresh greenlet).
        glets = gevent.spawn(lambda: [gevent.spawn(func) for _ in range(tasks)]).get()
        gevent.joinall(glets, timeout=timeout, raise_error=True)
        ns = time.perf_counter_ns() - t0
        gevent.killall([g for g in glets if not g.dead])
        return ns
    if impl == "asyncio":
        import asyncio

        async def main() -> int:
            t0 = time.perf_counter_ns()
            await asyncio.wait_for(asyncio.gather(*(afunc() for _ in range(tasks))), timeout)
            return time.perf_counter_ns() - t0

        return asyncio.run(main())
    import threading

    # Daemonic: a thread still sleeping at the timeout must not hold the trial open.
    threads = [threading.Thread(target=func, daemon=True) for _ in range(tasks)]
    deadline = time.monotonic() + timeout
    t0 = time.perf_counter_ns()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return time.perf_counter_ns() - t0
