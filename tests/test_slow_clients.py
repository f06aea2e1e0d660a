"""Slow download clients: a read rate no client exceeds, a pause before every request."""

from __future__ import annotations

import pytest

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

CLIENTS = ["thread", "process", "gevent"]


def ok_runs(res) -> list[tuple[dict, dict[str, float]]]:
    assert res.code == 0, res.stderr
    out = []
    for trial in res.trials:
        assert trial["status"] == "ok", (trial["id"], trial["error"])
        out += [(trial["params"], run["metrics"]) for run in trial["runs"]]
    return out


def test_no_client_reads_faster_than_its_rate(runner_cli):
    # 4 files of 1 MiB over 2 clients at 16 MiB/s: each client needs at least 2/16 s.
    res = runner_cli.run_spec(
        f"""
        model: tcp
        params: {{workload: download, files: 4, file_size: 1048576, clients: 2,
                  client_rate_mib_s: 16}}
        matrix: {{client: {CLIENTS}, server_mode: [sequential, gevent]}}
        repeat: 1
        warmup: 0
        """
    )
    for params, m in ok_runs(res):
        assert (m["files_verified"], m["bytes_lost"]) == (4, 0), params
        assert m["client_mib_s"] <= 16 * 1.02, params  # the bucket starts empty: no head start
        assert m["wall_s"] >= 2 / 16, params


def test_each_request_waits_the_think_time(runner_cli):
    res = runner_cli.run_spec(
        f"""
        model: tcp
        params: {{workload: download, files: 6, file_size: 1000, clients: 2,
                  client_think_ms: 40}}
        matrix: {{client: {CLIENTS}}}
        repeat: 1
        warmup: 0
        """
    )
    for params, m in ok_runs(res):
        assert m["files_verified"] == 6, params
        assert m["file_p50_us"] >= 40_000, params  # the pause is on the open connection
        assert m["wall_s"] >= 3 * 0.040, params  # three requests per client, one after another


def test_full_speed_clients_report_their_rate_too(runner_cli):
    res = runner_cli.run_spec(
        "model: tcp\nparams: {workload: download, files: 4, file_size: 65536}\n"
        "repeat: 1\nwarmup: 0\n"
    )
    ((_, m),) = ok_runs(res)
    assert m["client_mib_s"] > 0


def test_udp_as_fast_as_it_can_is_named_max(runner_cli):
    res = runner_cli.run_spec(
        """
        model: udp
        params: {workload: oneway, messages: 2000, rcvbuf: 4194304}
        matrix: {rate_pps: [20000, max]}
        repeat: 1
        warmup: 0
        """
    )
    assert [p["rate_pps"] for p, _ in ok_runs(res)] == [20000, "max"]
    assert "| max " in res.stdout  # the table says max, not 0


@pytest.mark.parametrize("value", ["0", "-1", "'fast'"])
def test_a_client_rate_must_be_positive(runner_cli, value):
    res = runner_cli.run_spec(f"model: tcp\nparams: {{client_rate_mib_s: {value}}}\n")
    assert res.code == 2
    assert "client_rate_mib_s" in res.stderr


def test_runner_list_shows_max_as_a_choice_beside_the_number(runner_cli):
    res = runner_cli.run("list", "udp")
    assert res.code == 0, res.stderr
    assert 'rate_pps: int | max = "max"' in res.stdout
    assert "link_loss_pct: float | None = null" in res.stdout
