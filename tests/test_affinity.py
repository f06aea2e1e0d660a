"""Pinning trials to CPUs: --affinity, the spec's cpus:, recorded in the results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SEEDED = Path(__file__).parent / "plugins" / "seeded.py"
CPUS = sorted(os.sched_getaffinity(0))

# Runs real sessions: the slow tier (CONTRIBUTING.md).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(len(CPUS) < 2, reason="pinning apart needs 2 CPUs"),
]


def spec(extra: str = "") -> str:
    return f"name: s\nmodel: seeded\nplugins: [{SEEDED}]\nrepeat: 2\nwarmup: 0\n{extra}"


def test_spec_cpus_pins_the_trial_and_is_recorded(runner_cli):
    last = CPUS[-1]
    res = runner_cli.run_spec(spec(f"cpus: {last}\n"), "--no-db")
    assert res.code == 0, res.stderr
    (trial,) = res.trials
    assert trial["cpus"] == [last]
    assert {r["metrics"]["cpus"] for r in trial["runs"]} == {1}
    assert {r["metrics"]["first_cpu"] for r in trial["runs"]} == {last}
    assert res.results["environment"]["affinity"] == CPUS


def test_affinity_option_overrides_the_spec(runner_cli):
    wanted = f"{CPUS[0]}-{CPUS[1]}" if CPUS[1] == CPUS[0] + 1 else f"{CPUS[0]},{CPUS[1]}"
    res = runner_cli.run_spec(spec(f"cpus: {CPUS[0]}\n"), "--no-db", "--affinity", wanted)
    assert res.code == 0, res.stderr
    assert res.trials[0]["cpus"] == CPUS[:2]
    assert res.trials[0]["runs"][0]["metrics"]["cpus"] == 2
    unpinned = runner_cli.run_spec(spec(), "--no-db")
    assert unpinned.trials[0]["cpus"] is None
    assert unpinned.trials[0]["runs"][0]["metrics"]["cpus"] == len(CPUS)


@pytest.mark.parametrize("value", ["999", "1-0", "a"])
def test_bad_cpu_sets_are_one_line_errors(runner_cli, value):
    res = runner_cli.run("run", runner_cli.write("s.yaml", spec()), "--affinity", value)
    assert res.code == 2 and "argument --affinity: " in res.stderr
    bad = runner_cli.write("bad.yaml", spec(f"cpus: '{value}'\n"))
    res = runner_cli.run("validate", bad)
    assert res.code == 2 and res.stderr.startswith(f"{bad}:6:"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("model", ["tcp", "udp"])
def test_network_server_and_clients_are_placed_apart(runner_cli, model):
    server, client = CPUS[0], CPUS[1]
    params = "{workload: echo, clients: 2, messages: 50}" if model == "tcp" else (
        "{workload: echo, clients: 1, messages: 200}")  # fmt: skip
    spec = (f"model: {model}\nparams: {params}\nrepeat: 1\nwarmup: 0\n"
            f"matrix: {{server_cpus: ['{server}'], client_cpus: [{client}]}}\n")  # fmt: skip
    res = runner_cli.run_spec(spec, "--no-db")
    assert res.code == 0, res.stderr
    (trial,) = res.trials
    assert (trial["params"]["server_cpus"], trial["params"]["client_cpus"]) == ([server], [client])
    bad = runner_cli.write(
        "bad.yaml", spec.replace(f"client_cpus: [{client}]", "client_cpus: [99]")
    )
    res = runner_cli.run("validate", bad)
    assert res.code == 2 and "CPU 99 is not available here" in res.stderr, res.stderr
