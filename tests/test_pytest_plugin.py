"""Specs as pytest tests: `pytest -p runner.pytest_plugin --runner DIR` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

WORK = Path(__file__).parent / "plugins" / "ci_work.py"
SLEEP = """
name: sleepy
model: thread
params: {workload: sleep, threads: 2, task_seconds: 0.01}
matrix: {tasks: [2, 4]}
repeat: 3
warmup: 0
"""
FAILING = """
name: strict
model: pool
params: {task: noop, tasks: 10, workers: 1}
matrix: {mode: [apply, map]}
repeat: 3
warmup: 0
expect:
  - {metric: wall_s, max: 0.000001}
"""


def pytest_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # Only the plugins named here, whether or not runner's entry points are installed.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["RUNNER_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "runner.pytest_plugin", "-p", "no:cacheprovider",
         "-q", "-rA", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture
def project(runner_cli):
    """A folder with specs, a YAML file that is no spec, and an ordinary test."""
    runner_cli.write("specs/sleepy.yaml", SLEEP)
    runner_cli.write("config.yaml", "database: {host: localhost}\n")
    runner_cli.write("specs/notes.txt", "not a spec\n")
    runner_cli.write("test_plain.py", "def test_plain():\n    assert True\n")
    return runner_cli


def test_each_trial_is_a_test_and_other_yaml_is_left_alone(project):
    res = pytest_run(project.path, "--runner", "specs", "--junitxml", "out.xml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "PASSED specs/sleepy.yaml::sleepy[tasks=2]" in res.stdout
    assert "PASSED specs/sleepy.yaml::sleepy[tasks=4]" in res.stdout
    assert "2 passed" in res.stdout  # `--runner DIR` alone: not test_plain.py, not config.yaml
    cases = ET.parse(project.path / "out.xml").getroot().iter("testcase")
    props = {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}
             for c in cases}  # fmt: skip
    assert set(props) == {"sleepy[tasks=2]", "sleepy[tasks=4]"}
    assert 0.005 < float(props["sleepy[tasks=2]"]["wall_s.median"]) < 1
    assert props["sleepy[tasks=2]"]["wall_s.unit"] == "s"
    # With paths given as well, both are collected; -k picks trials like any test.
    res = pytest_run(project.path, "test_plain.py", "--runner", "specs", "-k", "4] or plain")
    assert res.returncode == 0, res.stdout
    assert "2 passed, 1 deselected" in res.stdout
    # Without --runner the YAML files are nobody's business.
    res = pytest_run(project.path)
    assert res.returncode == 0 and "1 passed" in res.stdout and "sleepy" not in res.stdout


def test_ini_option_collects_specs_without_a_flag(project):
    project.write("pytest.ini", "[pytest]\nrunner_specs = specs\n")
    res = pytest_run(project.path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 passed" in res.stdout and "config.yaml" not in res.stdout
    res = pytest_run(project.path, "test_plain.py")  # explicit paths: only those
    assert "1 passed" in res.stdout


def test_failed_expectations_fail_with_a_readable_message_and_x_stops(project):
    project.write("specs/strict.yaml", FAILING)
    res = pytest_run(project.path, "--runner", "specs/strict.yaml")
    assert res.returncode == 1
    assert "2 failed" in res.stdout
    assert "strict[mode=apply]: failed: wall_s should be at most 1e-06: median" in res.stdout
    assert "Traceback" not in res.stdout and "runner/pytest_plugin.py" not in res.stdout
    res = pytest_run(project.path, "--runner", "specs/strict.yaml", "-x")
    assert "1 failed" in res.stdout and "2 failed" not in res.stdout


def test_regression_against_a_baseline_fails_the_trial(project):
    spec = (f"name: work\nmodel: ci_work\nplugins: [{WORK}]\nrepeat: 20\nwarmup: 1\n"
            "params: {{mode: sleep, seconds: 0.01, extra_work_pct: {extra}}}\n")  # fmt: skip
    base = project.run_spec(spec.format(extra=0))
    assert base.code == 0
    project.write("specs/work.yaml", spec.format(extra=30))
    res = pytest_run(project.path, "--runner", "specs/work.yaml", "--runner-baseline",
                     "results1.json", "--runner-db", "store.db")  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    assert "work: regression against results1.json:" in res.stdout
    assert "    work wall_s: " in res.stdout and "    work ops_per_s: " in res.stdout
    # The session went into the store named, so `runner compare` sees it too.
    compared = project.run("compare", "results1.json", "latest", "--db", "store.db")
    assert compared.code == 1 and "2 regressions" in compared.stdout
    # A threshold above the change passes it.
    res = pytest_run(project.path, "--runner", "specs/work.yaml", "--runner-baseline",
                     "results1.json", "--runner-threshold", "80%")  # fmt: skip
    assert res.returncode == 0, res.stdout


SEEDED = Path(__file__).parent / "plugins" / "seeded.py"


def _seeded(seed: int, shift: float, sd: float) -> str:
    return (f"name: s\nmodel: seeded\nplugins: [{SEEDED}]\nrepeat: 3\nwarmup: 0\n"
            f"params: {{seed: {seed}, shift_pct: {shift}, sd_pct: {sd}}}\n")  # fmt: skip


def test_the_baseline_gate_measures_more_and_fails_what_it_cannot_decide(project):
    """As `runner run --baseline`: 3 runs a side cannot decide, so the trial is measured
    more; a change it still cannot decide fails unless inconclusive is allowed."""
    assert project.run_spec(_seeded(7, 0, 3)).code == 0
    project.write("specs/s.yaml", _seeded(8, 50, 3))
    res = pytest_run(project.path, "--runner", "specs/s.yaml", "--runner-baseline",
                     "results1.json", "--runner-db", "store.db")  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    assert "s: regression against results1.json:" in res.stdout, res.stdout
    assert "    s wall_s: " in res.stdout and "inconclusive" not in res.stdout
    # The re-runs went into the session: 6 runs, not 3.
    stored = project.run("compare", "results1.json", "latest", "--db", "store.db",
                         "--format", "json")  # fmt: skip
    (wall,) = [c for c in json.loads(stored.stdout)["changes"] if c["metric"] == "wall_s"]
    assert (wall["base_n"], wall["new_n"], wall["verdict"]) == (3, 6, "regression"), wall
    # Wide noise and few runs allowed (the draws of tests/test_decision.py's undecided
    # gate): still undecided, a failure unless allowed.
    assert project.run_spec(_seeded(1, 0, 20)).code == 0
    project.write("specs/s.yaml", _seeded(2, 30, 20))
    gate = ["--runner", "specs/s.yaml", "--runner-baseline", "results2.json",
            "--runner-max-repeat", "6"]  # fmt: skip
    res = pytest_run(project.path, *gate)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "s: inconclusive against results2.json (--runner-allow-inconclusive passes it):" in (
        res.stdout
    ), res.stdout
    assert "    note: s: still undecided at --max-repeat 6 runs" in res.stdout
    res = pytest_run(project.path, *gate, "--runner-allow-inconclusive")
    assert res.returncode == 0, res.stdout


def test_bad_spec_is_a_one_line_collection_error(project):
    project.write("specs/broken.yaml", "model: thread\nparams: {threads: many}\n")
    res = pytest_run(project.path, "--runner", "specs")
    assert res.returncode == 2
    assert "ERROR collecting specs/broken.yaml" in res.stdout
    assert "broken.yaml:2:19: params.threads: Expected `int` (got 'many')" in res.stdout
    res = pytest_run(project.path, "--runner", "specs", "--runner-baseline", "missing.json")
    assert res.returncode == 4 and "--runner-baseline: missing.json: no such result file" in (
        res.stderr
    )


def test_xdist_spreads_trials_over_workers(project):
    pytest.importorskip("xdist")
    res = pytest_run(project.path, "-p", "xdist.plugin", "-n", "2", "--runner", "specs", "-v")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 workers [2 items]" in res.stdout and "2 passed" in res.stdout
