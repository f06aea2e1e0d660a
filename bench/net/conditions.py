"""Are the imposed link conditions what was asked?  A report, not a test.

    sudo python bench/net/conditions.py [--datagrams 20000] [--repeat 3]

- loss: UDP one-way trials through links dropping 0, 1, 5 and 20% (nftables); the
  configured share must lie within the 95% Clopper-Pearson interval of the measured one,
  over at least 20,000 datagrams per setting.  A 4 MiB receive buffer and a moderate rate
  keep the receiver from being overrun; what it drops all the same on a loaded machine
  (``rcvbuf_drops``, the namespace's own count) is not the link's and is left out;
- client rate: downloads by 4 clients paced at 1, 4 and 16 MiB/s; each client's
  achieved rate (bytes over its time fetching) must be within 5% of the configured one;
- delay: UDP echo through netem delays of 2, 10 and 50 ms each way; the median round trip
  must be twice the delay plus loopback's own few microseconds (skipped, saying why,
  where the kernel has no netem).

Needs root, nftables and iproute2 for loss and delay; the rate needs neither.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))


def run_spec(spec: str) -> list[dict[str, Any]]:
    """Run a spec with the runner CLI; return its trials (each must be ok)."""
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "spec.yaml", Path(tmp) / "out.json"
        path.write_text(spec)
        cmd = [sys.executable, "-m", "runner", "run", str(path), "-q", "--no-db", "-o", str(out)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        if not out.exists():
            sys.exit(f"runner failed ({proc.returncode}): {proc.stderr.strip()}")
        trials = [t for e in json.loads(out.read_text())["experiments"] for t in e["trials"]]
    for t in trials:
        if t["status"] != "ok":
            sys.exit(f"{t['id']}: {t['status']}: {t['error']}")
    return trials


def loss(datagrams: int, repeat: int) -> bool:
    from scipy.stats import binomtest

    trials = run_spec(
        f"""
model: udp
params: {{workload: oneway, messages: {datagrams}, payload_bytes: 1400, rate_pps: 20000,
          rcvbuf: 4194304}}
matrix: {{link_loss_pct: [0, 1, 5, 20]}}
repeat: {repeat}
warmup: 0
timeout: 120
"""
    )
    ok = True
    print(f"loss: UDP one way, 1400 B at 20,000/s, {repeat} runs x {datagrams} datagrams")
    for t in trials:
        configured = t["params"]["link_loss_pct"]
        sent = sum(int(r["metrics"]["sent"]) for r in t["runs"])
        lost = sum(int(r["metrics"]["lost"]) for r in t["runs"])
        # What the receiver dropped itself (overrun on a loaded machine) is not the link's.
        overrun = sum(int(r["metrics"]["rcvbuf_drops"]) for r in t["runs"])
        dropped = lost - overrun
        ci = binomtest(dropped, sent).proportion_ci(0.95)
        low, high = 100 * ci.low, 100 * ci.high
        inside = low <= configured <= high
        ok &= inside
        print(
            f"  configured {configured:5.2f}%  measured {100 * dropped / sent:6.3f}% "
            f"({dropped} of {sent}; {overrun} more overrun at the receiver)  "
            f"95% interval [{low:.3f}, {high:.3f}]  {'ok' if inside else 'OUTSIDE'}"
        )
    return ok


def rate(repeat: int) -> bool:
    ok = True
    print("client rate: download, 4 clients, 8 files each of 2 s at the configured rate")
    for mib_s in (1, 4, 16):
        file_size = int(mib_s * (1 << 20) * 2)
        (t,) = run_spec(
            f"""
model: tcp
params: {{workload: download, files: 8, file_size: {file_size}, clients: 4,
          client_rate_mib_s: {mib_s}, save: false}}
repeat: {repeat}
warmup: 0
timeout: 120
"""
        )
        achieved = [r["metrics"]["client_mib_s"] for r in t["runs"]]
        error = statistics.median(achieved) / mib_s - 1
        inside = abs(error) <= 0.05
        ok &= inside
        spread = ", ".join(f"{a:.3f}" for a in achieved)
        print(
            f"  configured {mib_s:3d} MiB/s  achieved per client {spread} MiB/s  "
            f"median {100 * error:+.2f}%  {'ok' if inside else 'OUTSIDE 5%'}"
        )
    return ok


def delay(repeat: int) -> bool:
    from runner.builtins.net.link import missing

    problem = missing(shaped=True)
    if problem:
        print(f"delay: skipped: {problem}")
        return True
    trials = run_spec(
        f"""
model: udp
params: {{workload: echo, messages: 500, reply_timeout: 1.0}}
matrix: {{link_delay_ms: [2, 10, 50]}}
repeat: {repeat}
warmup: 0
timeout: 120
"""
    )
    ok = True
    print("delay: UDP echo, 500 round trips, netem delay each way")
    for t in trials:
        configured = t["params"]["link_delay_ms"]
        rtt_ms = statistics.median(r["metrics"]["latency_p50_us"] for r in t["runs"]) / 1e3
        excess = rtt_ms - 2 * configured
        inside = 0 <= excess <= max(0.5, 0.05 * 2 * configured)
        ok &= inside
        print(
            f"  configured {configured:4.1f} ms each way  median round trip {rtt_ms:.3f} ms "
            f"(2 x delay {'+' if excess >= 0 else ''}{excess:.3f} ms)  {'ok' if inside else 'OFF'}"
        )
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datagrams", type=int, default=20_000, help="per run (at least 20,000)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("loss", "rate", "delay"), help="measure one of them")
    args = ap.parse_args()
    checks = {
        "loss": lambda: loss(max(20_000, args.datagrams), args.repeat),
        "rate": lambda: rate(args.repeat),
        "delay": lambda: delay(args.repeat),
    }
    results = [check() for name, check in checks.items() if args.only in (None, name)]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
