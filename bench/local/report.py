"""The runner against plain scripts doing the same work.  A report, not a test.

    python bench/local/report.py [--rounds 5] [--only NAME]

For each item, the runner's figure comes from ``python -m runner run specs/ITEM.yaml -o
X.json`` (the median of its measured runs), the plain script's from ``plain_*.py`` with
the spec's warmup and repeat.  Items alternate A, B then B, A round after round, since the
machine is shared and drifts; each round gives a ratio (runner / plain, inverted for
times), and the table shows the median ratio and its range.  Target: at least 0.9 for
every item, so that the harness is not what is measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TARGET = 0.9


@dataclasses.dataclass(frozen=True)
class Item:
    name: str
    unit: str
    spec: str  # under specs/
    metric: str
    plain: tuple[str, ...]  # the plain script and its arguments
    higher_is_better: bool = True


ITEMS = (
    Item("pool apply_async, 10k noop", "tasks/s", "pool_apply_async", "tasks_per_s",
         ("plain_pool.py", "apply_async")),
    Item("pool map, 10k noop", "tasks/s", "pool_map", "tasks_per_s", ("plain_pool.py", "map")),
    Item("mp_queue, 100k items", "items/s", "mp_queue", "items_per_s", ("plain_queue.py",)),
    Item("greenlet switch", "switches/s", "greenlet_switch", "switches_per_s",
         ("plain_switch.py",)),
    Item("start+join, fork", "ms", "start_fork", "start_join_ms", ("plain_start.py", "fork"),
         higher_is_better=False),
    Item("start+join, forkserver", "ms", "start_forkserver", "start_join_ms",
         ("plain_start.py", "forkserver"), higher_is_better=False),
    Item("start+join, spawn", "ms", "start_spawn", "start_join_ms", ("plain_start.py", "spawn"),
         higher_is_better=False),
)  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["RUNNER_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def runner_figure(item: Item, workdir: Path) -> float:
    out = workdir / f"{item.spec}.json"
    cmd = [sys.executable, "-m", "runner", "run", str(HERE / "specs" / f"{item.spec}.yaml"),
           "-q", "--no-db", "-o", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=workdir, env=_env(), capture_output=True, text=True, check=False)
    if not out.exists():
        raise SystemExit(f"{item.spec}: runner exited {proc.returncode}: {proc.stderr.strip()}")
    (trial,) = [t for e in json.loads(out.read_text())["experiments"] for t in e["trials"]]
    if trial["status"] != "ok":
        raise SystemExit(f"{item.spec}: trial {trial['status']}: {trial['error']}")
    return float(trial["summary"][item.metric]["median"])


def plain_figure(item: Item, workdir: Path) -> float:
    import yaml

    # The same warmup and repeat as the runner's side, read from its spec.
    spec = yaml.safe_load((HERE / "specs" / f"{item.spec}.yaml").read_text())
    script, *args = item.plain
    cmd = [sys.executable, str(HERE / script), *args,
           "--repeat", str(spec["repeat"]), "--warmup", str(spec["warmup"])]  # fmt: skip
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{script}: exited {proc.returncode}: {proc.stderr.strip()}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["value"])


def measure(items: list[Item], rounds: int) -> dict[str, dict[str, list[float]]]:
    got: dict[str, dict[str, list[float]]] = {
        item.name: {"runner": [], "plain": [], "ratio": []} for item in items
    }
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        workdir = Path(tmp)
        for r in range(rounds):
            for item in items:
                if r % 2 == 0:
                    a, b = runner_figure(item, workdir), plain_figure(item, workdir)
                else:
                    b, a = plain_figure(item, workdir), runner_figure(item, workdir)
                row = got[item.name]
                row["runner"].append(a)
                row["plain"].append(b)
                row["ratio"].append(a / b if item.higher_is_better else b / a)
            print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    return got


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def table(items: list[Item], got: dict[str, dict[str, list[float]]]) -> list[str]:
    lines = [
        f"{'item':<28} {'unit':<11} {'runner':>12} {'plain':>12} {'ratio':>6} "
        f"{'(min-max)':>12}  target >= {TARGET}",
    ]
    for item in items:
        row = got[item.name]
        ratio = statistics.median(row["ratio"])
        spread = f"({min(row['ratio']):.2f}-{max(row['ratio']):.2f})"
        verdict = "ok" if ratio >= TARGET else "BELOW"
        lines.append(
            f"{item.name:<28} {item.unit:<11} {_fmt(statistics.median(row['runner'])):>12} "
            f"{_fmt(statistics.median(row['plain'])):>12} {ratio:>6.2f} {spread:>12}  {verdict}"
        )
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="A,B rounds per item (default 5)")
    ap.add_argument("--only", metavar="TEXT", help="items whose name contains TEXT")
    ap.add_argument("--strict", action="store_true", help="exit 1 when an item is below target")
    args = ap.parse_args()
    items = [i for i in ITEMS if not args.only or args.only in i.name]
    if not items:
        ap.error(f"no item matches {args.only!r}")
    got = measure(items, args.rounds)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {args.rounds} rounds; "
          "ratio = runner / plain (plain / runner for ms), median of per-round ratios")  # fmt: skip
    lines = table(items, got)
    print("\n".join(lines))
    below = [line for line in lines if line.endswith("BELOW")]
    return 1 if args.strict and below else 0


if __name__ == "__main__":
    sys.exit(main())
