"""The udp model through the CLI: loss, duplicates and reordering counted, never guessed."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent / "plugins"))
from net_background import script, serve

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

EXPERIMENTS = Path(__file__).parent.parent / "experiments"


def only_trial(res):
    assert res.code == 0, res.stderr
    (trial,) = res.trials
    assert trial["status"] == "ok", trial["error"]
    return trial


def runs(trial) -> list[dict[str, float]]:
    return [run["metrics"] for run in trial["runs"]]


def test_echo_accounts_for_every_datagram(runner_cli):
    res = runner_cli.run_spec(
        """
        model: udp
        params: {workload: echo, messages: 300, clients: 2, payload_bytes: 200}
        repeat: 2
        warmup: 0
        """
    )
    for m in runs(only_trial(res)):
        assert m["sent"] == 600
        assert m["received"] + m["lost"] == m["sent"]
        assert m["loss_pct"] == pytest.approx(100 * m["lost"] / 600)
        assert m["corrupt"] == 0 and m["duplicates"] == 0
        assert 0 < m["latency_p50_us"] <= m["latency_p90_us"] <= m["latency_p99_us"]
        assert m["latency_p99_us"] <= m["latency_max_us"]
        assert m["pps"] > 0 and m["mbit_s"] > 0 and m["jitter_us"] >= 0
        assert "reordered" not in m  # a one-way count: echo does not report it


def test_oneway_reports_what_the_receiver_counted(runner_cli):
    res = runner_cli.run_spec(
        """
        model: udp
        params: {workload: oneway, messages: 3000, rate_pps: 30000, rcvbuf: 4194304}
        repeat: 2
        warmup: 0
        """
    )
    for m in runs(only_trial(res)):
        assert m["sent"] == 3000
        assert 0 < m["received"] <= 3000
        assert m["lost"] == 3000 - m["received"]
        assert m["duplicates"] == 0 and m["reordered"] == 0  # loopback neither copies nor reorders
        assert "latency_p50_us" not in m  # one-way latency would need one clock at both ends


def test_a_tiny_receive_buffer_under_a_blast_loses_datagrams(runner_cli):
    # 1400-byte datagrams as fast as the sender can into a receive buffer of about one
    # datagram: the receiver cannot keep up, and the loss must show in the counts.
    res = runner_cli.run_spec(
        """
        model: udp
        params: {workload: oneway, messages: 20000, payload_bytes: 1400, rcvbuf: 1}
        repeat: 1
        warmup: 0
        """
    )
    (m,) = runs(only_trial(res))
    assert m["lost"] > 0
    assert m["received"] + m["lost"] == m["sent"] == 20000
    assert m["loss_pct"] == pytest.approx(100 * m["lost"] / 20000)


def test_exact_counts_through_a_proxy_that_drops_duplicates_and_reorders(runner_cli):
    # The proxy drops seq % 10 == 9, sends seq % 20 == 0 twice, and sends seq % 20 == 10
    # after seq % 20 == 11: of 1000 datagrams, 100 lost, 50 duplicated, 50 reordered.
    # It flips a byte of echo requests with seq % 20 == 1, which one-way leaves alone.
    with (
        serve("udp", "--rcvbuf", "4194304") as server,
        script(
            "net_lossy_proxy.py",
            "--to", server.address,
            "--drop-every", "10", "--dup-every", "20", "--swap-every", "20",
            "--flip-every", "20",
        ) as proxy,
    ):  # fmt: skip
        res = runner_cli.run_spec(
            f"""
            model: udp
            params: {{workload: oneway, server: "{proxy.address}", messages: 1000,
                      rate_pps: 5000, rcvbuf: 4194304}}
            repeat: 2
            warmup: 0
            """
        )
        for m in runs(only_trial(res)):
            assert (m["sent"], m["received"], m["lost"]) == (1000, 900, 100)
            assert m["loss_pct"] == 10.0
            assert m["duplicates"] == 50
            assert m["reordered"] == 50

        # Echo, stop and wait: a held request gets no reply in time (lost), and its reply
        # comes while the next is awaited (late); an altered reply is corrupt, and its
        # request lost.  Of 100: 10 dropped + 5 held + 5 altered = 20 lost.
        res = runner_cli.run_spec(
            f"""
            model: udp
            params: {{workload: echo, server: "{proxy.address}", messages: 100,
                      reply_timeout: 0.05}}
            repeat: 1
            warmup: 0
            """
        )
        (m,) = runs(only_trial(res))
        assert (m["sent"], m["received"], m["lost"]) == (100, 80, 20)
        assert m["late"] == 5
        assert m["duplicates"] == 5
        assert m["corrupt"] == 5


def test_no_server_on_the_port_is_a_clear_error(runner_cli):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    res = runner_cli.run_spec(
        f"""
        model: udp
        params: {{workload: echo, server: "127.0.0.1:{port}", messages: 10}}
        repeat: 1
        warmup: 0
        """
    )
    assert res.code == 1
    (trial,) = res.trials
    assert trial["status"] == "error"
    assert f"127.0.0.1:{port} refused" in trial["error"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("payload_bytes: 23", "payload_bytes"),
        ("payload_bytes: 65508", "payload_bytes"),
        ("server: nowhere", "not HOST:PORT"),
        ("server: '127.0.0.1:0'", "port must not be 0"),
        ("clients: 0", "clients"),
    ],
)
def test_bad_params_are_refused_before_running(runner_cli, params, message):
    res = runner_cli.run_spec(f"model: udp\nparams: {{{params}}}\n")
    assert res.code == 2
    assert message in res.stderr


def test_example_specs_are_valid(runner_cli):
    res = runner_cli.run("validate", EXPERIMENTS / "udp_echo.yaml", EXPERIMENTS / "udp_loss.yaml")
    assert res.code == 0, res.stderr
    assert res.stdout.count(": ok (") == 2
