"""Model ``queue``: producers and consumers over one queue, counting every item.

Kinds: ``mp_queue`` (multiprocessing.Queue), ``mp_simple_queue``, ``manager_queue`` (a
queue.Queue behind a SyncManager), each with producer and consumer processes;
``thread_queue`` (queue.Queue with threads); ``gevent_queue`` (gevent.queue.Queue with
greenlets).  Every item carries an id and a timestamp, so a run reports what was lost or
delivered twice beside how fast and how long items waited.  Producers also check
``empty()`` and ``qsize()`` against the items known to be in the queue: the documentation
warns that multiprocessing queues answer these unreliably.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext
from runner.percentiles import percentile

GRACE_S = 2.0  # past the run's timeout, before the model's own deadline

PROCESS_KINDS = ("mp_queue", "mp_simple_queue", "manager_queue")


class QueueParams(Params):
    kind: Annotated[
        Literal["mp_queue", "mp_simple_queue", "manager_queue", "thread_queue", "gevent_queue"],
        Meta(description="the queue and what runs producers and consumers"),
    ] = "mp_queue"
    producers: Annotated[int, Meta(ge=1, le=64, description="producers, splitting the items")] = 1
    consumers: Annotated[
        int, Meta(ge=1, le=64, description="consumers, each ended by a sentinel")
    ] = 1
    items: Annotated[int, Meta(ge=1, le=10_000_000, description="items put in all")] = 10_000
    item_bytes: Annotated[int, Meta(ge=0, le=16 * 2**20, description="payload bytes per item")] = 16
    maxsize: Annotated[int, Meta(ge=0, le=1_000_000, description="queue bound; 0 = unbounded")] = 0
    put: Annotated[
        Literal["block", "nowait"],
        Meta(description="put() waiting for room, or put_nowait() retried on queue.Full"),
    ] = "block"
    check_every: Annotated[
        int,
        Meta(
            ge=0, le=10_000_000, description="check empty()/qsize() after every Nth put; 0 = never"
        ),
    ] = 100
    start_method: Annotated[
        Literal["fork", "spawn", "forkserver"],
        Meta(description="multiprocessing start method for the process kinds"),
    ] = "fork"

    def __post_init__(self) -> None:
        if self.kind == "mp_simple_queue" and (self.maxsize or self.put == "nowait"):
            raise ValueError(
                "mp_simple_queue has no maxsize nor put_nowait: use maxsize 0, put block"
            )


class QueueModel(Model):
    name = "queue"
    description = "Producers/consumers over multiprocessing, manager, thread and gevent queues"
    Params = QueueParams
    metrics = (
        Metric("items_per_s", "items/s", True, "items got / (last get - first put)", key=True),
        Metric("latency_p50_us", "us", False, "median time from put to get", key=True),
        Metric("latency_p99_us", "us", False, "99th percentile time from put to get"),
        Metric("lost", "items", False, "items put and never got (must be 0)", key=True),
        Metric("duplicated", "items", False, "items got more than once (must be 0)", key=True),
        Metric("full_events", "events", None, "queue.Full raised by put_nowait (then retried)"),
        Metric("checks", "checks", None, "empty()/qsize() checks made by producers"),
        Metric(
            "empty_misreports", "checks", None,
            "checks where empty() or qsize() said fewer items than known to be queued",
        ),
        Metric(
            "empty_misreport_pct", "%", False,
            "empty_misreports as a share of the checks made: how often to expect a wrong answer",
            key=True,
        ),
    )  # fmt: skip

    def setup(self, params: QueueParams, ctx: RunContext) -> None:
        ctx.state["backend"] = _backend(params)
        ctx.state["live"] = []

    def run(self, params: QueueParams, ctx: RunContext) -> dict[str, float]:
        backend = ctx.state["backend"]
        rundir = ctx.tmpdir / f"run{ctx.run_index}{'w' if ctx.is_warmup else ''}"
        rundir.mkdir()
        # The run's timeout is the executor's to enforce (it kills the trial, status
        # timeout); this later deadline only stops loops left running should it not.
        deadline = time.perf_counter_ns() + int((ctx.timeout + GRACE_S) * 1e9)
        q = backend.make_queue(params.maxsize)
        counters = backend.counters(params.producers + params.consumers)
        prod_jobs, cons_jobs = _jobs(params, rundir, deadline, backend.pause)
        from .mp.queue_workers import consume, produce

        live = ctx.state["live"]
        consumers = [backend.start(consume, q, counters, job) for job in cons_jobs]
        live.extend(consumers)
        producers = [backend.start(produce, q, counters, job) for job in prod_jobs]
        live.extend(producers)
        backend.join(producers, deadline, "producer")
        for _ in consumers:  # after every item: each producer has finished putting
            backend.put_sentinel(q, deadline)
        backend.join(consumers, deadline, "consumer")
        live.clear()
        backend.close(q)
        return _tally(params, prod_jobs, cons_jobs)

    def teardown(self, params: QueueParams, ctx: RunContext) -> None:
        backend = ctx.state.get("backend")
        if backend is not None:
            backend.stop(ctx.state.get("live", []))
            backend.shutdown()


def _jobs(
    params: QueueParams, rundir: Path, deadline: int, pause: str
) -> tuple[list[Any], list[Any]]:
    from .mp.queue_workers import Job

    job = functools.partial(
        Job,
        timed=params.kind not in PROCESS_KINDS,
        deadline_ns=deadline,
        producers=params.producers,
        check_every=params.check_every,
    )
    base, extra = divmod(params.items, params.producers)
    prod, first = [], 0
    for i in range(params.producers):
        count = base + (i < extra)
        prod.append(job(slot=i, report=str(rundir / f"producer{i}.pickle"), first_id=first,
                        count=count, item_bytes=params.item_bytes, nowait=params.put == "nowait",
                        pause=pause))  # fmt: skip
        first += count
    # A consumer gives up after twice the items: room for duplicates to be counted, not looped on.
    limit = 2 * params.items + 2
    cons = [
        job(slot=i, report=str(rundir / f"consumer{i}.pickle"), count=limit)
        for i in range(params.consumers)
    ]
    return prod, cons


def _tally(params: QueueParams, prod_jobs: list[Any], cons_jobs: list[Any]) -> dict[str, float]:
    from .mp.queue_workers import load

    prods = [load(job.report) for job in prod_jobs]
    cons = [load(job.report) for job in cons_jobs]
    seen = bytearray(params.items)
    duplicated = 0
    for rep in cons:
        for item_id in rep["ids"]:
            if 0 <= item_id < params.items and not seen[item_id]:
                seen[item_id] = 1
            else:  # an id twice, or one nobody put
                duplicated += 1
    got = seen.count(1)
    latencies = sorted(x for rep in cons for x in rep["latencies"])
    span_ns = max(rep["last_ns"] for rep in cons) - min(rep["first_ns"] for rep in prods)
    out: dict[str, float] = {
        "lost": params.items - got,
        "duplicated": duplicated,
        "full_events": sum(rep["full"] for rep in prods),
        "checks": sum(rep["checks"] for rep in prods),
        "empty_misreports": sum(rep["misreports"] for rep in prods),
    }
    if out["checks"]:
        out["empty_misreport_pct"] = 100.0 * out["empty_misreports"] / out["checks"]
    if latencies and span_ns > 0:
        out["items_per_s"] = got / (span_ns / 1e9)
        out["latency_p50_us"] = percentile(latencies, 50) / 1e3
        out["latency_p99_us"] = percentile(latencies, 99) / 1e3
    return out


def _backend(params: QueueParams) -> Any:
    from .mp import queue_backends

    if params.kind in PROCESS_KINDS:
        return queue_backends.ProcessBackend(params.kind, params.start_method)
    if params.kind == "thread_queue":
        return queue_backends.ThreadBackend()
    return queue_backends.GeventBackend()


@hookimpl
def runner_models() -> list[Model]:
    return [QueueModel()]
