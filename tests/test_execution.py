"""Trials that raise, exit, die by a signal or hang: reported, and the session goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Runs real sessions: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

PLUGIN = Path(__file__).parent / "plugins" / "misbehave.py"


def spec(actions: list[str], timeout: float = 30, extra: str = "", **params: object) -> str:
    fixed = ", ".join(f"{k}: {json.dumps(v)}" for k, v in params.items())
    return (
        f"model: misbehave\nplugins: [{PLUGIN}]\nrepeat: 2\nwarmup: 0\ntimeout: {timeout}\n"
        f"params: {{{fixed}}}\nmatrix: {{action: {json.dumps(actions)}}}\n{extra}"
    )


def statuses(res) -> dict[str, str]:
    return {t["params"]["action"]: t["status"] for t in res.trials}


def test_failures_are_reported_and_the_session_continues(runner_cli):
    res = runner_cli.run_spec(spec([*["raise", "ok", "exit", "signal", "ok"][:4], "print"]))
    assert res.code == 1, res.stderr
    by = {t["params"]["action"]: t for t in res.trials}
    assert statuses(res) == {
        "raise": "error", "ok": "ok", "exit": "crashed", "signal": "crashed", "print": "ok"
    }  # fmt: skip
    assert "ValueError: the plugin raised on purpose" in by["raise"]["error"]
    assert "Traceback" in by["raise"]["stderr_tail"]
    assert "exited with code 3" in by["exit"]["error"]
    assert "about to exit with 3" in by["exit"]["stderr_tail"]
    assert "SIGSEGV" in by["signal"]["error"]
    # Plugin prints go to the trial's stderr tail, never into the worker's channel.
    assert "hello from the plugin" in by["print"]["stderr_tail"]
    assert len(by["ok"]["runs"]) == 2


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("undeclared", "undeclared metric 'bogus'"),
        ("string", "metric 'value' is str"),
        ("nan", "not a finite number"),
    ],
)
def test_bad_metrics_name_the_model_and_metric(runner_cli, action, message):
    res = runner_cli.run_spec(spec([action]))
    assert res.code == 1
    trial = res.trials[0]
    assert trial["status"] == "error"
    assert "model 'misbehave'" in trial["error"] and message in trial["error"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose; it is its parent's to reap.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_hanging_run_is_killed_at_its_timeout_with_its_children(runner_cli, tmp_path):
    pidfile = tmp_path / "pids"
    start = time.monotonic()
    res = runner_cli.run_spec(spec(["orphan", "ok"], timeout=1.5, pidfile=str(pidfile)))
    elapsed = time.monotonic() - start
    assert statuses(res) == {"orphan": "timeout", "ok": "ok"}
    assert "run 1 did not finish within the timeout of 1.5 s" in res.trials[0]["error"]
    assert elapsed < 30
    grandchild, child = map(int, pidfile.read_text().split())
    deadline = time.monotonic() + 5
    while (_alive(grandchild) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild) and not _alive(child)


def test_sigint_saves_finished_trials_and_exits_130(runner_cli, tmp_path):
    path = runner_cli.write("slow.yaml", spec(["ok", "hang", "ok"], timeout=60, seconds=0.05))
    out = tmp_path / "partial.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", str(path), "-o", str(out)],
        cwd=tmp_path, env=runner_cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    # Without a TTY the reporter prints one line per finished trial: wait for the first.
    line = proc.stderr.readline()
    assert "[1/3]" in line, line
    time.sleep(0.5)  # the hanging trial is now running
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    data = json.loads(out.read_text())
    assert data["interrupted"] is True
    trials = [t for e in data["experiments"] for t in e["trials"]]
    assert [t["status"] for t in trials] == ["ok"]
    assert "interrupted after 1 of 3 trials" in err


def test_setup_and_runs_see_the_same_trial_process(runner_cli):
    res = runner_cli.run_spec(spec(["ok"]))
    pids = {r["metrics"]["pid"] for r in res.trials[0]["runs"]}
    assert len(pids) == 1 and os.getpid() not in pids
