"""The decision of `runner compare` and the gate, exactly: runs drawn from seeded
distributions with a known shift (tests/plugins/seeded.py), through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

SEEDED = Path(__file__).parent / "plugins" / "seeded.py"


def seeded_spec(seed: int, shift: float = 0, repeat: int = 10, sd: float = 3.0,
                arms: int = 0, extra: str = "") -> str:  # fmt: skip
    matrix = f"matrix: {{arm: {list(range(arms))}}}\n" if arms else ""
    return (
        f"name: s\nmodel: seeded\nplugins: [{SEEDED}]\n"
        f"params: {{seed: {seed}, shift_pct: {shift}, sd_pct: {sd}}}\n{matrix}"
        f"repeat: {repeat}\nwarmup: 0\n{extra}"
    )


def decisions(cli, *sides: str) -> tuple[int, dict]:
    """``runner compare`` of the sides (BASE... NEW, then any options) as JSON."""
    res = cli.run("compare", *sides, "--format", "json")
    return res.code, json.loads(res.stdout)


def wall(report: dict) -> list[dict]:
    return [c for c in report["changes"] if c["metric"] == "wall_s"]


def test_same_against_same_is_unchanged_and_shifts_are_caught(runner_cli):
    """20 arms a session: no false alarm with the same distribution, 25% and 10% caught."""
    assert runner_cli.run_spec(seeded_spec(1, arms=20), "--no-db").code == 0
    sides = {}
    for n, (seed, shift) in enumerate([(2, 0), (3, 25), (4, 10)], start=2):
        res = runner_cli.run_spec(seeded_spec(seed, shift, repeat=5, arms=20), "--no-db")
        assert res.code == 0, res.stderr
        sides[shift] = f"results{n}.json"
    code, same = decisions(runner_cli, "results1.json", sides[0])
    assert code == 0 and {c["verdict"] for c in wall(same)} == {"unchanged"}, same
    for shift in (25, 10):
        code, report = decisions(runner_cli, "results1.json", sides[shift])
        caught = [c for c in wall(report) if c["verdict"] == "regression"]
        assert code == 1 and len(caught) >= (20 if shift == 25 else 18), wall(report)
        assert all(c["p_value"] < 0.05 and c["base_n"] == 10 and c["new_n"] == 5 for c in caught)
        # The interval of each median brackets it, and the other metrics hold still: the
        # constant count, and the near-zero one within its floor.
        c = caught[0]
        assert c["base_ci"][0] <= c["base_median"] <= c["base_ci"][1]
        others = {x["verdict"] for x in report["changes"] if x["metric"] != "wall_s"}
        assert others == {"unchanged"}, report


def test_too_few_runs_are_inconclusive_not_unchanged(runner_cli):
    assert runner_cli.run_spec(seeded_spec(1, repeat=3), "--no-db").code == 0
    assert runner_cli.run_spec(seeded_spec(2, shift=50, repeat=3), "--no-db").code == 0
    code, report = decisions(runner_cli, "results1.json", "results2.json")
    (change,) = wall(report)
    assert code == 1 and change["verdict"] == "inconclusive", change
    assert change["reason"] == (
        "3 vs 3 runs cannot be significant at alpha 0.05; 5 runs on the new side can"
    )
    assert report["inconclusive"] == 1 and report["too_few_runs"] == ["s"]
    code, _ = decisions(runner_cli, "results1.json", "results2.json", "--allow-inconclusive")
    assert code == 0
    table = runner_cli.run("compare", "results1.json", "results2.json")
    assert "inconclusive: s wall_s: 3 vs 3 runs cannot be significant" in table.stdout
    assert "0 regressions, 0 improvements, 2 unchanged, 1 inconclusive" in table.stdout
    md = runner_cli.run("compare", "results1.json", "results2.json", "--format", "markdown")
    assert md.stdout.startswith("## :warning: runner compare")
    assert (
        "| s | wall_s (lower is better) | 1.0" in md.stdout
        and "| 3/3 | **inconclusive** |" in md.stdout
    )


def test_validate_warns_when_repeat_can_never_be_significant(runner_cli):
    spec = runner_cli.write("few.yaml", seeded_spec(1, repeat=3))
    res = runner_cli.run("validate", spec)
    assert res.code == 0, res.stderr
    assert "warning: repeat: 3 can never be significant at alpha 0.05" in res.stderr
    assert "4 runs a side at least" in res.stderr
    enough = runner_cli.write("enough.yaml", seeded_spec(1, repeat=4))
    res = runner_cli.run("validate", enough)
    assert res.code == 0 and "warning" not in res.stderr


def test_spreads_are_intervals_of_the_median_and_unstable_is_marked(runner_cli):
    res = runner_cli.run_spec(seeded_spec(1, repeat=20, sd=2), "--no-db")
    assert res.code == 0, res.stderr
    summary = res.trials[0]["summary"]
    wall_s, near, count = summary["wall_s"], summary["near_zero"], summary["count"]
    assert wall_s["ci_low"] < wall_s["median"] < wall_s["ci_high"] and not wall_s["unstable"]
    assert wall_s["ci_level"] >= 0.95 and count["ci_low"] == count["ci_high"] == 50
    row = next(ln for ln in res.stdout.splitlines() if ln.startswith("| s "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    rel = 100 * max(wall_s["ci_high"] - wall_s["median"], wall_s["median"] - wall_s["ci_low"])
    assert cells[2] == f"{wall_s['median']:.4g} ±{rel / wall_s['median']:.1f}%", cells
    # Reaching further than half the median from it, a percentage reads badly: the
    # interval itself (and the median is not known to 10%: unstable).
    low, high = (f"{near[k]:.3g}" for k in ("ci_low", "ci_high"))
    assert cells[3] == f"{near['median']:.4g} [{low}, {high}]!", cells
    assert cells[4] == "50", cells  # a count that never varied: no spread
    wide = runner_cli.run_spec(seeded_spec(2, repeat=6, sd=30), "--no-db")
    assert wide.trials[0]["summary"]["wall_s"]["unstable"] is True
    row = next(ln for ln in wide.stdout.splitlines() if ln.startswith("| s "))
    assert row.split("|")[3].strip().endswith("]!")
    # Without a terminal, stdout holds only tables: the hint is on stderr, on one line.
    hint = "! unstable: median known to no better than ±10% (95%); try more repeats, a "
    assert hint + "quieter machine, --affinity" in wide.stderr.splitlines(), wide.stderr
    assert "unstable" not in wide.stdout


def test_the_gate_measures_more_until_it_decides(runner_cli):
    """3 runs a side can never be significant: the gate re-runs the trial and decides."""
    assert runner_cli.run_spec(seeded_spec(1, repeat=3)).code == 0
    res = runner_cli.run_spec(seeded_spec(2, shift=50, repeat=3), "--baseline", "latest",
                              "--fail-on-regression", "--summary", "gate.md")  # fmt: skip
    assert res.code == 1, res.stderr
    assert "gate: s undecided with 3 runs: measuring 3 more" in res.stderr, res.stderr
    assert "REGRESSION s wall_s: " in res.stderr and "gate: 1 regression" in res.stderr
    (trial,) = res.trials
    assert len(trial["runs"]) == 6 and [r["index"] for r in trial["runs"]] == list(range(6))
    assert trial["summary"]["wall_s"]["n"] == 6
    # The store holds the merged trial too, and the Markdown summary the decision.
    stored = runner_cli.run("compare", "previous", "latest", "--format", "json")
    (change,) = wall(json.loads(stored.stdout))
    assert change["verdict"] == "regression" and (change["base_n"], change["new_n"]) == (3, 6)
    summary = (runner_cli.path / "gate.md").read_text()
    assert summary.startswith("## :x: runner compare") and "| 3/6 | **regression** |" in summary


def test_an_undecided_gate_fails_unless_inconclusive_is_allowed(runner_cli):
    assert runner_cli.run_spec(seeded_spec(1, repeat=3, sd=20)).code == 0
    new = seeded_spec(2, shift=30, repeat=3, sd=20)
    res = runner_cli.run_spec(new, "--baseline", "latest", "--fail-on-regression",
                              "--max-repeat", "6")  # fmt: skip
    assert res.code == 1, res.stderr
    assert "INCONCLUSIVE s wall_s" in res.stderr, res.stderr
    assert "note: s: still undecided at --max-repeat 6 runs" in res.stderr
    assert len(res.trials[0]["runs"]) == 6
    allowed = runner_cli.run_spec(new, "--baseline", "results1.json", "--fail-on-regression",
                                  "--max-repeat", "6", "--allow-inconclusive")  # fmt: skip
    assert allowed.code == 0, allowed.stderr


def test_a_pooled_baseline_widens_the_threshold_to_its_drift(runner_cli):
    """Three baseline sessions that drifted (0, +8%, -5%): a +6% session is a regression
    against the first alone, unchanged against the three pooled; +30% is caught by both."""
    for seed, shift in [(11, 0), (12, 8), (13, -5), (14, 6), (15, 30)]:
        assert runner_cli.run_spec(seeded_spec(seed, shift, sd=2), "--no-db").code == 0
    pooled = ["results1.json", "results2.json", "results3.json"]
    code, alone = decisions(runner_cli, "results1.json", "results4.json")
    assert code == 1 and wall(alone)[0]["verdict"] == "regression", wall(alone)
    code, report = decisions(runner_cli, *pooled, "results4.json")
    (change,) = wall(report)
    assert code == 0 and change["verdict"] == "unchanged", change
    assert change["base_n"] == 30 and 11 < change["drift_pct"] < 16, change
    assert "widened to the baseline sessions' drift" in change["reason"]
    assert report["base"]["label"].startswith("3 sessions pooled: results1.json")
    code, report = decisions(runner_cli, *pooled, "results5.json")
    assert code == 1 and wall(report)[0]["verdict"] == "regression", wall(report)
    # The gate pools the same way: --baseline repeated.
    gate = runner_cli.run_spec(seeded_spec(16, 6, sd=2), "--no-db", "--fail-on-regression",
                               *(a for p in pooled for a in ("--baseline", p)))  # fmt: skip
    assert gate.code == 0, gate.stderr
    assert "against baseline 3 sessions pooled" in gate.stderr, gate.stderr


def test_other_work_during_the_session_is_measured_and_said(runner_cli):
    """A busy loop on every CPU: the session finds at least half of the machine's CPU time
    taken by other work (all of it, less what the session's own processes got), and says
    so."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(os.cpu_count() or 1)]  # fmt: skip
    try:
        runner_cli.env["RUNNER_BUSY_LOAD"] = "1000"  # the load warning off, the other one on
        res = runner_cli.run_spec(seeded_spec(1, repeat=20), "--no-db")
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()
    assert res.code == 0, res.stderr
    assert res.results["environment"]["other_work_pct"] >= 50, res.results["environment"]
    assert "warning: other work took " in res.stderr, res.stderr
    assert "of the machine's CPUs during this session" in res.stderr
    # A comparison with that session as its baseline says so.
    assert runner_cli.run_spec(seeded_spec(2, repeat=20), "--no-db").code == 0
    compared = runner_cli.run("compare", "results1.json", "results2.json")
    assert "of the machine's CPUs during the baseline session: a change may be the machine's" in (
        compared.stdout
    ), compared.stdout


def test_interleave_runs_the_repeats_in_rounds(runner_cli):
    spec = seeded_spec(1, repeat=3, arms=2).replace("warmup: 0", "warmup: 1")
    res = runner_cli.run_spec(spec, "--interleave")
    assert res.code == 0, res.stderr
    a, b = res.trials
    for trial in (a, b):
        assert [r["index"] for r in trial["runs"]] == [0, 1, 2]
        assert trial["summary"]["wall_s"]["n"] == 3 and trial["warmup_runs"] == 1
    clocks = [t["runs"][i]["metrics"]["clock"] for i in range(3) for t in (a, b)]
    assert clocks == sorted(clocks), clocks  # A1 B1 A2 B2 A3 B3
    # The store holds the merged trials, as the result file does.
    stored = runner_cli.run("compare", "latest", "results1.json", "--format", "json")
    assert {(c["base_n"], c["new_n"]) for c in json.loads(stored.stdout)["changes"]} == {(3, 3)}


def test_the_machine_state_is_recorded_and_a_busy_machine_said_once(runner_cli):
    runner_cli.env["RUNNER_BUSY_LOAD"] = "0"  # any load is too much: the warning shows
    res = runner_cli.run_spec(seeded_spec(1, repeat=1), "--no-db")
    assert res.code == 0, res.stderr
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: the machine")]
    assert len(warnings) == 1, res.stderr
    assert "close other work, or pin trials with --affinity" in warnings[0]
    env = res.results["environment"]
    for key in ("state_start", "state_end"):
        state = env[key]
        assert len(state["load"]) == 3 and state["runnable"] >= 0
        assert set(state) == {"load", "runnable", "governor", "cpu_mhz", "busy_cpu_s",
                              "own_cpu_s", "clock_s"}  # fmt: skip
    assert 0 <= env["other_work_pct"] <= 100
    quiet = runner_cli.run_spec(seeded_spec(1, repeat=1), "--no-db", "-q")
    assert "warning" not in quiet.stderr
