"""`runner run --executor dask`: trials on a real Dask cluster of two worker processes.

The cluster is `distributed.LocalCluster(n_workers=2, processes=True, resources={"trial":
1})` on loopback, started once for the module; everything else goes through `runner run`.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

PLUGINS = Path(__file__).parent / "plugins"
PROBE = PLUGINS / "dask_probe.py"
MISBEHAVE = PLUGINS / "misbehave.py"
DEADLINE_S = 90.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, object]]:
    # Workers (and the runner workers they start) can import `-p dask_probe` too.
    sys.path.append(str(PLUGINS))
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (saved, str(PLUGINS)) if p)
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, resources={"trial": 1},
        host="127.0.0.1", dashboard_address=None,
    ) as lc, distributed.Client(lc) as client:  # fmt: skip
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
        yield lc.scheduler_address, client


@pytest.fixture
def scheduler(cluster) -> str:
    address, client = cluster
    client.wait_for_workers(2, timeout=180)  # a test may have killed one: its nanny restarts it
    return address


def wait_for(what: str, check: Callable[[], object], timeout: float = DEADLINE_S) -> object:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def probe_spec(tmp: Path, labels: list[int], **params: object) -> str:
    extra = "".join(f"  {k}: {json.dumps(v)}\n" for k, v in params.items())
    return (
        f"name: probe\nmodel: dask_probe\nplugins: [{json.dumps(str(PROBE))}]\n"
        f"matrix:\n  label: {labels}\nparams:\n  marker: {json.dumps(str(tmp / 'marker'))}\n"
        f"{extra}repeat: 1\nwarmup: 0\ntimeout: 60\n"
    )


def popen(runner_cli, *args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *map(str, args)], cwd=runner_cli.path,
        env=runner_cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def markers(tmp: Path, label: int) -> list[tuple[int, int]]:
    path = tmp / f"marker.{label}"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(int(a), int(b)) for a, b in (ln.split() for ln in lines)]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def leftovers(client, run_id: str) -> list[str]:
    """What a session left in the workers' folders (its shipped plugin files)."""
    spaces = client.run(lambda dask_worker: dask_worker.local_directory).values()
    return [str(p) for space in spaces for p in Path(space).glob(f"runner-{run_id}-*")]


def test_trials_run_on_the_cluster_and_record_their_host(runner_cli, scheduler, cluster):
    runner_cli.env["RUNNER_DASK_SCHEDULER"] = scheduler  # the variable, not --scheduler
    spec = probe_spec(runner_cli.path, [0, 1, 2, 3], seconds=0.3)
    res = runner_cli.run_spec(spec, "--executor", "dask")
    assert res.code == 0, res.stderr
    assert [t["status"] for t in res.trials] == ["ok"] * 4
    assert [t["swept"]["label"] for t in res.trials] == [0, 1, 2, 3]  # spec order kept
    workers = set(cluster[1].scheduler_info()["workers"])
    hosts = [t["host"] for t in res.trials]
    assert {h["address"] for h in hosts} == workers  # both hosts took trials
    env = hosts[0]["environment"]
    assert env["python"] == platform.python_version() and env["cpu"]
    assert env["packages"]["runner"] and env["hostname"] == socket.gethostname()
    assert "[4/4]" in res.stderr and "4 trials, 4 ok" in res.stderr
    # The store keeps the same host records.
    out = runner_cli.run("export", "latest", "--format", "json", "-o", "back.json")
    assert out.code == 0, out.stderr
    stored = json.loads((runner_cli.path / "back.json").read_text())
    assert [t["host"] for e in stored["experiments"] for t in e["trials"]] == hosts
    assert leftovers(cluster[1], res.results["run_id"]) == []


