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

import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import rounds  # noqa: E402
from rounds import Failed, Item  # noqa: E402

SPECS = HERE / "specs"
STREAM_BYTES = 256 << 20

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
    # The same stream against a plain script that keeps its bytes too: the harness's part
    # apart from the cost of keeping 256 MiB to hash after the window (iperf3 keeps none).
    Item("stream, verify after", "MiB/s", "stream", "mib_per_s",
         ("plain_download.py", "thread", "--files", "1", "--size", str(STREAM_BYTES),
          "--clients", "1", "--chunk", "1048576", "--after")),
    Item("stream vs iperf3", "Mbit/s", "stream", "mib_per_s", ("iperf3",), target=0.85,
         scale=8 * 1.048576),
    Item("stream, verify size, vs iperf3", "Mbit/s", "stream_size", "mib_per_s", ("iperf3",),
         target=0.85, scale=8 * 1.048576),
)  # fmt: skip


def runner_or_fail(item: Item, workdir: Path) -> float:
    return rounds.runner_figure(item, SPECS, workdir)


def plain_or_iperf3(item: Item, workdir: Path) -> float:
    if item.plain == ("iperf3",):
        repeat, _ = rounds.spec_counts(item, SPECS)
        return statistics.median(iperf3_mbit() for _ in range(repeat))
    return rounds.plain_figure(item, SPECS, workdir)


def iperf3_mbit() -> float:
    """One iperf3 stream of STREAM_BYTES on loopback; the receiver's Mbit/s.

    Sent with ``-Z`` (sendfile), as runner's stream sends: iperf3's default sender copies
    from a buffer, and on loopback ran at 0.5-0.6 of its own ``-Z``, so that it measured
    iperf3's sender rather than the link."""
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
                                  str(STREAM_BYTES), "-Z", "-J"], capture_output=True, text=True,
                                 check=False, timeout=120)  # fmt: skip
            result = json.loads(out.stdout or "{}")
            if "sum_received" in result.get("end", {}):
                return result["end"]["sum_received"]["bits_per_second"] / 1e6
            time.sleep(0.2)
        raise Failed(f"iperf3: {result.get('error', out.stderr.strip())}")
    finally:
        server.kill()
        server.wait()


def main() -> int:
    items = list(ITEMS)
    if shutil.which("iperf3") is None:
        print("iperf3 is not installed: the items against it are left out", file=sys.stderr)
        items = [i for i in items if i.plain != ("iperf3",)]
    return rounds.report(__doc__ or "", items, runner_or_fail, plain_or_iperf3, times="s")


if __name__ == "__main__":
    sys.exit(main())
