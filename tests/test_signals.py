"""Signals to `runner run`: the running trial and all it started die, what finished is saved.

Each case runs a real `runner run` in its own process group: a quick trial that finishes,
then one whose run starts two children and blocks.  Once every child is up (they write
their pids), the signal goes; then /proc is scanned for any process of the run (they
carry an environment tag), and the JSON file and the store are read back.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

SPEC = """
experiments:
  - name: quick
    model: hostile
    plugins: [HOSTILE]
    repeat: 1
    warmup: 0
  - name: stuck
    model: hostile
    plugins: [HOSTILE]
    params: {action: children, pidfile: PIDFILE, hold: HOLD}
    repeat: 1
    warmup: 0
    timeout: 600
  - name: never_started
    model: hostile
    plugins: [HOSTILE]
    repeat: 1
    warmup: 0
"""

CASES = {
    # name: (how the signal is sent, exit code)
    "ctrl_c": (lambda pid: os.killpg(pid, signal.SIGINT), 130),
    "sigint_pid_only": (lambda pid: os.kill(pid, signal.SIGINT), 130),
    "sigterm": (lambda pid: os.kill(pid, signal.SIGTERM), 143),
    "sigterm_group": (lambda pid: os.killpg(pid, signal.SIGTERM), 143),
    "sighup": (lambda pid: os.killpg(pid, signal.SIGHUP), 129),
    "held_ctrl_c": (lambda pid: _twice(pid, signal.SIGINT), 130),
}


def _twice(pid: int, sig: int) -> None:
    os.killpg(pid, sig)
    time.sleep(0.02)  # the case itself: a held key repeats about every 20 ms
    os.killpg(pid, sig)


def start_stuck(launch) -> tuple[int, list[int]]:
    """Start the run and return its pid and the stuck trial's children, once all are up."""
    from hostile import pids

    pidfile, hold = launch.dir / "pids", launch.dir / "hold"
    hold.touch()
    spec = launch.spec(SPEC.replace("PIDFILE", str(pidfile)).replace("HOLD", str(hold)))
    proc = launch.start("run", spec, "-o", launch.out, "--db", launch.db, "-q")
    children = wait_for(lambda: len(pids(pidfile)) >= 3 and pids(pidfile), what="the trial")
    return proc.pid, children


@pytest.fixture(autouse=True)
def _plugins_importable(monkeypatch):
    from conftest import PLUGINS

    monkeypatch.syspath_prepend(str(PLUGINS))


from conftest import wait_for  # noqa: E402

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", CASES)
def test_a_signal_stops_the_session_kills_the_trial_and_saves_what_finished(launch, case):
    send, expected = CASES[case]
    pid, children = start_stuck(launch)
    started = time.monotonic()
    send(pid)
    code, err = launch.finish(seconds=10)
    assert time.monotonic() - started < 10
    assert code == expected, err
    assert "Traceback" not in err, err
    assert launch.leftovers() == {}
    for child in children:
        assert not os.path.exists(f"/proc/{child}") or _zombie(child), child
    results = launch.results()
    assert results["interrupted"] is True
    trials = [t["id"] for e in results["experiments"] for t in e["trials"]]
    assert trials == ["quick"]
    assert launch.store_state() == "interrupted"
    assert launch.temp_files() == []


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def test_kill_9_of_the_runner_takes_the_worker_and_trial_along_and_resume_completes(launch):
    pid, _ = start_stuck(launch)
    os.killpg(pid, signal.SIGKILL)
    code, err = launch.finish(seconds=10)
    assert code == -signal.SIGKILL
    assert "Traceback" not in err, err  # from the worker, which shares the runner's stderr
    assert launch.leftovers() == {}
    assert launch.temp_files() == []
    assert launch.store_state() == "incomplete"
    (launch.dir / "hold").unlink()  # the stuck trial goes through this time
    code, err = launch.run("run", launch.dir / "spec.yaml", "-o", launch.out, "--db", launch.db,
                           "-q", "--resume", "latest")  # fmt: skip
    assert code == 0, err
    assert "Traceback" not in err, err
    assert launch.store_state() == "finished"
    statuses = {t["id"]: t["status"] for e in launch.results()["experiments"] for t in e["trials"]}
    assert statuses == {"quick": "ok", "stuck": "ok", "never_started": "ok"}
    assert launch.leftovers() == {}


def test_ctrl_c_in_pytest_during_a_hanging_trial_leaves_nothing_running(launch):
    from hostile import pids

    pidfile, hold = launch.dir / "pids", launch.dir / "hold"
    hold.touch()
    (launch.dir / "specs").mkdir()
    launch.spec(
        SPEC.replace("PIDFILE", str(pidfile)).replace("HOLD", str(hold)), "specs/stuck.yaml"
    )
    launch.start("-p", "runner.pytest_plugin", "-p", "no:cacheprovider", "-q", "--runner",
                 "specs", module="pytest")  # fmt: skip
    wait_for(lambda: len(pids(pidfile)) >= 3, what="the trial")
    os.killpg(launch.proc.pid, signal.SIGINT)
    code, err = launch.finish(seconds=10)
    assert code == 2, err  # pytest's "interrupted"
    assert launch.leftovers() == {}
    assert launch.temp_files() == []


@pytest.mark.parametrize(("sig", "expected"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                               (signal.SIGHUP, 129)])  # fmt: skip
def test_serve_stops_on_each_signal_with_its_summary_and_removes_its_files(launch, sig, expected):
    proc = launch.start("serve", "tcp-files", "--files", "3", "--duration", "120")
    first = proc.stdout.readline()
    assert "generated in " in first, (first, proc.stderr.read() if proc.poll() else "")
    root = Path(first.split("generated in ")[1].split(";")[0])
    assert root.is_dir() and len(list(root.iterdir())) == 3
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == expected, err
    assert out.strip().splitlines()[-1].startswith("stopped tcp-files after ")
    assert "Traceback" not in err
    assert not root.exists()
