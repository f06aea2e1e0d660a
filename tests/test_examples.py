"""Every example spec runs, once per trial, with all trials ok and expectations met."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

SPECS = sorted((Path(__file__).parent.parent / "experiments").glob("*.yaml"))
# Specs whose trials have a network of their own (link_* params) need root and nftables.
LINK_READY = os.geteuid() == 0 and all(shutil.which(t) for t in ("nft", "ip"))


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_example_spec_runs(runner_cli, spec):
    if "link_" in spec.read_text() and not LINK_READY:
        pytest.skip("link_* params need root and nftables, iproute2 (apt-get install them)")
    res = runner_cli.run_spec(spec, "--repeat", "1", "--warmup", "0", "--no-db", timeout=300)
    not_ok = {t["id"]: t["error"] for t in res.trials if t["status"] != "ok"}
    assert res.code == 0 and not not_ok, (not_ok, res.stderr[-2000:])
    assert all(len(t["runs"]) == 1 for t in res.trials)
