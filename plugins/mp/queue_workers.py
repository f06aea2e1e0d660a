"""Producer and consumer loops of the queue model, shared by processes, threads and greenlets.

Kept free of heavy imports: a spawn child imports this module to find its target.

Each item is ``(id, stamp_ns, payload)``; the stamp is ``time.perf_counter_ns()`` taken
just before ``put``, which on Linux reads CLOCK_MONOTONIC, one clock for every process, so
a consumer in another process can subtract it.  Each loop writes what it did to a report
file (pickle) that the parent reads after the run.

One counter per loop, in ``counters`` (shared memory for processes, a list otherwise),
lets a producer check ``empty()`` and ``qsize()`` against a lower bound of the items
certainly in the queue: puts finished (producers' slots, read before the check) minus
gets started (consumers' slots, read after it).  Each slot has one writer, so no lock is
needed; the syscalls around every get and put order the writes for the readers.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import queue
import time
from array import array
from collections.abc import MutableSequence
from typing import Any

SENTINEL = None


@dataclasses.dataclass(frozen=True)
class Job:
    """What one producer or consumer is told to do; picklable for process children."""

    slot: int  # index among producers, or among consumers
    timed: bool  # block with timeouts; False for processes, which the parent kills instead
    report: str  # path of the pickle written at the end
    deadline_ns: int  # perf_counter_ns after which the loop gives up
    producers: int
    first_id: int = 0
    count: int = 0  # producers: items to put; consumers: most gets before giving up
    item_bytes: int = 0
    nowait: bool = False
    check_every: int = 0  # check empty()/qsize() after every Nth put; 0 = never, no counting
    pause: str = "os"  # how a producer waits after queue.Full: "os" or "gevent"


def _pauser(kind: str) -> Any:
    if kind == "gevent":
        import gevent

        return lambda: gevent.sleep(0)
    return lambda: time.sleep(0)


def produce(q: Any, counters: MutableSequence[int], job: Job) -> None:
    """Put ``job.count`` items; with ``nowait``, count each queue.Full and retry."""
    pause = _pauser(job.pause)
    payload = b"\x5a" * job.item_bytes
    slot = job.slot
    nprod = job.producers
    full = checks = misreports = 0
    has_qsize = True
    # Locals, not attributes, in the loop: it is what items_per_s measures.
    deadline_ns, nowait, timed, every = job.deadline_ns, job.nowait, job.timed, job.check_every
    first_ns = time.perf_counter_ns()
    for i, item_id in enumerate(range(job.first_id, job.first_id + job.count), 1):
        if nowait:
            while True:
                try:
                    q.put_nowait((item_id, time.perf_counter_ns(), payload))
                    break
                except queue.Full:
                    full += 1
                    if time.perf_counter_ns() > deadline_ns:
                        raise TimeoutError(f"producer {slot}: still full at the deadline") from None
                    pause()
        elif timed:
            timeout = max(0.0, (deadline_ns - time.perf_counter_ns()) / 1e9)
            q.put((item_id, time.perf_counter_ns(), payload), True, timeout)
        else:  # a process: the parent bounds it (and SimpleQueue.put() has no timeout)
            q.put((item_id, time.perf_counter_ns(), payload))
        if not every:
            continue
        counters[slot] += 1
        if i % every == 0:
            known = sum(counters[:nprod])
            said_empty = q.empty()
            size = None
            if has_qsize:
                try:
                    size = q.qsize()
                except (NotImplementedError, AttributeError):  # macOS; SimpleQueue
                    has_qsize = False
            in_flight = known - sum(counters[nprod:])
            checks += 1
            if in_flight > 0 and (said_empty or (size is not None and size < in_flight)):
                misreports += 1
    _dump(job.report, {"first_ns": first_ns, "put": job.count, "full": full, "checks": checks,
                       "misreports": misreports})  # fmt: skip


def consume(q: Any, counters: MutableSequence[int], job: Job) -> None:
    """Get items until the sentinel; record each id and its time in the queue."""
    ids = array("q")
    latencies = array("q")
    slot = job.producers + job.slot
    tally = job.check_every > 0  # the counters serve the producers' checks alone
    timed = job.timed
    last_ns = 0
    for _ in range(job.count):  # ends at the sentinel; the deadline bounds it in time
        if tally:
            counters[slot] += 1
        if timed:
            timeout = max(0.0, (job.deadline_ns - time.perf_counter_ns()) / 1e9)
            try:
                item = q.get(True, timeout)
            except queue.Empty:
                raise TimeoutError(f"consumer {job.slot}: no sentinel by the deadline") from None
        else:
            # A timed get costs a poll() per item in a multiprocessing queue (and SimpleQueue
            # has none): a process loop is bounded by the parent, which kills it at the deadline.
            item = q.get()
        now = time.perf_counter_ns()
        if item is SENTINEL:
            break
        ids.append(item[0])
        latencies.append(now - item[1])
        last_ns = now
    else:
        raise RuntimeError(f"consumer {job.slot}: {job.count} gets and still no sentinel")
    _dump(job.report, {"ids": ids, "latencies": latencies, "last_ns": last_ns})


def _dump(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load(path: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return pickle.load(fh)  # our own file, written by the loops above
