"""The tcp model through the CLI: every byte verified, every client model, every server."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.append(str(Path(__file__).parent / "plugins"))
from net_background import env, script

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

EXPERIMENTS = Path(__file__).parent.parent / "experiments"
CLIENTS = ["thread", "process", "gevent"]
SERVERS = ["sequential", "thread", "gevent"]


def ok_trials(res) -> list[dict]:
    assert res.code == 0, res.stderr
    for trial in res.trials:
        assert trial["status"] == "ok", (trial["id"], trial["error"])
    return res.trials


def runs(trial) -> list[dict[str, float]]:
    return [run["metrics"] for run in trial["runs"]]


def test_every_client_gets_every_file_from_every_server(runner_cli):
    res = runner_cli.run_spec(
        f"""
        model: tcp
        params: {{workload: download, files: 7, file_size: 100003, clients: 3}}
        matrix: {{client: {CLIENTS}, server_mode: {SERVERS}}}
        repeat: 1
        warmup: 0
        """
    )
    trials = ok_trials(res)
    assert len(trials) == 9
    for trial in trials:
        for m in runs(trial):
            assert (m["files_verified"], m["bytes_lost"], m["errors"]) == (7, 0, 0), trial["id"]
            assert m["files_corrupt"] == 0
            assert m["mib_per_s"] == pytest.approx(7 * 100003 / 2**20 / m["wall_s"])
            assert 0 < m["file_p50_us"] <= m["file_p99_us"]


@pytest.mark.parametrize(
    ("transfer", "chunk_size", "file_size"),
    [
        ("chunked", 1024, 70001),
        ("sendfile", 1024, 70001),
        ("sendfile", 65536, 1 << 20),
        ("chunked", 4096, 0),
    ],
)
def test_transfers_deliver_files_intact(runner_cli, transfer, chunk_size, file_size):
    res = runner_cli.run_spec(
        f"""
        model: tcp
        params: {{workload: download, files: 5, file_size: {file_size}, clients: 2,
                  transfer: {transfer}, chunk_size: {chunk_size}, server_mode: gevent,
                  client: gevent}}
        repeat: 2
        warmup: 0
        """
    )
    for m in runs(ok_trials(res)[0]):
        assert (m["files_verified"], m["bytes_lost"], m["errors"]) == (5, 0, 0)


def test_a_flipped_bit_is_caught_by_sha256(runner_cli):
    with script("net_bad_file_server.py", "--fault", "flip", "--files", "4") as bad:
        res = runner_cli.run_spec(
            f"""
            model: tcp
            params: {{workload: download, server: "{bad.address}", clients: 2}}
            repeat: 1
            warmup: 0
            """
        )
    (m,) = runs(ok_trials(res)[0])
    assert m["files_corrupt"] == 4
    assert m["files_verified"] == 0 and m["errors"] == 4
    assert m["bytes_lost"] == 0  # every byte arrived: the content, not the length, is wrong


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("verify", ["inline", "after"])
def test_a_stalled_transfer_ends_after_io_timeout(runner_cli, client, verify):
    # The timeout on the socket is set once (the kernel's, for standard sockets), not per
    # receive: a server that stops sending mid-file must still be given up on.
    with script("net_bad_file_server.py", "--fault", "stall", "--files", "2") as bad:
        res = runner_cli.run_spec(
            f"""
            model: tcp
            params: {{workload: download, server: "{bad.address}", clients: 2,
                      client: {client}, verify: {verify}, save: false, io_timeout: 1}}
            repeat: 1
            warmup: 0
            timeout: 30
            """
        )
    (m,) = runs(ok_trials(res)[0])
    assert (m["files_verified"], m["errors"]) == (0, 2)
    assert m["bytes_lost"] == 2 * (100_000 - 100_000 // 2)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("save", [False, True])
def test_verify_after_still_catches_a_flipped_bit(runner_cli, client, save):
    # Hashed after the timed window (from memory, or from the saved files), not skipped.
    with script("net_bad_file_server.py", "--fault", "flip", "--files", "4") as bad:
        res = runner_cli.run_spec(
            f"""
            model: tcp
            params: {{workload: download, server: "{bad.address}", clients: 2,
                      client: {client}, verify: after, save: {str(save).lower()}}}
            repeat: 2
            warmup: 0
            """
        )
    for m in runs(ok_trials(res)[0]):
        assert (m["files_corrupt"], m["files_verified"], m["errors"]) == (4, 0, 4)
        assert m["bytes_lost"] == 0


def test_verify_size_checks_the_length_only(runner_cli):
    with script("net_bad_file_server.py", "--fault", "flip", "--files", "4") as bad:
        res = runner_cli.run_spec(
            f"""
            model: tcp
            params: {{workload: download, server: "{bad.address}", clients: 2, verify: size}}
            repeat: 1
            warmup: 0
            """
        )
    trial = ok_trials(res)[0]
    assert trial["params"]["verify"] == "size"  # the results say how files were checked
    (m,) = runs(trial)
    assert (m["files_verified"], m["files_corrupt"], m["bytes_lost"]) == (4, 0, 0)


@pytest.mark.parametrize("verify", ["inline", "after", "size"])
def test_every_verify_mode_delivers_intact_files_with_a_timed_window(runner_cli, verify):
    res = runner_cli.run_spec(
        f"""
        model: tcp
        params: {{workload: download, files: 6, file_size: 300000, clients: 3,
                  transfer: sendfile, save: false, verify: {verify}}}
        repeat: 2
        warmup: 1
        """
    )
    trial = ok_trials(res)[0]
    assert trial["params"]["verify"] == verify
    for m in runs(trial):
        assert (m["files_verified"], m["bytes_lost"], m["errors"]) == (6, 0, 0)
        assert m["wall_s"] > 0 and m["mib_per_s"] > 0


def test_a_truncated_transfer_is_told_from_a_complete_one(runner_cli):
    with script("net_bad_file_server.py", "--fault", "truncate", "--files", "3") as bad:
        res = runner_cli.run_spec(
            f"""
            model: tcp
            params: {{workload: download, server: "{bad.address}", client: gevent}}
            repeat: 1
            warmup: 0
            """
        )
    (m,) = runs(ok_trials(res)[0])
    assert m["files_verified"] == 0 and m["files_corrupt"] == 0 and m["errors"] == 3
    assert m["bytes_lost"] == 3 * (100_000 - 100_000 // 2)


def test_echo_with_every_client_and_server(runner_cli):
    res = runner_cli.run_spec(
        f"""
        model: tcp
        params: {{workload: echo, clients: 4, messages: 25, payload_bytes: 100}}
        matrix: {{client: {CLIENTS}, server_mode: {SERVERS}}}
        repeat: 1
        warmup: 0
        """
    )
    for trial in ok_trials(res):
        (m,) = runs(trial)
        assert m["errors"] == 0 and m["connections"] == 4, trial["id"]
        assert m["round_trips_per_s"] > 0
        assert 0 < m["latency_p50_us"] <= m["latency_p99_us"] <= m["latency_max_us"]
        # The sequential server holds one connection at a time; the others all four.
        expected = 1 if trial["params"]["server_mode"] == "sequential" else 4
        assert m["peak_connections"] == expected, trial["id"]


def test_too_low_an_open_files_limit_is_a_clear_error(runner_cli, tmp_path):
    spec = tmp_path / "many.yaml"
    spec.write_text("model: tcp\nparams: {clients: 3000, client: gevent, messages: 1}\nrepeat: 1\n")

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    argv = ["-m", "runner", "run", str(spec), "-o", str(tmp_path / "o.json"), "--no-db"]
    proc = subprocess.run(
        [sys.executable, *argv],
        check=False,
        capture_output=True,
        text=True,
        env=env(),
        cwd=tmp_path,
        timeout=120,
        preexec_fn=low_limit,
    )
    assert proc.returncode == 1, proc.stderr
    message = "needs 3064 open files but the hard limit (ulimit -Hn) is 1024"
    assert message in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("client: process, clients: 257", "at most 256"),
        ("workload: download, files: 5000, file_size: 1073741824", "4 GiB"),
        ("server_mode: forking", "server_mode"),
        ("server: 'localhost'", "not HOST:PORT"),
        (
            "workload: download, files: 2, file_size: 1073741824, save: false, verify: after",
            "within 1 GiB",
        ),
        ("verify: sometimes", "verify"),
    ],
)
def test_bad_params_are_refused_before_running(runner_cli, params, message):
    res = runner_cli.run_spec(f"model: tcp\nparams: {{{params}}}\n")
    assert res.code == 2
    assert message in res.stderr


def test_example_specs_are_valid(runner_cli):
    names = ["tcp_echo", "download_gevent", "download_models", "download_chunks", "c10k"]
    res = runner_cli.run("validate", *(EXPERIMENTS / f"{name}.yaml" for name in names))
    assert res.code == 0, res.stderr
    assert res.stdout.count(": ok (") == len(names) + 1  # download_models holds two


@pytest.mark.slow
def test_download_gevent_example_meets_its_expectations(runner_cli):
    res = runner_cli.run_spec(EXPERIMENTS / "download_gevent.yaml")
    (trial,) = ok_trials(res)
    assert trial["summary"]["files_verified"]["min"] == 50


@pytest.mark.slow
def test_c10k_holds_ten_thousand_connections(runner_cli):
    spec = yaml.safe_load((EXPERIMENTS / "c10k.yaml").read_text())
    spec["repeat"] = 1  # the example's own params and expectations, one run
    res = runner_cli.run_spec(runner_cli.write("c10k.yaml", yaml.safe_dump(spec)), timeout=300)
    (trial,) = ok_trials(res)
    (m,) = runs(trial)
    assert m["connections"] == 10_000
    assert m["peak_connections"] == 10_000
    assert m["errors"] == 0


def _echo_with_a_1s_io_timeout(runner_cli, port: int, client: str):
    """Two echo clients of kind ``client`` against 127.0.0.1:PORT, io_timeout 1 s, the
    run's timeout 30 s (it only bounds a hang): the result, and the seconds it took."""
    import time

    started = time.monotonic()
    res = runner_cli.run_spec(
        f"""
        model: tcp
        params: {{workload: echo, server: "127.0.0.1:{port}", client: {client},
                  clients: 2, messages: 5, io_timeout: 1}}
        repeat: 1
        warmup: 0
        timeout: 30
        """
    )
    return res, time.monotonic() - started


