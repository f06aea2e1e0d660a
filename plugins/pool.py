"""Model `pool`: process pools, apply vs apply_async vs map vs imap_unordered.

``apply`` blocks until each task's result is back, so a pool of N workers runs one task at
a time; ``apply_async`` queues them all and waits once.  The same modes are offered over
``concurrent.futures.ProcessPoolExecutor`` (``backend: futures``): ``apply`` is
``submit().result()`` one by one, ``apply_async`` submits all then waits, ``map`` is
``Executor.map`` and ``imap_unordered`` is ``as_completed``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext

from .tasks import cpu_task, noop_task, sleep_task


class PoolParams(Params):
    mode: Annotated[
        Literal["apply", "apply_async", "map", "imap_unordered"],
        Meta(description="how tasks are handed to the pool"),
    ] = "apply_async"
    backend: Annotated[
        Literal["multiprocessing", "futures"],
        Meta(description="multiprocessing.Pool or concurrent.futures"),
    ] = "multiprocessing"
    workers: Annotated[int, Meta(ge=1, le=512, description="worker processes")] = 3
    tasks: Annotated[int, Meta(ge=1, le=10_000_000, description="tasks submitted")] = 5
    task: Annotated[
        Literal["sleep", "cpu", "noop"],
        Meta(description="what each task does"),
    ] = "sleep"
    task_seconds: Annotated[float, Meta(ge=0, le=3600, description="sleep: seconds per task")] = 0.5
    cpu_iterations: Annotated[
        int, Meta(ge=1, le=10**10, description="cpu: loop length per task")
    ] = 200_000
    chunksize: Annotated[
        int, Meta(ge=0, le=10_000_000, description="map modes: 0 = the library default")
    ] = 0
    start_method: Annotated[
        Literal["default", "fork", "spawn", "forkserver"],
        Meta(description="multiprocessing start method of the pool's workers"),
    ] = "default"


class PoolModel(Model):
    name = "pool"
    description = "Process pools: apply vs apply_async vs map vs imap_unordered"
    Params = PoolParams
    metrics = (
        Metric("wall_s", "s", False, "first submission to last result", key=True),
        Metric("startup_s", "s", False, "pool creation until its workers are ready"),
        Metric("tasks_per_s", "tasks/s", True, "tasks / wall_s", key=True),
        Metric("efficiency", "", True, "ideal time / wall_s (sleep and cpu tasks)", key=True),
    )

    def setup(self, params: PoolParams, ctx: RunContext) -> None:
        if params.task == "cpu":  # the ideal time needs one task's length on this machine
            t0 = time.perf_counter()
            cpu_task(params.cpu_iterations)
            ctx.state["task_s"] = time.perf_counter() - t0

    def run(self, params: PoolParams, ctx: RunContext) -> dict[str, float]:
        func, arg = _task(params)
        if params.backend == "futures":
            startup, wall, results = _run_futures(params, func, arg)
        else:
            startup, wall, results = _run_pool(params, func, arg)
        if len(results) != params.tasks:
            raise RuntimeError(f"{len(results)} results for {params.tasks} tasks")
        out = {"wall_s": wall, "startup_s": startup, "tasks_per_s": params.tasks / wall}
        ideal = _ideal_s(params, ctx)
        if ideal:
            out["efficiency"] = ideal / wall
        return out


def _task(p: PoolParams) -> tuple[Callable[[Any], Any], Any]:
    if p.task == "sleep":
        return sleep_task, p.task_seconds
    if p.task == "cpu":
        return cpu_task, p.cpu_iterations
    return noop_task, None


def _ideal_s(p: PoolParams, ctx: RunContext) -> float:
    """Wall time with perfect overlap and no overhead: rounds of `workers` tasks."""
    if p.task == "sleep":
        return math.ceil(p.tasks / p.workers) * p.task_seconds
    if p.task == "cpu":
        parallel = min(p.workers, ctx.cpu_count)
        return math.ceil(p.tasks / parallel) * ctx.state["task_s"]
    return 0.0


def _context(p: PoolParams) -> Any:
    import multiprocessing

    return multiprocessing.get_context(None if p.start_method == "default" else p.start_method)


def _run_pool(
    p: PoolParams, func: Callable[[Any], Any], arg: Any
) -> tuple[float, float, list[Any]]:
    t0 = time.perf_counter()
    pool = _context(p).Pool(p.workers)
    try:
        # Pool() returns before its workers have imported anything: a no-op round trip per
        # worker makes startup_s the real cost and keeps it out of wall_s.
        pool.map(noop_task, range(p.workers), chunksize=1)
        t1 = time.perf_counter()
        args = [arg] * p.tasks
        chunk = p.chunksize or None
        if p.mode == "apply":
            results = [pool.apply(func, (a,)) for a in args]
        elif p.mode == "apply_async":
            pending = [pool.apply_async(func, (a,)) for a in args]
            results = [r.get() for r in pending]
        elif p.mode == "map":
            results = pool.map(func, args, chunksize=chunk)
        else:
            results = list(pool.imap_unordered(func, args, chunksize=chunk or 1))
        t2 = time.perf_counter()
    finally:
        pool.terminate()
        pool.join()
    return t1 - t0, t2 - t1, results


def _run_futures(
    p: PoolParams, func: Callable[[Any], Any], arg: Any
) -> tuple[float, float, list[Any]]:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    t0 = time.perf_counter()
    with ProcessPoolExecutor(p.workers, mp_context=_context(p)) as ex:
        list(ex.map(noop_task, range(p.workers)))
        t1 = time.perf_counter()
        if p.mode == "apply":
            results = [ex.submit(func, arg).result() for _ in range(p.tasks)]
        elif p.mode == "apply_async":
            futures = [ex.submit(func, arg) for _ in range(p.tasks)]
            results = [f.result() for f in futures]
        elif p.mode == "map":
            results = list(ex.map(func, [arg] * p.tasks, chunksize=p.chunksize or 1))
        else:
            results = [
                f.result() for f in as_completed([ex.submit(func, arg) for _ in range(p.tasks)])
            ]
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1, results


@hookimpl
def runner_models() -> list[Model]:
    return [PoolModel()]