def test_each_run_reaches_the_cli_as_it_happens(runner_cli, scheduler, tmp_path):
    log = tmp_path / "runs.log"
    runner_cli.env["DASK_PROBE_RUNLOG"] = str(log)
    text = probe_spec(runner_cli.path, [0], gate=str(tmp_path / "g"), gate_from_run=1)
    spec = runner_cli.write("s.yaml", text.replace("repeat: 1", "repeat: 2"))
    proc = popen(runner_cli, "run", spec, "--executor", "dask", "--scheduler", scheduler, "--no-db")
    try:
        wait_for("the first run's event in the CLI", lambda: log.exists() and log.read_text())
        assert proc.poll() is None  # the trial is still in its second run
        assert log.read_text() == "probe[label=0] 0\n"
        (tmp_path / "g.0").touch()
        assert proc.wait(timeout=DEADLINE_S) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.communicate()
    assert log.read_text() == "probe[label=0] 0\nprobe[label=0] 1\n"


def test_an_unreachable_scheduler_is_one_line_and_exit_2(runner_cli):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once it is closed
    spec = probe_spec(runner_cli.path, [0])
    res = runner_cli.run_spec(spec, "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{port}")
    assert res.code == 2
    assert res.stderr.startswith(
        f"runner: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"
    )
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert res.results is None and not (runner_cli.path / ".runner").exists()  # nothing ran
    assert not (runner_cli.path / "marker.0").exists()
    res = runner_cli.run_spec(spec, "--executor", "dask")
    assert res.code == 2 and "--executor dask needs --scheduler tcp://HOST:PORT" in res.stderr
    res = runner_cli.run_spec(spec, "--scheduler", f"tcp://127.0.0.1:{port}")
    assert res.code == 2 and "--scheduler is for --executor dask" in res.stderr


def test_a_plugin_at_another_version_on_a_worker_is_refused(runner_cli, scheduler, cluster):
    runner_cli.env["PYTHONPATH"] += os.pathsep + str(PLUGINS)
    spec = probe_spec(runner_cli.path, [0]).replace(f"plugins: [{json.dumps(str(PROBE))}]\n", "")
    args = ("--executor", "dask", "--scheduler", scheduler, "-p", "dask_probe")
    runner_cli.env["DASK_PROBE_VERSION"] = "2.0"  # the workers have 1.0
    res = runner_cli.run_spec(spec, *args)
    assert res.code == 2
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "runner: error: host " in res.stderr
    assert "(tcp://127.0.0.1:" in res.stderr and "dask_probe 1.0 there, 2.0 here" in res.stderr
    assert not (runner_cli.path / "marker.0").exists()
    assert not any(Path(p).name.startswith("runner-") for p in leftovers(cluster[1], "*"))
    runner_cli.env["DASK_PROBE_VERSION"] = "1.0"
    res = runner_cli.run_spec(spec, *args)
    assert res.code == 0, res.stderr


def test_a_hang_and_a_crash_end_as_they_do_locally(runner_cli, scheduler):
    spec = runner_cli.write("m.yaml", f"""\
        name: bad
        model: misbehave
        plugins: [{json.dumps(str(MISBEHAVE))}]
        matrix:
          action: [ok, signal, hang, raise]
        repeat: 1
        warmup: 0
        timeout: 2
        """)  # fmt: skip
    local = runner_cli.run_spec(spec, "--no-db")
    remote = runner_cli.run_spec(spec, "--no-db", "--executor", "dask", "--scheduler", scheduler)
    assert local.code == remote.code == 1
    seen = [(t["status"], t["error"]) for t in remote.trials]
    assert seen == [(t["status"], t["error"]) for t in local.trials]
    assert [s for s, _ in seen] == ["ok", "crashed", "timeout", "error"]


def test_ctrl_c_cancels_pending_trials_and_kills_running_ones(runner_cli, scheduler, cluster):
    tmp = runner_cli.path
    spec = runner_cli.write("s.yaml", probe_spec(tmp, [0, 1, 2, 3], gate=str(tmp / "never")))
    out = tmp / "r.json"
    proc = popen(runner_cli, "run", spec, "--executor", "dask", "--scheduler", scheduler,
                 "-o", out)  # fmt: skip
    try:
        running = wait_for("two trials running", lambda: [
            m[0][0] for label in range(4) if (m := markers(tmp, label))] if sum(
            bool(markers(tmp, label)) for label in range(4)) == 2 else None)  # fmt: skip
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_S) == 130
    finally:
        proc.kill()
        _, err = proc.communicate()
    for pid in running:  # the trials' processes on their hosts
        wait_for(f"trial process {pid} to end", lambda pid=pid: not alive(pid), timeout=30)
    data = json.loads(out.read_text())
    assert data["interrupted"] and data["experiments"][0]["trials"] == [], err
    assert sum(bool(markers(tmp, label)) for label in range(4)) == 2  # the others never ran
    _, client = cluster
    wait_for("no task left on the cluster",
             lambda: not any(client.processing().values()), timeout=30)  # fmt: skip


