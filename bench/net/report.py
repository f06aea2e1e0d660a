"""The runner's network models against plain scripts doing the same work.  A report, not a test.

    python bench/net/report.py [--rounds 5] [--only TEXT] [--strict]

For each item, the runner's figure comes from ``python -m runner run specs/ITEM.yaml -o
X.json`` (the median of its measured runs), the plain script's from ``plain_*.py`` with
the spec's warmup and repeat, and the stream's reference from ``iperf3`` (one stream,
when it is installed).  Items alternate A, B then B, A round after round, since the
machine is shared and drifts; each round gives a ratio (runner / plain, inverted for
times), and the table shows the median ratio and its range.  Target: at least 0.9
(0.85 of iperf3 for the stream), so that the harness is not what is measured.  Exits 0
whatever the ratios unless ``--strict``: noise must not fail a CI run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STREAM_BYTES = 256 << 20


@dataclasses.dataclass(frozen=True)
class Item:
    name: str
    unit: str
    spec: str  # under specs/
    metric: str
    plain: tuple[str, ...]  # the plain script and its arguments, or ("iperf3",)
    higher_is_better: bool = True
    target: float = 0.9
    scale: float = 1.0  # runner's figure x scale = the plain one's unit


ITEMS = (
    Item("download, thread clients", "MiB/s", "download_thread", "mib_per_s",
         ("plain_download.py", "thread")),
    Item("download, process clients", "MiB/s", "download_process", "mib_per_s",
         ("plain_download.py", "process")),
    Item("download, gevent clients", "MiB/s", "download_gevent", "mib_per_s",
         ("plain_download.py", "gevent")),
    Item("udp one-way, bookkeeping", "datagrams/s", "udp_oneway", "pps",
         ("plain_udp.py", "oneway", "--messages", "200000")),
    Item("udp one-way, bare", "datagrams/s", "udp_oneway", "pps",
         ("plain_udp.py", "bare", "--messages", "200000")),
    Item("udp echo, 64 B", "round trips/s", "udp_echo", "pps",
         ("plain_udp.py", "echo", "--messages", "20000", "--size", "64")),
    Item("tcp echo, gevent", "round trips/s", "echo_gevent", "round_trips_per_s",
         ("plain_echo.py", "gevent")),
    Item("tcp echo, threads", "round trips/s", "echo_thread", "round_trips_per_s",
         ("plain_echo.py", "thread")),
    Item("c10k, all connected", "s", "c10k", "connect_s",
         ("plain_echo.py", "gevent", "--clients", "10000", "--messages", "5", "--connect"),
         higher_is_better=False),
    Item("stream vs iperf3", "Mbit/s", "stream", "mib_per_s", ("iperf3",), target=0.85,
         scale=8 * 1.048576),
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
        raise RuntimeError(f"{item.spec}: runner exited {proc.returncode}: {proc.stderr.strip()}")
    (trial,) = [t for e in json.loads(out.read_text())["experiments"] for t in e["trials"]]
    out.unlink()
    if trial["status"] != "ok":
        raise RuntimeError(f"{item.spec}: trial {trial['status']}: {trial['error']}")
    return float(trial["summary"][item.metric]["median"]) * item.scale


def plain_figure(item: Item, workdir: Path) -> float:
    import yaml

    spec = yaml.safe_load((HERE / "specs" / f"{item.spec}.yaml").read_text())
    if item.plain == ("iperf3",):
        return statistics.median(iperf3_mbit() for _ in range(spec["repeat"]))
    script, *args = item.plain
    # The same warmup and repeat as the runner's side, read from its spec.
    cmd = [sys.executable, str(HERE / script), *args,
           "--repeat", str(spec["repeat"]), "--warmup", str(spec["warmup"])]  # fmt: skip
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False,
                          timeout=600)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{script}: exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["value"])


def iperf3_mbit() -> float:
    """One iperf3 stream of STREAM_BYTES on loopback; the receiver's Mbit/s."""
    with socket.socket() as s:  # a free port for this one server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):  # until it listens, 5 s at most (it shrugs off the probe)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        for _ in range(5):  # "the server is busy" while it still turns the probe away
            out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n",
                                  str(STREAM_BYTES), "-J"], capture_output=True, text=True,
                                 check=False, timeout=120)  # fmt: skip
            result = json.loads(out.stdout or "{}")
            if "sum_received" in result.get("end", {}):
                return result["end"]["sum_received"]["bits_per_second"] / 1e6
            time.sleep(0.2)
        raise RuntimeError(f"iperf3: {result.get('error', out.stderr.strip())}")
    finally:
        server.kill()
        server.wait()


def measure(items: list[Item], rounds: int) -> dict[str, dict[str, list[float]]]:
    got: dict[str, dict[str, list[float]]] = {
        item.name: {"runner": [], "plain": [], "ratio": []} for item in items
    }
    with tempfile.TemporaryDirectory(prefix="bench-net-") as tmp:
        workdir = Path(tmp)
        for r in range(rounds):
            for item in items:
                try:
                    if r % 2 == 0:
                        a, b = runner_figure(item, workdir), plain_figure(item, workdir)
                    else:
                        b, a = plain_figure(item, workdir), runner_figure(item, workdir)
                except (RuntimeError, subprocess.SubprocessError) as exc:
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
    """A Markdown table: docs/performance.md holds the last one."""
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="A,B rounds per item (default 5)")
    ap.add_argument("--only", metavar="TEXT", help="items whose name contains TEXT")
    ap.add_argument("--strict", action="store_true", help="exit 1 when an item is below target")
    args = ap.parse_args()
    items = [i for i in ITEMS if not args.only or args.only in i.name]
    if shutil.which("iperf3") is None:
        print("iperf3 is not installed: the stream item is left out", file=sys.stderr)
        items = [i for i in items if i.plain != ("iperf3",)]
    if not items:
        ap.error(f"no item matches {args.only!r}")
    load = os.getloadavg()
    got = measure(items, args.rounds)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} at the start, {args.rounds} rounds; ratio = runner / plain "
          "(plain / runner for s), median of per-round ratios\n")  # fmt: skip
    lines = table(items, got)
    print("\n".join(lines))
    below = [line for line in lines if "BELOW" in line or "failed" in line]
    return 1 if args.strict and below else 0


if __name__ == "__main__":
    sys.exit(main())
