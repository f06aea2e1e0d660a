"""Two hosts for real: two network namespaces joined by a veth pair made here.

Host A (10.213.N.1) runs `runner serve` and the Dask scheduler; host B (10.213.N.2) runs
the udp and tcp clients with `server: HOST:PORT`, and a Dask worker.  The addresses exist
only inside the two namespaces, which the module deletes (with the veth pair) at its end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_S = 90.0

pytestmark = pytest.mark.slow


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs `ip` (iproute2) for network namespaces"
    if subprocess.run(["ip", "netns", "list"], capture_output=True, check=False).returncode:
        return "`ip netns` does not work here"
    return None


if (_reason := _why_not()) is not None:
    pytest.skip(_reason, allow_module_level=True)


class Hosts:
    def __init__(self) -> None:
        n = os.getpid() % 250
        self.names = {"a": f"runner-a{os.getpid()}", "b": f"runner-b{os.getpid()}"}
        self.ip = {"a": f"10.213.{n}.1", "b": f"10.213.{n}.2"}
        self.env = dict(os.environ, RUNNER_DISABLE_PLUGIN_AUTOLOAD="1", NO_COLOR="1")
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
        )

    def up(self) -> None:
        veth = {"a": f"rv{os.getpid()}a", "b": f"rv{os.getpid()}b"}  # at most 15 characters
        ip = ["ip"]
        for side in "ab":
            _sh(*ip, "netns", "add", self.names[side])
        _sh(*ip, "link", "add", veth["a"], "type", "veth", "peer", "name", veth["b"])
        for side in "ab":
            ns = ["ip", "-n", self.names[side]]
            _sh(*ip, "link", "set", veth[side], "netns", self.names[side])
            _sh(*ns, "addr", "add", f"{self.ip[side]}/24", "dev", veth[side])
            _sh(*ns, "link", "set", veth[side], "up")
            _sh(*ns, "link", "set", "lo", "up")

    def down(self) -> None:
        for name in self.names.values():  # deleting a namespace deletes its veth end too
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)

    def cmd(self, side: str, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.names[side], sys.executable, *args]

    def popen(self, side: str, *args: str, cwd: Path = ROOT) -> subprocess.Popen[str]:
        return subprocess.Popen(self.cmd(side, *args), cwd=cwd, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip

    def run(self, side: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(side, *args), cwd=cwd, env=self.env, text=True,
                              capture_output=True, timeout=300, check=False)  # fmt: skip


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.communicate(timeout=15)


@pytest.fixture(scope="module")
def hosts() -> Iterator[Hosts]:
    h = Hosts()
    try:
        h.up()
        yield h
    finally:
        h.down()


def _first_line(proc: subprocess.Popen[str]) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(DEADLINE_S)
    assert lines and lines[0], f"no first line; stderr: {_stop(proc)[1]}"
    return lines[0]


def serve_on_a(hosts: Hosts, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = hosts.popen("a", "-m", "runner", "serve", *args, "--bind", f"{hosts.ip['a']}:0",
                       "--duration", "120")  # fmt: skip
    match = re.search(r" on (\S+:\d+)", _first_line(proc))
    assert match, "no address printed"
    return proc, match.group(1)


def write_spec(tmp: Path, model: str, params: dict[str, object], **extra: object) -> Path:
    path = tmp / "spec.yaml"  # JSON is YAML
    spec = {"name": "remote", "model": model, "params": params, "repeat": 1, "warmup": 0}
    path.write_text(json.dumps({**spec, **extra}))
    return path


@pytest.mark.parametrize(
    ("kind", "model", "params"),
    [
        ("tcp-echo", "tcp", {"workload": "echo", "clients": 3, "messages": 50}),
        ("udp", "udp", {"workload": "echo", "messages": 200}),
        ("tcp-files", "tcp", {"workload": "download", "clients": 2}),
    ],
)
def test_clients_on_b_against_runner_serve_on_a(hosts, tmp_path, kind, model, params):
    extra = ("--files", "3", "--file-size", "100000") if kind == "tcp-files" else ()
    server, address = serve_on_a(hosts, kind, *extra)
    assert address.startswith(hosts.ip["a"] + ":")
    spec = write_spec(tmp_path, model, {**params, "server": address})
    try:
        res = hosts.run("b", "-m", "runner", "run", str(spec), "--no-db", "-o", "r.json",
                        cwd=tmp_path)  # fmt: skip
    finally:
        out, _ = _stop(server)
    assert res.returncode == 0, res.stderr
    trial = json.loads((tmp_path / "r.json").read_text())["experiments"][0]["trials"][0]
    metrics = trial["runs"][0]["metrics"]
    if kind == "tcp-echo":
        assert (metrics["connections"], metrics["errors"]) == (3, 0)
    elif kind == "udp":
        assert metrics["sent"] == 200
    else:
        assert metrics["files_verified"] == 3 and metrics["bytes_lost"] == 0
    assert trial["host"] is None  # the local executor: the CLI's own host
    assert "connections" in out or "sessions" in out or "requests" in out


def test_dask_scheduler_on_a_worker_on_b(hosts, tmp_path):
    sched_file = tmp_path / "scheduler.json"
    scheduler = hosts.popen("a", "-m", "dask", "scheduler", "--host", hosts.ip["a"],
                            "--port", "0", "--no-dashboard",
                            "--scheduler-file", str(sched_file))  # fmt: skip
    worker = None
    server = None
    try:
        end = time.monotonic() + DEADLINE_S
        while not (sched_file.exists() and sched_file.read_text().strip()):
            assert time.monotonic() < end and scheduler.poll() is None, _stop(scheduler)[1]
            time.sleep(0.05)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith(f"tcp://{hosts.ip['a']}:")
        worker = hosts.popen("b", "-m", "dask", "worker", address, "--host", hosts.ip["b"],
                             "--nworkers", "1", "--nthreads", "1", "--resources", "trial=1",
                             "--no-dashboard", cwd=tmp_path)  # fmt: skip
        server, echo = serve_on_a(hosts, "tcp-echo")
        params = {"workload": "echo", "server": echo, "clients": 2, "messages": 20}
        spec = write_spec(tmp_path, "tcp", params, matrix={"client": ["thread", "gevent"]})
        # The CLI on host A; the trials (the clients) on host B's worker.
        res = hosts.run("a", "-m", "runner", "run", str(spec), "--executor", "dask",
                        "--scheduler", address, "-o", "r.json", cwd=tmp_path)  # fmt: skip
    finally:
        for proc in (server, worker, scheduler):
            if proc is not None:
                _stop(proc)
    assert res.returncode == 0, res.stderr
    trials = json.loads((tmp_path / "r.json").read_text())["experiments"][0]["trials"]
    assert [t["status"] for t in trials] == ["ok", "ok"]
    for trial in trials:
        assert trial["host"]["address"].startswith(f"tcp://{hosts.ip['b']}:")
        assert trial["runs"][0]["metrics"]["connections"] == 2
