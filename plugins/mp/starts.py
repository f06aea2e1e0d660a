"""Start and join no-op processes in turn; print what each took, as JSON.

Run by the process model's ``start`` workload when ``parent: fresh``, as ``python -c``
calling :func:`main` with ``METHOD COUNT``: a new interpreter holding only
multiprocessing is the parent a small script would be.  A fork copies its parent's page
tables, so started from the trial process itself (with the runner's modules loaded) it
costs more, and that would be the harness, not the start method, being measured.
"""

from __future__ import annotations

import json
import time


def measure(method: str, count: int) -> dict[str, list[int]]:
    """One unmeasured start (the forkserver's server starts then), then ``count`` timed."""
    from ..tasks import noop_task
    from .context import get_context

    ctx = get_context(method)
    starts: list[int] = []
    joins: list[int] = []
    pids: list[int] = []
    for i in range(count + 1):
        proc = ctx.Process(target=noop_task)
        t0 = time.perf_counter_ns()
        proc.start()
        t1 = time.perf_counter_ns()
        proc.join()
        t2 = time.perf_counter_ns()
        if proc.exitcode != 0:
            raise SystemExit(f"child {proc.pid} exited with code {proc.exitcode}")
        if i:
            starts.append(t1 - t0)
            joins.append(t2 - t1)
            pids.append(proc.pid)
    return {"start_ns": starts, "join_ns": joins, "pids": pids}


def main(argv: list[str]) -> int:
    method, count = argv[0], int(argv[1])
    print(json.dumps(measure(method, count)))
    return 0