@pytest.mark.parametrize("kills", [1, 2])
def test_a_worker_lost_mid_trial(runner_cli, scheduler, kills):
    """Killed once: the trial runs again on another worker; twice: crashed, worker lost."""
    tmp = runner_cli.path
    spec = runner_cli.write("s.yaml", probe_spec(tmp, [0], gate=str(tmp / "gate")))
    out = tmp / "r.json"
    proc = popen(runner_cli, "run", spec, "--executor", "dask", "--scheduler", scheduler,
                 "-o", out)  # fmt: skip
    try:
        for attempt in range(1, kills + 1):
            marks = wait_for(f"attempt {attempt}", lambda a=attempt: len(markers(tmp, 0)) >= a
                             and markers(tmp, 0))  # fmt: skip
            _, runner_worker = marks[-1]
            dask_worker = parent(runner_worker)
            os.kill(dask_worker, signal.SIGKILL)
        if kills == 1:
            wait_for("the retry", lambda: len(markers(tmp, 0)) == 2)
            # The lost attempt died with its Dask worker, its gate still closed.
            lost_child = markers(tmp, 0)[0][0]
            wait_for(f"lost trial {lost_child} to end", lambda: not alive(lost_child), 30)
            (tmp / "gate.0").touch()
        code = proc.wait(timeout=DEADLINE_S)
    finally:
        (tmp / "gate.0").touch()  # the lost attempts' orphans end too
        proc.kill()
        _, err = proc.communicate()
    trial = json.loads(out.read_text())["experiments"][0]["trials"][0]
    for child, _ in markers(tmp, 0):  # the lost attempts' processes end too, gate open
        wait_for(f"trial process {child} to end", lambda c=child: not alive(c), timeout=30)
    if kills == 1:
        assert code == 0, err
        assert trial["status"] == "ok"
        assert "lost mid-trial" in trial["host"]["retried_after"]
        first = trial["host"]["retried_after"].split()[1]
        assert trial["host"]["address"] != first
    else:
        assert code == 1, err
        assert trial["status"] == "crashed", trial
        # Ours after a third start, or Dask's own KilledWorker if its limit came first.
        assert trial["error"].startswith("worker lost"), trial["error"]


def test_resume_runs_only_the_unfinished_trials(runner_cli, scheduler):
    tmp = runner_cli.path
    spec = runner_cli.write("s.yaml", probe_spec(tmp, [0, 1, 2], gate=str(tmp / "gate")))
    args = ("--executor", "dask", "--scheduler", scheduler)
    (tmp / "gate.0").touch()
    proc = popen(runner_cli, "run", spec, *args)
    try:
        wait_for("trials 1 and 2 to start", lambda: markers(tmp, 1) and markers(tmp, 2))
        assert markers(tmp, 0)
        hist = lambda: runner_cli.run("history", "--json").stdout  # noqa: E731
        wait_for("trial 0 stored", lambda: json.loads(hist() or "[]") and
                 json.loads(hist())[0]["trials"] == 1)  # fmt: skip
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_S) == 130
    finally:
        proc.kill()
        proc.communicate()
    (tmp / "gate.1").touch()
    (tmp / "gate.2").touch()
    res = runner_cli.run_spec(spec, *args, "--resume", "latest")
    assert res.code == 0, res.stderr
    assert "1 of 3 trials already finished" in res.stderr
    assert [t["status"] for t in res.trials] == ["ok"] * 3
    assert len(markers(tmp, 0)) == 1  # not run again
    assert len(markers(tmp, 1)) == len(markers(tmp, 2)) == 2
    assert res.trials[0]["host"]["address"].startswith("tcp://127.0.0.1:")