@pytest.mark.parametrize("client", CLIENTS)
def test_echo_clients_give_up_on_a_server_that_never_answers(runner_cli, client):
    # A listener that never accepts: the kernel completes every handshake and takes the
    # requests, nothing ever comes back.  Each client must end its wait after io_timeout
    # (set once per socket, not per operation) and say so; 30 s only bounds a hang.
    import socket

    with socket.create_server(("127.0.0.1", 0), backlog=16) as mute:
        port = mute.getsockname()[1]
        res, waited = _echo_with_a_1s_io_timeout(runner_cli, port, client)
    (m,) = runs(ok_trials(res)[0])
    assert (m["connections"], m["errors"]) == (2, 2)
    assert "round_trips_per_s" not in m
    assert waited < 30


@pytest.mark.parametrize("client", CLIENTS)
def test_a_connect_that_gets_no_answer_ends_after_io_timeout(runner_cli, client):
    # A listener whose accept queue is full: the kernel drops every further SYN, so a
    # connect waits for ever unless something bounds it (gevent's connects are bounded by
    # the run's one idle reaper, not a timer each).  30 s only bounds a hang.
    import socket

    with (
        socket.create_server(("127.0.0.1", 0), backlog=0) as full,
        socket.create_connection(full.getsockname(), timeout=5),  # fills the queue
    ):
        port = full.getsockname()[1]
        res, waited = _echo_with_a_1s_io_timeout(runner_cli, port, client)
    (trial,) = res.trials
    assert trial["status"] == "error"
    assert "no client could connect" in trial["error"], trial["error"]
    assert "connect:" in trial["error"], trial["error"]
    assert waited < 20
