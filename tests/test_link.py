"""Link conditions: each trial in a network namespace of its own, loss by nftables, delay by
netem; the host's network untouched; clear errors where the machine cannot do it."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from runner.builtins.net.link import netem_available

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

EXPERIMENTS = Path(__file__).parent.parent / "experiments"
# An overrun receiver may also drop a control datagram (then sent again), which counts in
# rcvbuf_drops but not as a lost data datagram.
CONTROL_SLACK = 8

ROOT = os.geteuid() == 0
TOOLS = all(shutil.which(t) for t in ("nft", "ip", "unshare"))
needs_link = pytest.mark.skipif(
    not (ROOT and TOOLS),
    reason="link conditions need root and the nft, ip and unshare commands "
    "(apt-get install nftables iproute2)",
)
needs_netem = pytest.mark.skipif(
    not (ROOT and TOOLS and shutil.which("tc") and netem_available()),
    reason="link delay needs root, tc and a kernel with the netem qdisc (sch_netem)",
)


def runs(res) -> list[dict[str, float]]:
    assert res.code == 0, res.stderr
    out = []
    for trial in res.trials:
        assert trial["status"] == "ok", (trial["id"], trial["error"])
        out += [run["metrics"] for run in trial["runs"]]
    return out


def host_network() -> tuple[str, ...]:
    """What a trial must leave as it was: the host's firewall rules and loopback."""
    return tuple(
        subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        for cmd in (["nft", "list", "ruleset"], ["ip", "-d", "link", "show", "lo"])
    )


def binomial_bounds(n: int, p: float, sigmas: float = 5.0) -> tuple[float, float]:
    """Percent of ``n`` trials of chance ``p`` that a fair count stays within, +- ``sigmas``."""
    sd = math.sqrt(n * p * (1 - p))
    return 100 * (n * p - sigmas * sd) / n, 100 * (n * p + sigmas * sd) / n


@needs_link
def test_udp_oneway_loses_what_the_link_drops_and_the_host_is_untouched(runner_cli):
    before = host_network()
    res = runner_cli.run_spec(
        """
        model: udp
        params: {workload: oneway, messages: 20000, payload_bytes: 200, rate_pps: 40000,
                 rcvbuf: 4194304}
        matrix: {link_loss_pct: [0, 5]}
        repeat: 1
        warmup: 0
        """
    )
    clean, lossy = runs(res)
    # What a loaded machine's overrun receiver drops is counted apart from the link's.
    assert clean["sent"] == 20000
    assert abs(clean["lost"] - clean["rcvbuf_drops"]) <= CONTROL_SLACK
    assert clean["link_loss_expected_pct"] == 0
    low, high = binomial_bounds(20000, 0.05)
    assert lossy["link_drop_pct"] == pytest.approx(
        100 * (lossy["lost"] - lossy["rcvbuf_drops"]) / 20000
    )
    assert low <= lossy["link_drop_pct"] <= high
    assert lossy["link_loss_expected_pct"] == 5
    assert lossy["duplicates"] == 0
    assert host_network() == before


@needs_link
def test_an_overrun_receiver_is_not_taken_for_a_lossy_link(runner_cli):
    # A receive buffer of about one datagram under a blast: the receiver drops, the link not.
    res = runner_cli.run_spec(
        """
        model: udp
        params: {workload: oneway, messages: 20000, payload_bytes: 1400, rcvbuf: 1,
                 link_loss_pct: 0}
        repeat: 1
        warmup: 0
        """
    )
    (m,) = runs(res)
    assert m["lost"] > 0
    assert abs(m["lost"] - m["rcvbuf_drops"]) <= CONTROL_SLACK
    assert abs(m["link_drop_pct"]) <= 100 * CONTROL_SLACK / 20000


@needs_link
def test_udp_echo_loses_a_round_trip_when_either_way_drops(runner_cli):
    res = runner_cli.run_spec(
        """
        model: udp
        params: {workload: echo, messages: 3000, reply_timeout: 0.02, link_loss_pct: 10}
        repeat: 1
        warmup: 0
        """
    )
    (m,) = runs(res)
    expected = 1 - 0.9**2  # the request or its echo
    assert m["link_loss_expected_pct"] == pytest.approx(100 * expected)
    low, high = binomial_bounds(3000, expected)
    assert low <= m["link_drop_pct"] <= high


@needs_link
def test_tcp_delivers_every_byte_through_loss_by_resending(runner_cli):
    res = runner_cli.run_spec(
        """
        model: tcp
        params: {workload: download, files: 6, file_size: 1048576, clients: 3}
        matrix: {link_loss_pct: [0, 5], client: [thread, process, gevent]}
        repeat: 1
        warmup: 0
        """
    )
    metrics = runs(res)
    for m in metrics:
        assert (m["files_verified"], m["bytes_lost"], m["errors"]) == (6, 0, 0)
    clean, lossy = metrics[:3], metrics[3:]
    # Every lossy trial resends; all of them together far more than the clean ones, which
    # resend a few too (tail-loss probes, and under load dozens of spurious ones).  How
    # many varies a lot: veth offloads segments, and a super-segment lost is resent as one.
    resent, probes = [m["retransmits"] for m in lossy], [m["retransmits"] for m in clean]
    assert min(resent) > 0 and sum(resent) > 3 * max(10, sum(probes)), (resent, probes)


