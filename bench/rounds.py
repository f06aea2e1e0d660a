"""What the bench reports share: items measured by runner and by a plain script in
interleaved rounds, and the ratio table.  Imported by bench/*/report.py, never by the plain
scripts (their spawn children must import nothing but what they measure).

Each round gives one ratio per item, runner over plain (plain over runner for times);
items alternate which side goes first, A B then B A, since a shared machine drifts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Item:
    name: str
    unit: str
    spec: str  # under the report's specs/
    metric: str
    plain: tuple[str, ...]  # the plain script and its arguments (or a reference tool)
    higher_is_better: bool = True
    target: float = 0.9
    scale: float = 1.0  # runner's figure x scale = the plain one's unit


class Failed(RuntimeError):
    """One side of one round could not be measured; the report says so and goes on."""


def runner_env() -> dict[str, str]:
    """This checkout's runner, with no third-party plugin."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["RUNNER_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def runner_figure(item: Item, specs: Path, workdir: Path) -> float:
    """The median of ``item.metric`` over the measured runs of ``runner run`` on its spec."""
    out = workdir / f"{item.spec}.json"
    cmd = [sys.executable, "-m", "runner", "run", str(specs / f"{item.spec}.yaml"),
           "-q", "--no-db", "-o", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=workdir, env=runner_env(), capture_output=True, text=True,
                          check=False)  # fmt: skip
    if not out.exists():
        raise Failed(f"{item.spec}: runner exited {proc.returncode}: {proc.stderr.strip()}")
    (trial,) = [t for e in json.loads(out.read_text())["experiments"] for t in e["trials"]]
    out.unlink()
    if trial["status"] != "ok":
        raise Failed(f"{item.spec}: trial {trial['status']}: {trial['error']}")
    return float(trial["summary"][item.metric]["median"]) * item.scale


def spec_counts(item: Item, specs: Path) -> tuple[int, int]:
    """The spec's repeat and warmup, which the plain side runs too."""
    import yaml

    spec = yaml.safe_load((specs / f"{item.spec}.yaml").read_text())
    return int(spec["repeat"]), int(spec["warmup"])


def plain_figure(item: Item, specs: Path, workdir: Path) -> float:
    """The figure a plain script prints (its last line, JSON ``{"value": ...}``)."""
    repeat, warmup = spec_counts(item, specs)
    script, *args = item.plain
    cmd = [sys.executable, str(specs.parent / script), *args,
           "--repeat", str(repeat), "--warmup", str(warmup)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False,
                          timeout=600)  # fmt: skip
    if proc.returncode != 0:
        raise Failed(f"{script}: exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["value"])


Measure = Callable[[Item, Path], float]


def measure(items: list[Item], rounds: int, runner: Measure, plain: Measure) -> dict[str, dict]:
    """Per item: the runner figures, the plain ones and the per-round ratios."""
    got: dict[str, dict[str, list[float]]] = {
        item.name: {"runner": [], "plain": [], "ratio": []} for item in items
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        for r in range(rounds):
            for item in items:
                try:
                    if r % 2 == 0:
                        a, b = runner(item, workdir), plain(item, workdir)
                    else:
                        b, a = plain(item, workdir), runner(item, workdir)
                except (Failed, subprocess.SubprocessError) as exc:
                    print(f"round {r + 1}: {item.name}: {exc}", file=sys.stderr)
                    continue
                row = got[item.name]
                row["runner"].append(a)
                row["plain"].append(b)
                row["ratio"].append(a / b if item.higher_is_better else b / a)
            print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    return got


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def table(items: list[Item], got: dict[str, dict[str, list[float]]]) -> list[str]:
    """A Markdown table of the ratios; docs/performance.md holds the last one."""
    lines = [
        "| item | unit | runner | plain | ratio | (min-max) | rounds | target |",
        "|---|---|---:|---:|---:|---|---:|---|",
    ]
    for item in items:
        row = got[item.name]
        if not row["ratio"]:
            lines.append(f"| {item.name} | {item.unit} | - | - | - | - | 0 | failed |")
            continue
        ratio = statistics.median(row["ratio"])
        verdict = f">= {item.target}: " + ("ok" if ratio >= item.target else "BELOW")
        lines.append(
            f"| {item.name} | {item.unit} | {_fmt(statistics.median(row['runner']))} | "
            f"{_fmt(statistics.median(row['plain']))} | {ratio:.2f} | "
            f"{min(row['ratio']):.2f}-{max(row['ratio']):.2f} | {len(row['ratio'])} | {verdict} |"
        )
    return lines


def below(lines: list[str]) -> bool:
    """Whether a row of the table missed its target or could not be measured."""
    return any("BELOW" in line or "| failed |" in line for line in lines)


def report(doc: str, items: list[Item], runner: Measure, plain: Measure, times: str) -> int:
    """A report's command line (``--rounds``, ``--only``, ``--strict``), its rounds and its
    table; the exit code is 1 only with ``--strict`` and an item below its target.

    :param times: the unit of the items where lower is better, for the header's note.
    """
    import argparse
    import platform

    ap = argparse.ArgumentParser(description=doc.split("\n", maxsplit=1)[0])
    ap.add_argument("--rounds", type=int, default=5, help="A,B rounds per item (default 5)")
    ap.add_argument("--only", metavar="TEXT", help="items whose name contains TEXT")
    ap.add_argument("--strict", action="store_true", help="exit 1 when an item is below target")
    args = ap.parse_args()
    items = [i for i in items if not args.only or args.only in i.name]
    if not items:
        ap.error(f"no item matches {args.only!r}")
    load = os.getloadavg()
    got = measure(items, args.rounds, runner, plain)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} at the start, {args.rounds} rounds; ratio = runner / plain "
          f"(plain / runner for {times}), median of per-round ratios\n")  # fmt: skip
    lines = table(items, got)
    print("\n".join(lines))
    return 1 if args.strict and below(lines) else 0
