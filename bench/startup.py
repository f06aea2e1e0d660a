"""Start-up of `runner list`, `validate` and `show` against the imports they cannot avoid.

    python bench/startup.py [--rounds 15] [--python PYTHON]

Each round runs every command once, in an order that alternates round by round (the
machine is shared and drifts); each command's ratio to ``python3 -c "import pluggy,
yaml"`` of the same round is kept, and the table shows the median per-round ratio with
its range, and the median time.  Target: at most 3 for list, validate and show.  The
floor row is the imports those three cannot avoid (msgspec, for the models' params).
Runs this checkout (``python -m runner`` from its folder); a report, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = "experiments/pool_async.yaml"
TARGET = 3.0


def commands(py: str) -> dict[str, list[str]]:
    runner = [py, "-m", "runner"]
    return {
        'python3 -c "import pluggy, yaml"': [py, "-c", "import pluggy, yaml"],
        "python3 -c pass": [py, "-c", "pass"],
        # What list/validate/show cannot avoid: the spec's YAML, the entry points, and the
        # models' params, which are msgspec structs.
        "floor: pluggy, ruamel.yaml, importlib.metadata, msgspec": [
            py,
            "-c",
            "import pluggy, ruamel.yaml, importlib.metadata, msgspec",
        ],
        "runner --version": [*runner, "--version"],
        "runner list": [*runner, "list"],
        f"runner validate {SPEC}": [*runner, "validate", SPEC],
        f"runner show {SPEC}": [*runner, "show", SPEC],
        "runner list --plugins": [*runner, "list", "--plugins"],
        "runner history --help": [*runner, "history", "--help"],
    }


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--python", default=sys.executable, help="interpreter to measure")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # installed plugins load, as for a user
    # A user's interpreter caches bytecode; without the cache every start compiles runner's
    # modules again (about 100 ms), which no installed user ever pays twice.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmds = commands(args.python)
    names = list(cmds)
    base = names[0]
    times: dict[str, list[float]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names}
    for n in names:  # one unmeasured round: the page cache, .pyc files
        timed(cmds[n], env)
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        got = {n: timed(cmds[n], env) for n in order}
        for n in names:
            times[n].append(got[n])
            ratios[n].append(got[n] / got[base])
    load = os.getloadavg()[0]
    print(f"{args.rounds} interleaved rounds, load average {load:.1f}, {args.python}")
    print(f"| command | ms | ratio to `{base}` (min-max) |")
    print("|---|---:|---|")
    for n in names:
        ms = 1000 * statistics.median(times[n])
        ratio = statistics.median(ratios[n])
        flag = " over target" if n.startswith("runner") and ratio > TARGET else ""
        spread = f"{min(ratios[n]):.2f}-{max(ratios[n]):.2f}"
        print(f"| `{n}` | {ms:.0f} | {ratio:.2f} ({spread}){flag} |")


if __name__ == "__main__":
    main()