@needs_link
def test_tcp_echo_through_a_lossy_link_counts_its_retransmits(runner_cli):
    res = runner_cli.run_spec(
        """
        model: tcp
        params: {workload: echo, clients: 2, messages: 200, payload_bytes: 2000,
                 link_loss_pct: 5, server_mode: gevent, io_timeout: 30}
        repeat: 1
        warmup: 0
        """
    )
    # At 10% loss one segment in a few thousand is lost six times running, and TCP's
    # backoff then waits past a 10 s timeout: 5% and 30 s make that about 1 in 10,000.
    (m,) = runs(res)
    assert m["errors"] == 0
    assert m["retransmits"] > 0


@needs_link
def test_a_link_dropping_everything_fails_the_trial_in_one_line(runner_cli):
    res = runner_cli.run_spec(
        "model: udp\nparams: {workload: oneway, messages: 10, link_loss_pct: 100}\n"
        "repeat: 1\nwarmup: 0\n"
    )
    assert res.code == 1
    (trial,) = res.trials
    assert trial["status"] == "error"
    assert "no answer from 127.0.0.1:" in trial["error"] and "\n" not in trial["error"]


@needs_netem
def test_netem_delays_each_direction_and_jitter_spreads_it(runner_cli):
    res = runner_cli.run_spec(
        """
        model: udp
        params: {workload: echo, messages: 200, link_delay_ms: 10}
        matrix: {link_jitter_ms: [0, 5]}
        repeat: 1
        warmup: 0
        """
    )
    steady, jittery = runs(res)
    for m in (steady, jittery):
        assert m["loss_pct"] == 0
        assert m["latency_p50_us"] >= 2 * 10_000 - 2 * 5_000  # out and back
    assert steady["latency_p50_us"] >= 2 * 10_000
    # Two draws of +-5 ms per round trip: the upper tail lies milliseconds above the median.
    assert jittery["latency_p90_us"] - jittery["latency_p50_us"] > 1_500
    assert jittery["jitter_us"] > steady["jitter_us"]


@pytest.mark.skipif(ROOT and TOOLS and netem_available(), reason="this kernel has netem")
@pytest.mark.skipif(not (ROOT and TOOLS), reason="needs root and nft to get past those checks")
def test_delay_without_netem_is_refused_saying_so(runner_cli):
    res = runner_cli.run_spec("model: tcp\nparams: {link_delay_ms: 5}\n")
    assert res.code == 2
    assert "netem qdisc, which this kernel lacks: modprobe sch_netem" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def unprivileged(runner_cli, *args: str) -> subprocess.CompletedProcess[str]:
    """``runner ARGS`` in a user namespace of its own: the same files, uid 65534, no privilege."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux) to run without privilege")
    proc = subprocess.run(
        ["unshare", "--user", sys.executable, "-m", "runner", *args],
        check=False, env=runner_cli.env, cwd=runner_cli.path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    if proc.returncode and "unshare failed" in proc.stderr:
        pytest.skip(f"user namespaces unavailable: {proc.stderr.strip()}")
    return proc


def test_without_root_a_link_is_refused_before_running(runner_cli):
    spec = runner_cli.write("lossy.yaml", "model: udp\nparams: {link_loss_pct: 1}\n")
    proc = unprivileged(runner_cli, "run", str(spec), "--no-db")
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"{spec}:2:")
    assert "link_* params need root" in line


def test_a_spec_without_link_params_is_valid_without_root(runner_cli):
    spec = runner_cli.write("plain.yaml", "model: udp\nparams: {messages: 10}\n")
    proc = unprivileged(runner_cli, "validate", str(spec))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not ROOT, reason="needs root to get past the root check")
def test_without_nft_a_link_is_refused_naming_the_package(runner_cli):
    runner_cli.env["PATH"] = str(runner_cli.path)  # no nft, ip or tc on it
    res = runner_cli.run_spec("model: tcp\nparams: {workload: download, link_loss_pct: 1}\n")
    assert res.code == 2
    assert "need the `nft` command: install nftables (apt-get install nftables)" in res.stderr


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        ("udp", "link_loss_pct: 101", "Expected `float` <= 100.0 (got 101)"),
        ("tcp", "link_loss_pct: -1", "Expected `float` >= 0.0 (got -1)"),
        ("udp", "link_loss_pct: 0.005", "steps of 0.01"),
        ("udp", "link_loss_pct: 1, server: '127.0.0.1:9'", "cannot reach a server outside"),
        ("tcp", "link_delay_ms: 5, server: '127.0.0.1:9'", "cannot reach a server outside"),
        ("tcp", "link_jitter_ms: 2", "give link_delay_ms too"),
        ("udp", "rate_pps: 0", "write max for as fast as the sender can"),
        ("udp", "rate_pps: fast", "rate_pps: must be 'max' or an int (got 'fast')"),
        ("tcp", "workload: download, client_rate_mib_s: 0", "Expected `float` > 0.0"),
        ("tcp", "workload: download, client_think_ms: -1", "Expected `float` >= 0.0"),
        ("tcp", "client_think_ms: 10000", "shorter than io_timeout"),
    ],
)
def test_bad_link_and_client_params_are_refused(runner_cli, model, params, message):
    res = runner_cli.run_spec(f"model: {model}\nparams: {{{params}}}\n")
    assert res.code == 2, res.stderr
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not (ROOT and TOOLS), reason="udp_vs_tcp needs root and nftables")
def test_udp_vs_tcp_example_is_valid(runner_cli):
    res = runner_cli.run("validate", EXPERIMENTS / "udp_vs_tcp.yaml")
    assert res.code == 0, res.stderr
    assert res.stdout.count(": ok (") == 2
