"""The dask executor against the local one.  A report, not a test.

    python bench/dask/report.py [--rounds 3] [--only overhead|speedup|scheduler]

Overhead: the 50-trial noop matrix (bench/overhead.yaml) and a 5-trial one (noop5.yaml)
through `runner run`, local and on a one-worker `LocalCluster`, interleaved round by
round.  The session's wall time minus the measured runs, per trial; and the slope
between the two sizes, (wall(50) - wall(5)) / 45, which is the cost of one more trial
without the session's fixed cost (connecting, checking the workers, starting them).

Speed-up: 12 trials of one 1 s run (sleep12.yaml) on LocalClusters of 1, 2 and 4
workers (each `--resources trial=1`), against the local executor in the same rounds.
Ideal: 12 s, 6 s, 3 s.  The machine has 2 cores; the trials sleep, so what is measured
is the dispatch, not the CPU.

Scheduler: 2,000 no-op tasks asking for the `trial` resource on two workers, to put a
figure on the scheduler's own cost per trial (docs/distributed.md, scale).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@contextmanager
def cluster(workers: int) -> Iterator[str]:
    from distributed import LocalCluster

    # The workers must import this checkout's runner, installed or not.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
    )
    with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                      resources={"trial": 1}, host="127.0.0.1",
                      dashboard_address=None) as lc:  # fmt: skip
        yield lc.scheduler_address


def session(spec: Path, *args: str) -> tuple[float, float, int]:
    """Wall time of `runner run SPEC ARGS`, the trials' measured run time, the trials."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "runner", "run", str(spec), "-q", "--no-db",
                        "-o", str(out), *args], check=True, cwd=ROOT)  # fmt: skip
        wall = time.perf_counter() - t0
        data = json.loads(out.read_text())
    trials = [t for e in data["experiments"] for t in e["trials"]]
    assert all(t["status"] == "ok" for t in trials), [t["error"] for t in trials]
    runs = [r["elapsed_s"] for t in trials for r in t["runs"]]
    per_run = sum(runs) / max(1, len(runs))
    measured = sum(runs) + per_run * sum(t["warmup_runs"] for t in trials)
    return wall, measured, len(trials)


def _ms(values: list[float]) -> str:
    return (f"{1000 * statistics.median(values):.1f} ms "
            f"({1000 * min(values):.1f}-{1000 * max(values):.1f})")  # fmt: skip


def overhead(rounds: int) -> None:
    specs = {50: ROOT / "bench" / "overhead.yaml", 5: HERE / "noop5.yaml"}
    per: dict[str, list[float]] = {"local": [], "dask": []}
    slope: dict[str, list[float]] = {"local": [], "dask": []}
    fixed: dict[str, list[float]] = {"local": [], "dask": []}
    with cluster(1) as address:
        executors = {"local": (), "dask": ("--executor", "dask", "--scheduler", address)}
        for i in range(rounds):
            order = list(executors) if i % 2 == 0 else list(reversed(executors))
            for name in order:
                walls = {}
                for size, spec in specs.items():
                    wall, measured, trials = session(spec, *executors[name])
                    walls[size] = wall - measured
                    if size == 50:
                        per[name].append((wall - measured) / trials)
                step = (walls[50] - walls[5]) / 45
                slope[name].append(step)
                fixed[name].append(walls[5] - 5 * step)
    ratio = [d / loc for d, loc in zip(per["dask"], per["local"], strict=True)]
    print(f"per-trial overhead, 50 noop trials ({rounds} rounds, median (min-max)):")
    for name, values in per.items():
        print(f"  {name:5}: {_ms(values)} a trial in the session; one more trial "
              f"{_ms(slope[name])}; the session's fixed cost {_ms(fixed[name])}")  # fmt: skip
    print(
        f"  dask / local, per trial in the session: {statistics.median(ratio):.2f} "
        f"({min(ratio):.2f}-{max(ratio):.2f})"
    )


def trial_phase(spec: Path, *args: str) -> tuple[float, float]:
    """Wall time of the session, and from its first trial's start to its last's end."""
    with tempfile.TemporaryDirectory() as tmp:
        timeline = Path(tmp) / "timeline.json"
        os.environ["RUNNER_BENCH_TIMELINE"] = str(timeline)
        wall = session(spec, "-p", str(HERE / "timeline.py"), *args)[0]
        seen = json.loads(timeline.read_text())
    return wall, seen["last_done"] - seen["first_start"]


def speedup(rounds: int) -> None:
    spec = HERE / "sleep12.yaml"
    print(
        f"12 trials x 1 s ({rounds} rounds, median (min-max)); 'trials' is from the first "
        "trial's start to the last one's end, without the session's start-up:"
    )
    for workers in (1, 2, 4):
        local: list[tuple[float, float]] = []
        dask: list[tuple[float, float]] = []
        with cluster(workers) as address:
            for i in range(rounds):
                args = ("--executor", "dask", "--scheduler", address)
                pair = [(local, ()), (dask, args)]
                for store, extra in pair if i % 2 == 0 else reversed(pair):
                    store.append(trial_phase(spec, *extra))
        walls = [w for w, _ in dask]
        phases = [p for _, p in dask]
        ratios = [lo[1] / d[1] for lo, d in zip(local, dask, strict=True)]
        print(f"  {workers} worker{'s' if workers > 1 else ''}: dask session "
              f"{statistics.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}), trials "
              f"{statistics.median(phases):.2f} s ({min(phases):.2f}-{max(phases):.2f}); local "
              f"session {statistics.median(w for w, _ in local):.2f} s, trials "
              f"{statistics.median(p for _, p in local):.2f} s; trials' speed-up over local "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}), "
              f"ideal {workers}")  # fmt: skip


def _nothing(i: int) -> int:
    return i


def scheduler(rounds: int, tasks: int = 2000) -> None:
    """What the scheduler alone costs a trial: no-op tasks that ask for a `trial` each."""
    from distributed import Client

    rates = []
    with cluster(2) as address, Client(address) as client:
        for _ in range(rounds):
            t0 = time.perf_counter()
            futures = client.map(_nothing, range(tasks), resources={"trial": 1}, pure=False)
            client.gather(futures)
            rates.append(tasks / (time.perf_counter() - t0))
            del futures
    print(
        f"scheduler: {tasks} no-op tasks with the trial resource on 2 workers: "
        f"{statistics.median(rates):,.0f} tasks/s ({min(rates):,.0f}-{max(rates):,.0f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=["overhead", "speedup", "scheduler"])
    args = ap.parse_args()
    if args.only in (None, "overhead"):
        overhead(args.rounds)
    if args.only in (None, "speedup"):
        speedup(args.rounds)
    if args.only in (None, "scheduler"):
        scheduler(args.rounds)


if __name__ == "__main__":
    main()
