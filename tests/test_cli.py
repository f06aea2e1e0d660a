"""The command line: version, help, list, schema, show, validate and plugin loading."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PLUGINS = HERE / "plugins"
EXPERIMENTS = HERE.parent / "experiments"


def test_version(runner_cli):
    from runner import __version__

    res = runner_cli.run("--version")
    assert res.code == 0 and res.stdout.strip() == f"runner {__version__}"


@pytest.mark.parametrize("command", ["run", "validate", "list", "show", "schema"])
def test_help_of_each_command(runner_cli, command):
    res = runner_cli.run(command, "--help")
    assert res.code == 0
    assert res.stdout.startswith(f"usage: runner {command}")


def test_unknown_command_is_a_usage_error(runner_cli):
    res = runner_cli.run("frobnicate")
    assert res.code == 2 and "invalid choice: 'frobnicate'" in res.stderr


def test_list_shows_models_params_defaults_and_metrics(runner_cli):
    res = runner_cli.run("list", "pool")
    assert res.code == 0, res.stderr
    assert "pool: Process pools" in res.stdout
    assert "workers: int = 3" in res.stdout
    assert "tasks_per_s [tasks/s]  higher is better" in res.stdout
    assert "thread:" not in res.stdout
    assert runner_cli.run("list", "nosuch").code == 2


def test_schema_covers_the_envelope_and_every_model(runner_cli):
    res = runner_cli.run("schema")
    assert res.code == 0
    schema = json.loads(res.stdout)
    exp = schema["$defs"]["Experiment"]
    assert {"model", "params", "matrix", "repeat", "expect"} <= set(exp["properties"])
    assert {"pool", "thread"} <= set(exp["properties"]["model"]["enum"])
    branch = next(b for b in exp["allOf"] if b["if"]["properties"]["model"]["const"] == "pool")
    ref = branch["then"]["properties"]["params"]["$ref"].rsplit("/", 1)[-1]
    assert schema["$defs"][ref]["properties"]["workers"]["maximum"] == 512


def test_show_expands_the_matrix_without_running(runner_cli):
    res = runner_cli.run("show", EXPERIMENTS / "pool_async.yaml", "--json")
    assert res.code == 0, res.stderr
    trials = json.loads(res.stdout)
    assert [t["id"] for t in trials] == ["pool_async[mode=apply]", "pool_async[mode=apply_async]"]
    assert trials[0]["params"]["workers"] == 3 and trials[0]["params"]["chunksize"] == 0
    assert (
        'pool_async[mode=apply]: mode="apply"'
        in runner_cli.run("show", EXPERIMENTS / "pool_async.yaml").stdout
    )


def test_validate_accepts_every_example_spec(runner_cli):
    specs = sorted(EXPERIMENTS.glob("*.yaml"))
    res = runner_cli.run("validate", *specs)
    assert res.code == 0, res.stderr
    assert res.stdout.count(": ok (") >= len(specs)


SQUARE = "model: square\nparams: {n: 7}\nrepeat: 2\nwarmup: 0\n"


def test_out_of_tree_plugin_through_p(runner_cli):
    res = runner_cli.run_spec(SQUARE, "-p", str(PLUGINS / "extmodel.py"))
    assert res.code == 0, res.stderr
    assert res.median("square") == 49


def test_out_of_tree_plugin_through_a_spec_key(runner_cli):
    res = runner_cli.run_spec(f"plugins: [{PLUGINS / 'extmodel.py'}]\n" + SQUARE)
    assert res.code == 0, res.stderr
    assert res.median("square") == 49


def test_plugin_by_module_name(runner_cli):
    runner_cli.env["PYTHONPATH"] += f":{PLUGINS}"
    res = runner_cli.run_spec(SQUARE, "-p", "extmodel")
    assert res.code == 0, res.stderr


def test_spec_plugin_path_is_relative_to_the_spec(runner_cli):
    (runner_cli.path / "sub").mkdir()
    (runner_cli.path / "sub" / "mine.py").write_text((PLUGINS / "extmodel.py").read_text())
    spec = runner_cli.write("sub/x.yaml", "plugins: [mine.py]\n" + SQUARE)
    assert runner_cli.run("validate", spec).code == 0


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        ("bad_import.py", "ImportError: missing_dependency is not installed"),
        ("bad_hook.py", "did you mean 'runner_models'?"),
        ("bad_hook_arg.py", "runner_trial_done"),
        ("clash.py", "model 'thread' is defined by two plugins: 'thread' and"),
    ],
)
def test_broken_plugins_give_one_line_naming_them(runner_cli, plugin, message):
    res = runner_cli.run("-p", str(PLUGINS / plugin), "list")
    assert res.code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert plugin in lines[0], lines  # the culprit is named by its file


def test_a_clash_with_a_built_in_model_the_spec_does_not_use(runner_cli):
    # validate imports only the pool model's module; the clash with thread is still found.
    res = runner_cli.run(
        "-p", str(PLUGINS / "clash.py"), "validate", str(EXPERIMENTS / "pool_async.yaml")
    )
    assert res.code == 2, res.stderr
    assert "model 'thread' is defined by two plugins: 'thread' and" in res.stderr, res.stderr


def test_blocking_a_builtin_plugin(runner_cli):
    res = runner_cli.run("-p", "no:thread", "list")
    assert res.code == 0 and "thread:" not in res.stdout and "pool:" in res.stdout
    # With the built-in blocked, a plugin may take its model name.
    res = runner_cli.run("-p", "no:thread", "-p", str(PLUGINS / "clash.py"), "list", "--plugins")
    assert res.code == 0, res.stderr


def test_list_plugins_shows_source_and_hooks(runner_cli):
    res = runner_cli.run("list", "--plugins", "-p", str(PLUGINS / "extmodel.py"))
    assert res.code == 0, res.stderr
    assert re.search(r"^pool .*\[built-in\]: runner_models$", res.stdout, re.M)
    assert f"{PLUGINS / 'extmodel.py'} [-p]: runner_models" in res.stdout


def test_a_run_writes_versioned_json_with_environment(runner_cli):
    res = runner_cli.run_spec(SQUARE + "matrix: {n: [2, 3]}\n", "-p", str(PLUGINS / "extmodel.py"))
    assert res.code == 0
    data = res.results
    assert data["schema"] == "runner.results" and data["schema_version"] == 1
    assert {"python", "platform", "cpu", "packages", "git_commit"} <= set(data["environment"])
    trial = res.trials[1]
    assert trial["params"] == {"n": 3} and trial["swept"] == {"n": 3}
    assert trial["summary"]["square"] == {
        "n": 2, "median": 9, "mean": 9, "stdev": 0.0, "min": 9, "max": 9,
        "ci_low": 9, "ci_high": 9, "ci_level": 0.5, "unstable": False,
    }  # fmt: skip
    assert len(trial["runs"]) == 2 and trial["runs"][0]["elapsed_s"] > 0


def test_quiet_prints_nothing(runner_cli):
    res = runner_cli.run_spec(SQUARE, "-q", "-p", str(PLUGINS / "extmodel.py"))
    assert res.code == 0 and res.stdout == "" and res.stderr == ""


def test_plain_output_without_a_tty(runner_cli):
    res = runner_cli.run_spec(SQUARE, "-p", str(PLUGINS / "extmodel.py"))
    assert "[1/1] spec1 ok" in res.stderr
    assert "square" in res.stdout and "\x1b[" not in res.stdout + res.stderr


def test_a_plugin_hook_that_raises_is_named(runner_cli):
    plugin = PLUGINS / "raising_reporter.py"
    res = runner_cli.run_spec(SQUARE, "-p", str(PLUGINS / "extmodel.py"), "-p", str(plugin))
    assert res.code == 3
    assert res.stderr.strip() == (
        f"runner: error in plugin '{plugin}' ({plugin}:8): RuntimeError: the reporter is broken "
        "(--debug shows the traceback)"
    )
