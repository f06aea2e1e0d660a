"""Plain-script twin of specs/start_*.yaml: start and join 20 no-op processes in turn.

    python plain_start.py fork|forkserver|spawn [--repeat 5] [--warmup 1]

Each run starts one process unmeasured (the forkserver's server starts then), then times
20 start() + join() pairs.  Prints the median of the runs' mean ms per process, as JSON.
"""

from __future__ import annotations

# Only what the work needs at module level: spawn and forkserver children import this
# module again, and what it imports would be counted against the plain side.
import multiprocessing
import time
from typing import Any

PROCESSES = 20


def noop() -> None:
    pass


def once(ctx: Any) -> float:
    total = 0
    for i in range(PROCESSES + 1):
        proc = ctx.Process(target=noop)
        t0 = time.perf_counter_ns()
        proc.start()
        proc.join()
        if i:
            total += time.perf_counter_ns() - t0
        assert proc.exitcode == 0
    return total / PROCESSES / 1e6


def main() -> None:
    import argparse
    import json
    import statistics

    ap = argparse.ArgumentParser()
    ap.add_argument("method", choices=["fork", "forkserver", "spawn"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    ctx = multiprocessing.get_context(args.method)
    runs = [once(ctx) for _ in range(args.warmup + args.repeat)][args.warmup :]
    print(json.dumps({"value": statistics.median(runs), "runs": runs}))


if __name__ == "__main__":
    main()
