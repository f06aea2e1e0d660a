"""Plain-script twin of specs/pool_*.yaml: Pool(3) dispatching 10,000 no-op tasks.

    python plain_pool.py apply_async|map [--repeat 5] [--warmup 1]

Prints the median tasks/s over the measured runs, as JSON.  Each run makes its pool,
waits for its workers, then times the dispatch alone.
"""

from __future__ import annotations

# Only what the work needs at module level: spawn and forkserver children import this
# module again, and what it imports would be counted against the plain side.
import multiprocessing
import time

WORKERS, TASKS = 3, 10_000


def noop(*_args: object) -> None:
    pass


def once(mode: str) -> float:
    pool = multiprocessing.Pool(WORKERS)
    try:
        pool.map(noop, range(WORKERS), chunksize=1)  # the workers are up
        t0 = time.perf_counter()
        if mode == "apply_async":
            pending = [pool.apply_async(noop, (None,)) for _ in range(TASKS)]
            results = [r.get() for r in pending]
        else:
            results = pool.map(noop, [None] * TASKS)
        elapsed = time.perf_counter() - t0
    finally:
        pool.terminate()
        pool.join()
    assert len(results) == TASKS
    return TASKS / elapsed


def main() -> None:
    import argparse
    import json
    import statistics

    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["apply_async", "map"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    runs = [once(args.mode) for _ in range(args.warmup + args.repeat)][args.warmup :]
    print(json.dumps({"value": statistics.median(runs), "runs": runs}))


if __name__ == "__main__":
    main()
