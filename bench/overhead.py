"""The runner's own cost: per trial, and at start-up.  A report, not a test.

    python bench/overhead.py [--rounds 5]

Per trial: wall time of `runner run bench/overhead.yaml` (50 trials of a model that does
nothing) minus the measured run times, divided by the trials.  Target: at most 150 ms.

Start-up: `runner --version` against `python3 -c "import pluggy, yaml"`, interleaved
round by round (the machine is shared and noisy); the ratio of medians is reported, and
the difference from `python3 -c pass`.  Target: at most 3 times the import.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def per_trial_overhead() -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        wall = timed([sys.executable, "-m", "runner", "run", str(HERE / "overhead.yaml"),
                      "-q", "--no-db", "-o", str(out)])  # fmt: skip
        data = json.loads(out.read_text())
    trials = [t for e in data["experiments"] for t in e["trials"]]
    measured = sum(r["elapsed_s"] for t in trials for r in t["runs"])
    # Warmup runs are the trial's work too, only not kept: count them at the measured cost.
    per_run = measured / max(1, sum(len(t["runs"]) for t in trials))
    measured += per_run * sum(t["warmup_runs"] for t in trials)
    return (wall - measured) / len(trials), len(trials)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    py = sys.executable
    cmds = {
        "pass": [py, "-c", "pass"],
        "import": [py, "-c", "import pluggy, yaml"],
        "version": [py, "-m", "runner", "--version"],
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(args.rounds * 3):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd))
    med = {k: statistics.median(v) for k, v in times.items()}
    overheads = [per_trial_overhead()[0] for _ in range(args.rounds)]
    print(
        f"per-trial overhead, 50 noop trials: median {1000 * statistics.median(overheads):.1f} ms "
        f"(min {1000 * min(overheads):.1f}, max {1000 * max(overheads):.1f}; target <= 150 ms)"
    )
    print(
        f"start-up: python -c pass {1000 * med['pass']:.0f} ms, import pluggy+yaml "
        f"{1000 * med['import']:.0f} ms, runner --version {1000 * med['version']:.0f} ms"
    )
    print(
        f"runner --version / import pluggy+yaml: {med['version'] / med['import']:.2f} "
        f"(target <= 3); above python -c pass: +{1000 * (med['version'] - med['pass']):.0f} ms"
    )


if __name__ == "__main__":
    main()
