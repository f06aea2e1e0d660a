"""Trials are isolated: gevent's patching never reaches the next trial, no process outlives one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import median, tagged

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

TASKS, SECONDS = 5, 0.1
SLEEP = f"workload: sleep, tasks: {TASKS}, task_seconds: {SECONDS}"


def entry(name: str, model: str, params: str) -> str:
    return (
        f"  - name: {name}\n    model: {model}\n    params: {{{params}}}\n"
        "    repeat: 2\n    warmup: 0\n"
    )


BEFORE = entry("threads_before", "coroutine", f"{SLEEP}, impl: threads") + entry(
    "unpatched_before", "coroutine", f"{SLEEP}, impl: gevent_unpatched"
)
PATCHED = entry("patched_sleep", "coroutine", f"{SLEEP}, impl: gevent") + entry(
    "patched_switch", "coroutine", "workload: switch, impl: gevent, switches: 1000"
)
AFTER = (
    entry("unpatched_after", "coroutine", f"{SLEEP}, impl: gevent_unpatched")
    + entry("threads_after", "coroutine", f"{SLEEP}, impl: threads")
    + entry("thread_queue_after", "queue", "kind: thread_queue, items: 2000, consumers: 2")
)


def session(runner_cli, *parts: str) -> dict[str, dict]:
    res = runner_cli.run_spec("experiments:\n" + "".join(parts))
    assert res.code == 0, res.stdout + res.stderr
    return {t["experiment"]: t for t in res.trials}


def test_patched_trials_leave_the_trials_after_them_as_without(runner_cli):
    alone = session(runner_cli, BEFORE, AFTER)
    mixed = session(runner_cli, BEFORE, PATCHED, AFTER)
    assert median(mixed["patched_sleep"], "patched") == 1
    assert median(mixed["patched_switch"], "patched") == 1
    for name, trial in alone.items():
        other = mixed[name]
        assert trial["status"] == other["status"] == "ok", (name, other["error"])
        if trial["model"] != "coroutine":
            assert median(other, "lost") == median(trial, "lost") == 0
            assert median(other, "duplicated") == median(trial, "duplicated") == 0
            continue
        # Every run, not just the median: a leak into any run would show here.
        assert [r["metrics"]["patched"] for r in other["runs"]] == [0, 0], name
        assert median(other, "unfinished") == median(trial, "unfinished") == 0
    # A leaked patch would make these sleeps cooperative: about 0.1 s, not the 0.5 s that
    # five blocking sleeps in a row cannot beat.
    for name in ("unpatched_before", "unpatched_after"):
        for res in (alone, mixed):
            assert all(r["metrics"]["wall_s"] >= TASKS * SECONDS for r in res[name]["runs"])


def _marked(marker: str) -> list[str]:
    """Command lines of the live processes whose environment carries ``marker``."""
    return list(tagged(marker).values())


def test_no_process_outlives_its_trial_even_a_timed_out_one(runner_cli):
    marker = uuid.uuid4().hex
    runner_cli.env["RUNNER_LEAK_MARKER"] = marker
    res = runner_cli.run_spec(
        """
        experiments:
          - name: long_tasks
            model: process
            params: {workload: tasks, task: sleep, task_seconds: 60, processes: 2}
            repeat: 1
            warmup: 0
            timeout: 1.5
          - name: awaited_grandchild
            model: process
            params: {workload: daemon, daemon: false, task: sleep, task_seconds: 60}
            repeat: 1
            warmup: 0
            timeout: 1.5
          - name: forkserver
            model: process
            params: {workload: start, start_method: forkserver, parent: trial, processes: 2}
            repeat: 1
            warmup: 0
          - name: manager
            model: queue
            params: {kind: manager_queue, items: 200}
            repeat: 1
            warmup: 0
          - name: endless_queue
            model: queue
            params: {kind: mp_queue, items: 10000000, producers: 2, consumers: 2}
            repeat: 1
            warmup: 0
            timeout: 1.5
          - name: patched_sleepers
            model: coroutine
            params: {workload: sleep, impl: gevent, tasks: 3, task_seconds: 60}
            repeat: 1
            warmup: 0
            timeout: 1.5
        """
    )
    statuses = {t["experiment"]: t["status"] for t in res.trials}
    assert statuses == {
        "long_tasks": "timeout", "awaited_grandchild": "timeout", "forkserver": "ok",
        "manager": "ok", "endless_queue": "timeout", "patched_sleepers": "timeout",
    }, res.stderr  # fmt: skip
    # Killed processes vanish within moments; allow for the kernel and init to reap them.
    deadline = time.monotonic() + 10
    while (left := _marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], left


def test_the_leak_scan_finds_a_marked_process():
    # The scan above passes when it finds nothing: prove it would find a process.
    marker = uuid.uuid4().hex
    env = {**os.environ, "RUNNER_LEAK_MARKER": marker}
    # Popen returns once exec has begun, which is before the kernel sets up the new
    # program's arguments and environment in /proc: the child says when it is running.
    code = "import sys; print('up', flush=True); sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        assert any("sys.stdin.read()" in cmd for cmd in _marked(marker))
        assert _marked(uuid.uuid4().hex) == []
    finally:
        proc.communicate(timeout=10)
    assert _marked(marker) == []


def test_the_harness_is_no_work_for_the_trials_garbage_collector(runner_cli):
    # The harness's plugins and validators are frozen before the trial begins, in a
    # forked child and in a fresh interpreter alike: a trial's full collections scan only
    # what the trial made (and, forked, copy none of the worker's pages).
    probe = Path(__file__).parent / "plugins" / "gc_probe.py"
    res = runner_cli.run_spec(
        f"name: gc\nmodel: gc_probe\nplugins: [{probe}]\nmatrix: {{fresh: [false, true]}}\n"
        "repeat: 2\nwarmup: 0\n",
        "--no-db",
    )
    assert res.code == 0, res.stdout + res.stderr
    assert len(res.trials) == 2
    for trial in res.trials:
        frozen, tracked = median(trial, "frozen"), median(trial, "tracked")
        assert frozen > 10_000, (trial["params"], frozen)  # runner, pluggy and the models at least
        assert tracked < frozen / 4, (trial["params"], tracked, frozen)
