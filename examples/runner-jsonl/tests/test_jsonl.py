"""runner-jsonl through the public interface: the command line and its entry point."""

from __future__ import annotations

import json

from runner.testing import RunnerCli

SPEC = """\
name: sleepers
model: thread
params: {workload: sleep, task_seconds: 0.01}
matrix: {threads: [1, 2]}
repeat: 3
warmup: 0
"""


def _lines(runner_cli: RunnerCli, name: str) -> list[dict]:
    return [json.loads(line) for line in (runner_cli.path / name).read_text().splitlines()]


def test_each_trial_is_appended_as_it_finishes(runner_cli: RunnerCli) -> None:
    first = runner_cli.run_spec(SPEC, "-p", "runner_jsonl", "--jsonl", "out/trials.jsonl")
    assert first.code == 0, first.stderr
    second = runner_cli.run_spec(SPEC, "-p", "runner_jsonl", "--jsonl", "out/trials.jsonl")
    assert second.code == 0, second.stderr
    lines = _lines(runner_cli, "out/trials.jsonl")
    assert [(x["trial"], x["status"]) for x in lines] == [
        ("sleepers[threads=1]", "ok"),
        ("sleepers[threads=2]", "ok"),
    ] * 2
    assert [x["run_id"] for x in lines] == [first.results["run_id"]] * 2 + [
        second.results["run_id"]
    ] * 2
    for line, trial in zip(lines[2:], second.trials, strict=True):
        assert line["schema"] == "runner-jsonl/1"
        assert line["params"] == trial["params"]
        assert line["runs"] == 3
        assert line["median"]["wall_s"] == trial["summary"]["wall_s"]["median"]
        assert line["units"]["wall_s"] == "s"
    assert "runner-jsonl: 2 trials appended" in second.stderr


def test_a_failed_trial_is_recorded_with_its_error(runner_cli: RunnerCli) -> None:
    spec = "model: thread\nparams: {workload: sleep, task_seconds: 5}\nrepeat: 1\nwarmup: 0\n"
    res = runner_cli.run_spec(spec + "timeout: 0.3\n", "-p", "runner_jsonl", "--jsonl", "t.jsonl")
    assert res.code == 1
    (line,) = _lines(runner_cli, "t.jsonl")
    assert line["status"] == "timeout"
    assert "timeout" in line["error"]
    assert line["median"] == {}


def test_an_unwritable_file_stops_the_session_before_any_trial(runner_cli: RunnerCli) -> None:
    runner_cli.write("taken/placeholder", "")
    res = runner_cli.run_spec(SPEC, "-p", "runner_jsonl", "--jsonl", "taken")
    assert res.code == 2
    assert res.stderr.strip().splitlines() == [
        "runner: error: --jsonl taken: cannot append: Is a directory"
    ]
    assert res.results is None


def test_without_the_option_nothing_is_written(runner_cli: RunnerCli) -> None:
    res = runner_cli.run_spec(SPEC, "-p", "runner_jsonl")
    assert res.code == 0, res.stderr
    assert list(runner_cli.path.rglob("*.jsonl")) == []


def test_found_through_its_entry_point(runner_cli: RunnerCli) -> None:
    del runner_cli.env["RUNNER_DISABLE_PLUGIN_AUTOLOAD"]
    res = runner_cli.run("list", "--plugins")
    assert res.code == 0, res.stderr
    (line,) = [ln for ln in res.stdout.splitlines() if ln.startswith("jsonl ")]
    assert line.startswith("jsonl 0.1.0 [entry point (runner-jsonl 0.1.0)]: ")
    hooks = line.split(": ", 1)[1].split(", ")
    assert hooks == [
        "runner_register_commands",
        "runner_session_finish",
        "runner_session_start",
        "runner_trial_done",
    ]
    run = runner_cli.run_spec(SPEC, "--jsonl", "auto.jsonl")
    assert run.code == 0, run.stderr
    assert len(_lines(runner_cli, "auto.jsonl")) == 2
