"""The coroutine model through the CLI: switches, monkey patching, spawning."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import median

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

EXPERIMENTS = Path(__file__).parent.parent / "experiments"


def by_impl(res) -> dict:
    return {t["params"]["impl"]: t for t in res.trials}


def test_unpatched_gevent_sleeps_in_turn_patched_gevent_overlaps(runner_cli):
    tasks, seconds = 5, 0.1
    res = runner_cli.run_spec(
        f"""
        model: coroutine
        params: {{workload: sleep, tasks: {tasks}, task_seconds: {seconds}}}
        matrix: {{impl: [gevent_unpatched, gevent, asyncio, threads]}}
        repeat: 2
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    trials = by_impl(res)
    for impl, trial in trials.items():
        assert trial["status"] == "ok", trial["error"]
        assert median(trial, "unfinished") == 0
        assert median(trial, "patched") == (1 if impl == "gevent" else 0), impl
    # Without patching each time.sleep blocks the only thread: five sleeps in a row.
    unpatched = median(trials["gevent_unpatched"], "wall_s")
    assert unpatched >= tasks * seconds
    # Patched, they overlap; the gap is the point of the demo, measured in the same session.
    assert unpatched / median(trials["gevent"], "wall_s") > tasks / 2


@pytest.mark.parametrize("impl", ["greenlet", "gevent_unpatched", "gevent", "asyncio", "threads"])
def test_switch_counts_every_handoff(runner_cli, impl):
    res = runner_cli.run_spec(
        f"""
        model: coroutine
        params: {{workload: switch, impl: {impl}, switches: 2000}}
        repeat: 2
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    trial = res.trials[0]
    assert trial["status"] == "ok", trial["error"]
    assert median(trial, "switches_per_s") > 0
    assert median(trial, "patched") == (1 if impl == "gevent" else 0)


def test_spawn_runs_every_task_under_every_impl(runner_cli):
    res = runner_cli.run_spec(
        """
        model: coroutine
        params: {workload: spawn, tasks: 300}
        matrix: {impl: [greenlet, gevent_unpatched, gevent, asyncio, threads]}
        repeat: 1
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    for trial in res.trials:
        assert trial["status"] == "ok", trial["error"]
        assert median(trial, "unfinished") == 0
        assert median(trial, "spawn_us") > 0


def test_raw_greenlets_cannot_sleep(runner_cli):
    path = runner_cli.write(
        "bad.yaml", "model: coroutine\nparams: {workload: sleep, impl: greenlet}\n"
    )
    res = runner_cli.run("validate", path)
    assert res.code == 2
    assert "no hub to sleep on" in res.stderr + res.stdout


def test_all_coroutine_and_process_specs_are_valid(runner_cli):
    names = [
        "process_basics", "process_start_methods", "queue_basics", "queue_models",
        "greenlet_switch", "gevent_monkey", "coroutines_vs_threads",
    ]  # fmt: skip
    res = runner_cli.run("validate", *(EXPERIMENTS / f"{n}.yaml" for n in names))
    assert res.code == 0, res.stdout + res.stderr


@pytest.mark.slow
def test_gevent_monkey_spec_meets_its_expectations(runner_cli):
    res = runner_cli.run_spec(EXPERIMENTS / "gevent_monkey.yaml")
    assert res.code == 0, res.stdout + res.stderr
    assert all(e["ok"] for t in res.trials for e in t["expect"])
