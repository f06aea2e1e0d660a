"""Plain-script twin of specs/greenlet_switch.yaml: two greenlets, 1,000,000 switches.

    python plain_switch.py [--repeat 5] [--warmup 1]

Prints the median switches/s over the measured runs, as JSON.
"""

from __future__ import annotations

# Only what the work needs at module level: spawn and forkserver children import this
# module again, and what it imports would be counted against the plain side.
import time

from greenlet import greenlet

SWITCHES = 1_000_000


def once() -> float:
    rounds = SWITCHES // 2

    def ping() -> None:
        for _ in range(rounds):
            pong_g.switch()

    def pong() -> None:
        while True:
            ping_g.switch()

    ping_g, pong_g = greenlet(ping), greenlet(pong)
    t0 = time.perf_counter_ns()
    ping_g.switch()
    elapsed = time.perf_counter_ns() - t0
    return 2 * rounds / (elapsed / 1e9)


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
