"""Odd metric values never abort a session: stored and summarised, or one trial's error."""

from __future__ import annotations

import json
import sqlite3

SPEC = """
experiments:
  - name: odd
    model: hostile
    plugins: [HOSTILE]
    params: {action: odd_metric}
    matrix: {odd: [huge, huge_both_signs, int64_overflow, big_int, beyond_float]}
    repeat: 4
    warmup: 0
  - name: after
    model: hostile
    plugins: [HOSTILE]
    repeat: 1
    warmup: 0
"""


def test_odd_metric_values_are_stored_summarised_or_refused_and_the_session_goes_on(launch):
    spec = launch.spec(SPEC)
    code, err = launch.run("run", spec, "-o", launch.out, "--db", launch.db, "-q")
    assert code == 1, err  # one trial is an error
    assert "Traceback" not in err and "internal error" not in err, err
    trials = {t["swept"].get("odd", t["id"]): t for e in launch.results()["experiments"]
              for t in e["trials"]}  # fmt: skip
    summary = {name: t["summary"].get("value") for name, t in trials.items()}
    assert trials["huge"]["status"] == "ok"
    assert summary["huge"]["median"] == summary["huge"]["mean"] == 1e308
    assert summary["huge_both_signs"]["median"] == summary["huge_both_signs"]["mean"] == 0.0
    assert 1.15e308 < summary["huge_both_signs"]["stdev"] < 1.16e308  # sqrt(4/3) x 1e308
    assert summary["int64_overflow"]["median"] == float(2**63)
    assert summary["big_int"]["median"] == 1e30
    refused = trials["beyond_float"]
    assert refused["status"] == "error"
    assert "metric 'value' is an integer of about 401 digits" in refused["error"]
    assert trials["after"]["status"] == "ok"
    # The store holds all six trials and their values, as REAL.
    with sqlite3.connect(launch.db) as db:
        stored = dict(db.execute("SELECT id, status FROM trials").fetchall())
        values = db.execute(
            "SELECT value FROM run_metrics WHERE trial_id = 'odd[odd=int64_overflow]'"
        ).fetchall()
    assert len(stored) == 6 and stored["odd[odd=beyond_float]"] == "error"
    assert values == [(float(2**63),)] * 4
    assert launch.store_state() == "finished"
    # What was stored reads back through the public commands.
    code, err = launch.run("export", "latest", "--db", launch.db, "-o", launch.dir / "e.json")
    assert code == 0, err
    assert json.loads((launch.dir / "e.json").read_text())["experiments"]
