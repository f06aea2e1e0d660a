"""How often the gate cries wolf, and how often it catches a slowdown.  A report, not a test.

    python bench/gate_quality.py [--sessions 20] [--only cpu] [--keep DIR] [--pool K]

For each workload, session after session: a baseline session (``runner run SPEC -o
base.json``), then three separate gated sessions against it (``runner run SPEC
--baseline base.json --fail-on-regression``): the same spec, and the spec with 10% and
25% more work, in an order that rotates from session to session.  The specs are written
as a user writes them: no repeat, warmup or threshold given, so the defaults decide.  A
same-vs-same session that fails the gate (a regression, an improvement is not counted,
or an inconclusive comparison) is a false alarm; a slowdown is caught when the gate
reports a regression of ``wall_s``.  With ``--pool K`` the baseline is the K latest
baseline sessions pooled (``--baseline`` repeated), so that their drift widens the
threshold; K - 1 more baseline sessions run first.  The last table judges the same sessions again at
other thresholds, and on the CPU time of the runs instead of their wall time, to show
what the default trades (``--rejudge DIR`` does only that, on sessions kept with
``--keep DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = {
    # A CPU loop in one thread: the machine's load moves it most.
    "cpu": ("model: thread\nparams: {{workload: cpu, threads: 1, tasks: 1, "
            "cpu_iterations: {n}}}\n", 400_000),
    # Two threads sleeping: timer wake-ups, steadier.
    "sleep": ("model: thread\nparams: {{workload: sleep, threads: 2, tasks: 2, "
              "task_seconds: {n}}}\n", 0.02),
}  # fmt: skip
SLOWDOWNS = (0, 10, 25)
THRESHOLDS = (5.0, 7.0, 10.0, 15.0)


def runner(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "runner", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip


def spec(work: str, slowdown: int, folder: Path) -> Path:
    template, amount = WORKLOADS[work]
    n = amount * (1 + slowdown / 100)
    path = folder / f"{work}_{slowdown}.yaml"
    text = f"name: {work}\n" + template.format(n=round(n) if isinstance(amount, int) else n)
    path.write_text(text)
    return path


def wall_decision(bases: list[Path], new: Path, folder: Path,
                  threshold: float | None = None) -> str:  # fmt: skip
    args = ["compare", *bases, new, "--format", "json"]
    if threshold is not None:
        args += ["--threshold", f"{threshold:g}"]
    report = json.loads(runner(*args, cwd=folder).stdout)
    return next(c["verdict"] for c in report["changes"] if c["metric"] == "wall_s")


def study(work: str, sessions: int, folder: Path,
          pool: int = 1) -> dict[int, list[tuple[int, str, Path]]]:  # fmt: skip
    """Slowdown -> per session (gate exit code, wall_s decision, result file)."""
    base_spec = spec(work, 0, folder)
    specs = {s: spec(work, s, folder) for s in SLOWDOWNS}
    out: dict[int, list[tuple[int, str, Path]]] = {s: [] for s in SLOWDOWNS}
    for i in range(1 - pool, sessions):
        base = folder / f"{work}_base{i}.json"
        done = runner("run", base_spec, "-q", "--no-db", "-o", base, cwd=folder)
        if done.returncode != 0:
            raise SystemExit(f"baseline session failed: {done.stderr}")
        if i < 0:
            continue  # history for the first pooled baseline
        bases = [folder / f"{work}_base{j}.json" for j in range(i - pool + 1, i + 1)]
        order = SLOWDOWNS[i % 3 :] + SLOWDOWNS[: i % 3]  # drift hits each variant alike
        for slowdown in order:
            new = folder / f"{work}_{slowdown}_{i}.json"
            given = [a for b in bases for a in ("--baseline", str(b))]
            gate = runner("run", specs[slowdown], "-q", "--no-db", "-o", new, *given,
                          "--fail-on-regression", cwd=folder)  # fmt: skip
            out[slowdown].append((gate.returncode, wall_decision(bases, new, folder), new))
        print(f"{work} session {i + 1}/{sessions}: " + ", ".join(
            f"+{s}%: {out[s][-1][1]}" for s in SLOWDOWNS), file=sys.stderr, flush=True)  # fmt: skip
    return out


def rejudge(folder: Path, works: list[str], n: int) -> None:
    """The kept sessions judged again at other thresholds, on wall_s and on the CPU time
    of the trial's process (``cpu_s`` of each run), in process with runner.compare."""
    sys.path.insert(0, str(ROOT))
    from runner.compare import CompareOptions, compare_trial

    print("\nThe same sessions judged again, at other thresholds, on wall time and on the "
          "CPU time of the runs (cpu_s):\n")  # fmt: skip
    print("| workload | measure | threshold | false alarms | +10% caught | +25% caught |")
    print("|---|---|---|---|---|---|")
    for work in works:
        for measure in ("wall_s", "cpu_s"):
            for t in THRESHOLDS:
                row = []
                for slowdown in SLOWDOWNS:
                    ds = [_judge(folder / f"{work}_base{i}.json",
                                 folder / f"{work}_{slowdown}_{i}.json", measure, t,
                                 compare_trial=compare_trial, options=CompareOptions)
                          for i in range(n)]  # fmt: skip
                    bad = {"regression", "inconclusive"} if slowdown == 0 else {"regression"}
                    row.append(sum(d in bad for d in ds))
                print(
                    f"| {work} | {measure} | {t:g}% | {row[0]} of {n} | {row[1]} of {n} | "
                    f"{row[2]} of {n} |"
                )


