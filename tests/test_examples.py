"""Every example spec runs, once per trial, with all trials ok and expectations met."""

from __future__ import annotations

from pathlib import Path

import pytest

SPECS = sorted((Path(__file__).parent.parent / "experiments").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_example_spec_runs(runner_cli, spec):
    res = runner_cli.run_spec(spec, "--repeat", "1", "--warmup", "0", "--no-db", timeout=300)
    not_ok = {t["id"]: t["error"] for t in res.trials if t["status"] != "ok"}
    assert res.code == 0 and not not_ok, (not_ok, res.stderr[-2000:])
    assert all(len(t["runs"]) == 1 for t in res.trials)
