"""Plain-script twin of specs/mp_queue.yaml: 100,000 small items through multiprocessing.Queue.

    python plain_queue.py [--repeat 5] [--warmup 1]

A producer process puts ``(id, perf_counter_ns(), 16 bytes)``; the main process gets them
all.  items/s counts from the first put (its stamp) to the last get, as the queue model
does.  Prints the median over the measured runs, as JSON.
"""

from __future__ import annotations

# Only what the work needs at module level: spawn and forkserver children import this
# module again, and what it imports would be counted against the plain side.
import multiprocessing
import time

ITEMS, ITEM_BYTES = 100_000, 16


def producer(q: multiprocessing.Queue, n: int) -> None:
    payload = b"Z" * ITEM_BYTES
    for i in range(n):
        q.put((i, time.perf_counter_ns(), payload))
    q.put(None)


def once() -> float:
    q: multiprocessing.Queue = multiprocessing.Queue()
    proc = multiprocessing.Process(target=producer, args=(q, ITEMS))
    proc.start()
    # A plain get(): with a timeout, each get polls the pipe first and costs far more.
    first_ns = q.get()[1]
    got, last_ns = 1, time.perf_counter_ns()
    while q.get() is not None:
        got += 1
        last_ns = time.perf_counter_ns()
    proc.join()
    assert got == ITEMS, got
    return ITEMS / ((last_ns - first_ns) / 1e9)


def main() -> None:
    import argparse
    import json
    import statistics

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    runs = [once() for _ in range(args.warmup + args.repeat)][args.warmup :]
    print(json.dumps({"value": statistics.median(runs), "runs": runs}))


if __name__ == "__main__":
    main()
