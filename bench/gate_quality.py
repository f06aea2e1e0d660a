"""How often the gate cries wolf, and how often it catches a slowdown.  A report, not a test.

    python bench/gate_quality.py [--sessions 20] [--only cpu] [--keep DIR]

For each workload, session after session: a baseline session (``runner run SPEC -o
base.json``), then three separate gated sessions against it (``runner run SPEC
--baseline base.json --fail-on-regression``): the same spec, and the spec with 10% and
25% more work, in an order that rotates from session to session.  The specs are written
as a user writes them: no repeat, warmup or threshold given, so the defaults decide.  A
same-vs-same session that fails the gate (a regression, an improvement is not counted,
or an inconclusive comparison) is a false alarm; a slowdown is caught when the gate
reports a regression of ``wall_s``.  The last table re-judges the same sessions at other
thresholds (``runner compare --threshold``), to show what the default trades.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

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
THRESHOLDS = (3.0, 5.0, 7.0, 10.0)


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


def wall_decision(base: Path, new: Path, folder: Path, threshold: float | None = None) -> str:
    args = ["compare", base, new, "--format", "json"]
    if threshold is not None:
        args += ["--threshold", f"{threshold:g}"]
    report = json.loads(runner(*args, cwd=folder).stdout)
    return next(c["verdict"] for c in report["changes"] if c["metric"] == "wall_s")


def study(work: str, sessions: int, folder: Path) -> dict[int, list[tuple[int, str, Path]]]:
    """Slowdown -> per session (gate exit code, wall_s decision, result file)."""
    base_spec = spec(work, 0, folder)
    specs = {s: spec(work, s, folder) for s in SLOWDOWNS}
    out: dict[int, list[tuple[int, str, Path]]] = {s: [] for s in SLOWDOWNS}
    for i in range(sessions):
        base = folder / f"{work}_base{i}.json"
        done = runner("run", base_spec, "-q", "--no-db", "-o", base, cwd=folder)
        if done.returncode != 0:
            raise SystemExit(f"baseline session failed: {done.stderr}")
        order = SLOWDOWNS[i % 3 :] + SLOWDOWNS[: i % 3]  # drift hits each variant alike
        for slowdown in order:
            new = folder / f"{work}_{slowdown}_{i}.json"
            gate = runner("run", specs[slowdown], "-q", "--no-db", "-o", new, "--baseline",
                          base, "--fail-on-regression", cwd=folder)  # fmt: skip
            out[slowdown].append((gate.returncode, wall_decision(base, new, folder), new))
        print(f"{work} session {i + 1}/{sessions}: " + ", ".join(
            f"+{s}%: {out[s][-1][1]}" for s in SLOWDOWNS), file=sys.stderr, flush=True)  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--only", choices=sorted(WORKLOADS), action="append")
    parser.add_argument("--keep", type=Path, help="keep the result files in DIR")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="gate-quality-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = {w: study(w, args.sessions, folder) for w in args.only or WORKLOADS}
    n = args.sessions
    print(f"\n{n} sessions per cell; default spec (repeat 5, warmup 1), threshold 5%, "
          "alpha 0.05, the gate re-running undecided trials up to 30 runs\n")  # fmt: skip
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
    print("\nThe same sessions judged at other thresholds (`runner compare --threshold`):\n")
    print("| workload | threshold | false alarms | +10% caught | +25% caught |")
    print("|---|---|---|---|---|")
    for work, by in results.items():
        for t in THRESHOLDS:
            row = []
            for s in SLOWDOWNS:
                bases = [folder / f"{work}_base{i}.json" for i in range(n)]
                ds = [wall_decision(b, new, folder, t)
                      for b, (_, _, new) in zip(bases, by[s], strict=True)]  # fmt: skip
                bad = {"regression", "inconclusive"} if s == 0 else {"regression"}
                row.append(sum(d in bad for d in ds))
            print(f"| {work} | {t:g}% | {row[0]} of {n} | {row[1]} of {n} | {row[2]} of {n} |")
    print(f"\nresult files: {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