def _judge(base: Path, new: Path, measure: str, threshold: float, *, compare_trial: Any,
           options: Any) -> str:  # fmt: skip
    sides = []
    for path in (base, new):
        trial = json.loads(path.read_text())["experiments"][0]["trials"][0]
        runs = [{"metrics": {measure: r["metrics"]["wall_s"] if measure == "wall_s"
                             else r["cpu_s"]}} for r in trial["runs"]]  # fmt: skip
        sides.append({"runs": runs})
    metrics = {measure: {"unit": "s", "higher_is_better": False}}
    (change,) = compare_trial("t", sides[0], sides[1], metrics, options(threshold_pct=threshold))
    return str(change.verdict)


def load_range(folder: Path) -> str:
    """The 1-minute load averages the sessions recorded, lowest and highest."""
    loads = []
    for path in folder.glob("*.json"):
        env = json.loads(path.read_text()).get("environment", {})
        for key in ("state_start", "state_end"):
            loads += (env.get(key) or {}).get("load", [])[:1]
    return f"{min(loads):.1f} to {max(loads):.1f}" if loads else "not recorded"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--only", choices=sorted(WORKLOADS), action="append")
    parser.add_argument("--keep", type=Path, help="keep the result files in DIR")
    parser.add_argument("--pool", type=int, default=1, metavar="K",
                        help="the baseline: the K latest baseline sessions pooled")  # fmt: skip
    parser.add_argument("--rejudge", type=Path, metavar="DIR",
                        help="only judge again the sessions kept in DIR")  # fmt: skip
    args = parser.parse_args()
    if args.rejudge:
        rejudge(args.rejudge, args.only or list(WORKLOADS), args.sessions)
        print(f"\nload average during the study: {load_range(args.rejudge)}")
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="gate-quality-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = {w: study(w, args.sessions, folder, args.pool) for w in args.only or WORKLOADS}
    n = args.sessions
    pooled = f", the baseline {args.pool} sessions pooled" if args.pool > 1 else ""
    print(f"\n{n} sessions per cell; default spec (repeat 5, warmup 1), threshold 5%, "
          f"alpha 0.05, the gate re-running undecided trials up to 30 runs{pooled}\n")  # fmt: skip
    print("| workload | same vs same: gate failed (false alarms) | +10%: caught | "
          "+25%: caught | inconclusive (same / +10% / +25%) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for work, by in results.items():
        alarms = sum(code != 0 and d != "improvement" for code, d, _ in by[0])
        caught = {s: sum(d == "regression" for _, d, _ in by[s]) for s in (10, 25)}
        undecided = " / ".join(str(sum(d == "inconclusive" for _, d, _ in by[s])) for s in by)
        print(
            f"| {work} | {alarms} of {n} | {caught[10]} of {n} | {caught[25]} of {n} | "
            f"{undecided} |"
        )
    rejudge(folder, list(results), n)
    print(f"\nload average during the study: {load_range(folder)}")
    print(f"\nresult files: {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
