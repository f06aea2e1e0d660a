"""The queue model through the CLI: every item accounted for, under every kind of queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import median

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

EXPERIMENTS = Path(__file__).parent.parent / "experiments"
KINDS = ["mp_queue", "mp_simple_queue", "manager_queue", "thread_queue", "gevent_queue"]


def check_every_item(trial: dict, items: int) -> None:
    assert trial["status"] == "ok", trial["error"]
    for run in trial["runs"]:
        m = run["metrics"]
        assert m["lost"] == 0 and m["duplicated"] == 0, (trial["id"], m)
        assert m["items_per_s"] > 0
        assert 0 <= m["latency_p50_us"] <= m["latency_p99_us"]
    # `lost` is the trial's `items` less those got: with the spec's count, 0 means all arrived.
    assert trial["params"]["items"] == items and len(trial["runs"]) == 2


def test_no_item_is_lost_or_duplicated_under_any_kind(runner_cli):
    items = 3001  # not a multiple of the producers: the split must still cover every id
    res = runner_cli.run_spec(
        f"""
        model: queue
        params: {{items: {items}, producers: 2, consumers: 3, item_bytes: 100}}
        matrix: {{kind: {KINDS}}}
        repeat: 2
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    assert [t["params"]["kind"] for t in res.trials] == KINDS
    for trial in res.trials:
        check_every_item(trial, items)
        # queue.Queue, gevent's queue and a manager's queue.Queue answer under one lock:
        # a check can never see fewer items than are known to be in them.
        if trial["params"]["kind"] in ("thread_queue", "gevent_queue", "manager_queue"):
            assert median(trial, "empty_misreports") == 0
        assert median(trial, "checks") == 3001 // 2 // 100 + 3001 // 2 // 100
        for run in trial["runs"]:  # a share of the checks, not a bare count
            m = run["metrics"]
            assert m["empty_misreport_pct"] == pytest.approx(
                100 * m["empty_misreports"] / m["checks"]
            )


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_process_queues_work_with_every_start_method(runner_cli, start_method):
    res = runner_cli.run_spec(
        f"""
        model: queue
        params: {{items: 500, start_method: {start_method}}}
        matrix: {{kind: [mp_queue, mp_simple_queue]}}
        repeat: 2
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    for trial in res.trials:
        check_every_item(trial, 500)


def test_put_nowait_on_a_full_bounded_queue_counts_full_and_loses_nothing(runner_cli):
    res = runner_cli.run_spec(
        """
        model: queue
        params: {items: 2000, producers: 2, consumers: 1, maxsize: 2}
        matrix: {kind: [mp_queue, manager_queue, thread_queue, gevent_queue], put: [nowait, block]}
        repeat: 2
        warmup: 0
        """
    )
    assert res.code == 0, res.stderr
    for trial in res.trials:
        check_every_item(trial, 2000)
        full = trial["summary"]["full_events"]
        if trial["params"]["put"] == "block":
            assert full["max"] == 0
    # Greenlets only switch when one blocks: two producers racing one consumer over a
    # queue of two slots must find it full.
    trials = {(t["params"]["kind"], t["params"]["put"]): t for t in res.trials}
    assert trials["gevent_queue", "nowait"]["summary"]["full_events"]["min"] > 0


def test_simple_queue_refuses_a_bound(runner_cli):
    path = runner_cli.write(
        "bad.yaml", "model: queue\nparams: {kind: mp_simple_queue, maxsize: 3}\n"
    )
    res = runner_cli.run("validate", path)
    assert res.code == 2
    assert "mp_simple_queue has no maxsize" in res.stderr + res.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", ["queue_basics", "queue_models"])
def test_queue_specs_meet_their_expectations(runner_cli, name):
    res = runner_cli.run_spec(EXPERIMENTS / f"{name}.yaml")
    assert res.code == 0, res.stdout + res.stderr
    for trial in res.trials:
        assert trial["status"] == "ok", trial["error"]
        assert median(trial, "lost") == 0 and median(trial, "duplicated") == 0
        assert all(e["ok"] for e in trial["expect"])
