"""The process model through the CLI: argument passing, terminate, daemon, start methods."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import median

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

EXPERIMENTS = Path(__file__).parent.parent / "experiments"


def by(res, key: str) -> dict:
    return {t["params"][key]: t for t in res.trials}


def test_args_and_kwargs_reach_every_child_and_the_sleeps_overlap(runner_cli):
    res = runner_cli.run_spec(
        """
        model: process
        params: {workload: tasks, task: sleep, task_seconds: 0.1, processes: 3}
        matrix: {passing: [args, kwargs]}
        repeat: 1
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    for trial in res.trials:
        assert trial["status"] == "ok", trial["error"]
        assert median(trial, "args_ok") == 1
        assert median(trial, "leftover") == 0
        # Three sleeps of 0.1 s in one child cannot take less than 0.3 s.
        assert median(trial, "serial_s") >= 0.3
        assert median(trial, "wall_s") >= 0.1


def test_terminate_ends_a_running_child_with_sigterm(runner_cli):
    res = runner_cli.run_spec(
        """
        model: process
        params: {workload: terminate, task: sleep, task_seconds: 60, after_s: 0.05}
        matrix: {start_method: [fork, spawn]}
        repeat: 2
        warmup: 0
        timeout: 30
        """
    )
    assert res.code == 0, res.stderr
    for trial in res.trials:
        assert trial["status"] == "ok", trial["error"]
        for run in trial["runs"]:
            assert run["metrics"]["terminated"] == 1
            assert run["metrics"]["exitcode"] == -15
            assert run["metrics"]["leftover"] == 0
            # The run joins the child: had terminate() not ended it, the 60 s sleep would.
            assert run["elapsed_s"] < 30


def test_a_daemonic_child_dies_with_its_parent_a_plain_one_is_awaited(runner_cli):
    res = runner_cli.run_spec(
        """
        model: process
        params: {workload: daemon, task: sleep, task_seconds: 0.2}
        matrix: {daemon: [true, false]}
        repeat: 2
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    trials = by(res, "daemon")
    assert median(trials[True], "side_effect") == 0
    assert median(trials[False], "side_effect") == 1
    # The non-daemonic child's 0.2 s of work happen while its parent waits to exit.
    assert median(trials[False], "parent_exit_ms") > 100
    assert all(median(t, "leftover") == 0 for t in res.trials)


def test_every_start_method_starts_and_reaps_from_either_parent(runner_cli):
    res = runner_cli.run_spec(
        """
        model: process
        params: {workload: start, processes: 3}
        matrix: {start_method: [fork, forkserver, spawn], parent: [fresh, trial]}
        repeat: 1
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    assert len(res.trials) == 6
    for trial in res.trials:
        assert trial["status"] == "ok", trial["error"]
        assert median(trial, "leftover") == 0
        start, join = median(trial, "start_ms"), median(trial, "join_ms")
        assert start > 0 and join > 0
        assert median(trial, "start_join_ms") == pytest.approx(start + join)


def test_bad_params_are_refused_before_running(runner_cli):
    path = runner_cli.write("bad.yaml", "model: process\nparams: {start_method: vfork}\n")
    res = runner_cli.run("validate", path)
    assert res.code == 2
    assert "start_method" in res.stderr + res.stdout


@pytest.mark.slow
def test_process_basics_spec_meets_its_expectations(runner_cli):
    res = runner_cli.run_spec(EXPERIMENTS / "process_basics.yaml")
    assert res.code == 0, res.stdout + res.stderr
    assert all(t["status"] == "ok" for t in res.trials)
    assert all(e["ok"] for t in res.trials for e in t["expect"])
