"""`runner compare` and the `run --baseline` gate: real runs, real statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

WORK = Path(__file__).parent / "plugins" / "ci_work.py"


def work_spec(extra: float = 0, repeat: int = 20, extra_yaml: str = "", **params: object) -> str:
    """A `ci_work` sleep experiment: steady enough to see 30% on a busy machine."""
    fixed = {"mode": "sleep", "seconds": 0.01, "extra_work_pct": extra, **params}
    return (
        f"name: work\nmodel: ci_work\nplugins: [{WORK}]\nparams: {json.dumps(fixed)}\n"
        f"repeat: {repeat}\nwarmup: 1\n{extra_yaml}"
    )


def verdicts(report: dict, trial: str | None = None) -> dict[str, str]:
    return {c["metric"]: c["verdict"] for c in report["changes"]
            if trial is None or c["trial"] == trial}  # fmt: skip


def test_thirty_percent_more_work_is_a_regression(runner_cli):
    assert runner_cli.run_spec(work_spec(0)).code == 0
    # The gate without --fail-on-regression lists the regressions but does not fail.
    new = runner_cli.run_spec(work_spec(30), "--baseline", "results1.json", "-q")
    assert new.code == 0, new.stderr
    assert "REGRESSION work wall_s: " in new.stderr and "gate: 2 regressions" in new.stderr
    res = runner_cli.run("compare", "results1.json", "results2.json", "--format", "json")
    assert res.code == 1, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert verdicts(report) == {"wall_s": "regression", "ops_per_s": "regression"}, report
    wall = next(c for c in report["changes"] if c["metric"] == "wall_s")
    # How far the machine moved the figure is for bench/gate_quality.py to measure; here,
    # that the change is beyond the threshold and significant.
    assert wall["change_pct"] > 5 and wall["p_value"] < 0.05
    assert report["test"].startswith("Mann-Whitney U")
    # The other way round it is an improvement, and nothing fails.
    back = runner_cli.run("compare", "results2.json", "results1.json", "--format", "json")
    assert back.code == 0
    assert verdicts(json.loads(back.stdout)) == {
        "wall_s": "improvement",
        "ops_per_s": "improvement",
    }
    # A threshold wider than the change makes it noise; the store has the same two sessions.
    wide = runner_cli.run("compare", "previous", "latest", "--threshold", "60%")
    assert wide.code == 0 and "0 regressions, 0 improvements, 2 unchanged" in wide.stdout
    md = runner_cli.run("compare", "previous", "latest", "--format", "markdown", "-o", "sum.md")
    assert md.code == 1 and md.stdout == ""
    summary = (runner_cli.path / "sum.md").read_text()
    assert summary.startswith("## :x: runner compare\n\n**session ")
    assert "| trial | metric | base median | new median | change | threshold |" in summary
    assert "| work | wall_s (lower is better) |" in summary and "**regression**" in summary
    assert "Mann-Whitney U" in summary


def test_the_gate_lists_failed_expectations_and_regressions_at_the_end(runner_cli):
    assert runner_cli.run_spec(work_spec(0)).code == 0
    # `regress:` widens the threshold of wall_s only; ops_per_s keeps the default 5%.
    slower = work_spec(30, extra_yaml="regress: {wall_s: 60%}\n"
                                      "expect:\n  - {metric: wall_s, max: 0.005}\n")  # fmt: skip
    res = runner_cli.run_spec(slower, "--baseline", "latest", "--fail-on-regression")
    assert res.code == 1
    lines = res.stderr.strip().splitlines()
    label = next(ln for ln in lines if ln.startswith("against baseline session "))
    tail = lines[lines.index(label) :]
    assert tail[1].startswith("  FAILED work: wall_s should be at most 0.005"), res.stderr
    assert tail[2].startswith("  REGRESSION work ops_per_s: "), res.stderr
    assert tail[3].startswith("gate: 1 failed trial, 1 regression, 0 improvements, 1 unchanged")
    assert len(tail) == 4, res.stderr
    # The job summary says why the trial failed, not only that it did.
    md = runner_cli.run("compare", "results1.json", "results2.json", "--format", "markdown")
    assert "### Trials not ok" in md.stdout
    assert "- **work** failed: wall_s should be at most 0.005" in md.stdout
    assert res.results["experiments"][0]["metrics"]["wall_s"]["regress"] == 60.0
    # A regression alone fails the run with --fail-on-regression.
    gated = runner_cli.run_spec(work_spec(30), "--baseline", "results1.json",
                                "--fail-on-regression")  # fmt: skip
    assert gated.code == 1, gated.stderr
    assert "REGRESSION work wall_s" in gated.stderr and "FAILED" not in gated.stderr


COUNTER = """
name: counter
model: thread
params: {{workload: counter, threads: 2, increments: 2000, update: sleep0, lock: {lock}}}
repeat: 5
warmup: 0
"""

POOL = """
name: pool
model: pool
params: {{task: sleep, task_seconds: 0.02, tasks: 6, mode: apply_async, workers: {workers}}}
repeat: 5
warmup: 0
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec", "good", "bad", "metric"),
    [
        (COUNTER, {"lock": "per_increment"}, {"lock": "none"}, "lost_updates"),
        (POOL, {"workers": 3}, {"workers": 1}, "tasks_per_s"),
    ],
)
def test_direction_of_each_metric_is_honoured(runner_cli, spec, good, bad, metric):
    assert runner_cli.run_spec(spec.format(**good)).code == 0
    assert runner_cli.run_spec(spec.format(**bad)).code == 0
    worse = runner_cli.run("compare", "results1.json", "results2.json", "--format", "json")
    better = runner_cli.run("compare", "results2.json", "results1.json", "--format", "json")
    assert verdicts(json.loads(worse.stdout))[metric] == "regression"
    assert verdicts(json.loads(better.stdout))[metric] == "improvement"
    assert worse.code == 1  # the other metrics may move either way (a lock costs time)
    if metric == "lost_updates":  # from none lost to some: an infinite change, still judged
        change = next(c for c in json.loads(worse.stdout)["changes"] if c["metric"] == metric)
        assert change["base_median"] == 0 and change["change_pct"] is None
        assert change["change"] == "+inf%"
        # `expected` and `final` have no direction: reported, never judged.
        assert {"expected", "final"}.isdisjoint(verdicts(json.loads(worse.stdout)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": "something.else"}', "not a runner result file"),
        ("{not json", "not valid JSON"),
        ('{"schema": "runner.results", "schema_version": 99}', "newer than this runner reads"),
    ],
)
def test_bad_result_files_are_one_line_errors(runner_cli, content, message):
    runner_cli.write("bad.json", content)
    runner_cli.write("empty.json", '{"schema": "runner.results", "schema_version": 1, '
                                   '"experiments": []}')  # fmt: skip
    res = runner_cli.run("compare", "bad.json", "empty.json")
    assert res.code == 2
    assert res.stderr.startswith("runner: error: bad.json") and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_unknown_sides_are_one_line_errors(runner_cli):
    res = runner_cli.run("compare", "nope", "latest")
    assert res.code == 2 and "no results store" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    runner_cli.run_spec(work_spec(0, repeat=1))
    res = runner_cli.run("compare", "previous", "latest")
    assert res.code == 2 and "no previous session: the store holds 1" in res.stderr
    res = runner_cli.run("run", "spec1.yaml", "--fail-on-regression")
    assert res.code == 2 and "--fail-on-regression needs --baseline" in res.stderr
    res = runner_cli.run("compare", "latest", "latest", "--threshold", "lots")
    assert res.code == 2 and "not a percentage" in res.stderr


@pytest.mark.parametrize(
    ("regress", "message"),
    [
        ("{wall_s: lots}", "regress.wall_s: 'lots' is not a percentage"),
        ("{wall_z: 5%}", "has no metric 'wall_z' with a direction; did you mean 'wall_s'?"),
        ("{checksum: 5%}", "has no metric 'checksum' with a direction"),
        ("{wall_s: -5}", "a threshold is a percentage of 0 or more"),
    ],
)
def test_regress_key_is_validated_with_file_and_line(runner_cli, regress, message):
    spec = runner_cli.write("bad.yaml", work_spec(extra_yaml=f"regress: {regress}\n"))
    res = runner_cli.run("validate", spec)
    assert res.code == 2
    assert res.stderr.startswith(f"{spec}:7:"), res.stderr
    assert message in res.stderr
