"""bench/net/report.py runs and reports: one cheap item, one round (a report, not a speed test)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_network_bench_reports_a_ratio_and_never_gates():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "net" / "report.py"), "--only", "udp echo",
         "--rounds", "1"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith("| udp echo")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "round trips/s"
    assert float(cells[4]) > 0  # the ratio, whatever the machine's load
    assert re.fullmatch(r">= 0\.9: (ok|BELOW)", cells[7])
