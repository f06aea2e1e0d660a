"""Whatever a trial starts dies with it; its temp files go; a hang names its phase.

Real `runner run` sessions of tests/plugins/hostile.py (and misbehave.py for crashes),
their processes tagged by an environment variable and looked for in /proc afterwards,
their TMPDIR looked at for leftovers.
"""

from __future__ import annotations

import time

import pytest
from conftest import PLUGINS

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

ESCAPES = ("children", "setsid", "daemon")


def experiment(name: str, params: str, plugin: str = "HOSTILE", model: str = "hostile",
               timeout: float = 60, extra: str = "") -> str:  # fmt: skip
    return (
        f"  - name: {name}\n    model: {model}\n    plugins: [{plugin}]\n"
        f"    params: {{{params}}}\n    repeat: 2\n    warmup: 0\n    timeout: {timeout}\n{extra}"
    )


def run(launch, *experiments: str, args: tuple[str, ...] = ()) -> tuple[int, str, dict]:
    spec = launch.spec("experiments:\n" + "".join(experiments))
    code, err = launch.run("run", spec, "-o", launch.out, "--db", launch.db, "-q", *args)
    assert "Traceback" not in err, err
    trials = {t["id"]: t for e in launch.results()["experiments"] for t in e["trials"]}
    return code, err, trials


def test_processes_that_leave_the_group_setsid_or_daemonise_die_with_the_trial(launch):
    pidfile = launch.dir / "pids"
    code, err, trials = run(
        launch, *(experiment(a, f"action: {a}, pidfile: {pidfile}") for a in ESCAPES)
    )
    assert code == 0, err
    assert {t["status"] for t in trials.values()} == {"ok"}
    # 2 runs x (the trial's child itself in each experiment, 2 children, setsid, daemon)
    assert len(pidfile.read_text().split()) == 14
    assert launch.leftovers() == {}


def test_a_trial_that_kills_its_worker_is_seen_at_once_and_its_orphans_die(launch):
    pidfile = launch.dir / "pids"
    started = time.monotonic()
    code, _err, trials = run(
        launch,
        experiment("killer", f"action: kill_worker, pidfile: {pidfile}", timeout=300),
        experiment("after", "action: ok"),
    )
    assert time.monotonic() - started < 60  # not the 300 s timeout
    assert trials["killer"]["status"] == "crashed"
    assert trials["killer"]["error"] == "the worker process died"
    assert trials["after"]["status"] == "ok"  # a new worker takes the next trial
    assert code == 1
    assert launch.leftovers() == {}


def test_no_temp_file_is_left_after_crashes_timeouts_and_kills(launch):
    misbehave = str(PLUGINS / "misbehave.py")
    _code, err, trials = run(
        launch,
        experiment("raise", "action: raise", misbehave, "misbehave"),
        experiment("exit", "action: exit", misbehave, "misbehave"),
        experiment("segv", "action: signal", misbehave, "misbehave"),
        experiment("hang", "action: hang", misbehave, "misbehave", timeout=1),
        experiment("setup_hang", "action: hang_setup", timeout=1),
        experiment("teardown_hang", "action: hang_teardown", timeout=1),
        experiment("killer", "action: kill_worker"),
        experiment("fine", "action: ok"),
    )
    statuses = {name: t["status"] for name, t in trials.items()}
    assert statuses == {
        "raise": "error", "exit": "crashed", "segv": "crashed", "hang": "timeout",
        "setup_hang": "timeout", "teardown_hang": "timeout", "killer": "crashed", "fine": "ok",
    }, err  # fmt: skip
    assert launch.temp_files() == []
    assert launch.leftovers() == {}


@pytest.mark.parametrize(
    ("action", "phase"),
    [("hang_setup", "setup"), ("hang_run", "run 2"), ("hang_teardown", "teardown")],
)
def test_a_hang_is_reported_in_the_phase_it_happened(launch, action, phase):
    code, _err, trials = run(launch, experiment("hang", f"action: {action}", timeout=1))
    assert trials["hang"]["status"] == "timeout"
    assert trials["hang"]["error"] == f"{phase} did not finish within the timeout of 1 s"
    assert code == 1


@pytest.mark.parametrize("where", ["spec", "option"])
def test_a_trial_over_its_memory_cap_crashes_and_the_session_goes_on(launch, where):
    cap = "    max_memory: 512MiB\n" if where == "spec" else ""
    args = ("--max-memory", "512MiB") if where == "option" else ()
    code, _err, trials = run(
        launch,
        experiment("hog", "action: allocate, allocate_mib: 1024", extra=cap),
        experiment("small", "action: allocate, allocate_mib: 16", extra=cap),
        args=args,
    )
    assert trials["hog"]["status"] == "crashed"
    assert trials["hog"]["error"] == "out of memory (limit 512 MiB)"
    assert trials["small"]["status"] == "ok"
    assert code == 1


def test_a_memory_cap_that_is_not_a_size_is_refused_before_any_trial(launch):
    spec = launch.spec("model: hostile\nplugins: [HOSTILE]\nmax_memory: lots\n")
    code, err = launch.run("run", spec, "--db", launch.db)
    assert code == 2
    assert "max_memory" in err and "lots" in err and "Traceback" not in err
    assert not launch.db.exists()
