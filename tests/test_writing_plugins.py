"""Writing plugins: the errors that guide an author, `runner list --plugins`, the test kit,
the walkthrough in docs/writing-plugins.md and the example reporter, all used as an author
would use them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from docblocks import command_argv, console_checks, doc_files, run_console_check, shape
from msgspec import ValidationError
from test_terminal import run_in_terminal, screen_lines

from runner.testing import RunnerCli, TrialFailed, run_trial

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"
DOC = ROOT / "docs" / "writing-plugins.md"
JSONL = ROOT / "examples" / "runner-jsonl"
SLEEP = {"workload": "sleep", "threads": 2, "task_seconds": 0.01}


# -- the walkthrough's files and checked commands, read from the page --------------------


def write_doc_package(folder: Path) -> Path:
    for rel, text in doc_files(DOC).items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return folder


def test_the_walkthrough_has_its_files_and_checks() -> None:
    files = doc_files(DOC)
    assert {"runner_pipe/plugin.py", "setup.cfg", "experiments/pipe.yaml"} <= set(files)
    assert "runner.plugins =\n    pipe = runner_pipe.plugin" in files["setup.cfg"]
    assert [c for c, _ in console_checks(DOC)] == [
        "runner new-plugin relay",
        "runner list pipe",
        "runner validate bad.yaml",
        "runner validate bad_bounds.yaml",
    ]
    assert [c for c, _ in console_checks(DOC, "check-shape")] == [
        "runner run experiments/pipe.yaml"
    ]


def test_the_walkthrough_plugin_runs_from_its_folder(tmp_path: Path) -> None:
    """The page's files, loaded with -p (the installed case is in test_new_plugin.py)."""
    folder = write_doc_package(tmp_path / "runner-pipe")
    cli = RunnerCli(folder)
    cli.env["PYTHONPATH"] += os.pathsep + str(folder)
    res = cli.run_spec(folder / "experiments" / "pipe.yaml", "-p", "runner_pipe.plugin", "--no-db")
    assert res.code == 0, res.stderr
    assert [t["swept"] for t in res.trials] == [{"payload_bytes": n} for n in (16, 1024, 65536)]
    assert all(t["summary"]["lost"]["median"] == 0 for t in res.trials)
    assert all(t["summary"]["msgs_per_s"]["median"] > 0 for t in res.trials)
    runner = [sys.executable, "-m", "runner", "-p", "runner_pipe.plugin"]
    for command, output in console_checks(DOC):
        # Loaded with -p, the plugin is named by its module, not by its entry point.
        expected = output.replace("[plugin pipe]", "[plugin runner_pipe.plugin]")
        run_console_check(command, expected, folder, cli.env, runner)
    for command, expected in console_checks(DOC, "check-shape"):  # measured: on a terminal
        argv = command_argv(command, ["runner", "-p", "runner_pipe.plugin"])
        out = "\n".join(screen_lines(run_in_terminal(cli, *argv[1:], cols=80)))
        assert shape(out) == shape(expected), f"$ {command}\n{out}"
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "runner.testing", "tests"],
        check=False, cwd=folder, env=cli.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout


# -- errors that point at the fix --------------------------------------------------------


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (
            "pw_misspelt_hook.py",
            "unknown hook 'runner_trial_dne'; did you mean 'runner_trial_done'?",
        ),
        (
            "pw_misspelt_arg.py",
            "runner_trial_done(): no argument 'sesion'; did you mean 'session'? "
            "(it offers: session, trial, result)",
        ),
        ("pw_default_arg.py", "runner_trial_done(): argument 'result' is never passed"),
        ("pw_undecorated.py", "runner_models() is not marked as a hook, so it is never called"),
        ("pw_returns_one.py", "runner_models() returned One; return a list of models"),
        ("pw_returns_class.py", "returned the class Klass; return an instance: Klass()"),
        ("pw_run_signature.py", "model 'pw_noctx': `run` must take (params, ctx)"),
        ("pw_bad_default.py", "model 'pw_count': the default of param 'count' is invalid"),
        (
            "pw_schema_json.py",
            "model 'pw_host': params schema cannot be built: type <class "
            "'runner_plugin_pw_schema_json.Host'> is not supported",
        ),
        (
            "pw_import_error.py",
            "cannot import (tests/plugins/pw_import_error.py:7): NameError: name 'Feild'",
        ),
        (
            "pw_schema_class.py",
            "model 'pw_socket_class': params schema cannot be built: type <class "
            "'socket.socket'> is not supported",
        ),
    ],
)
def test_a_plugin_mistake_is_one_line_naming_plugin_and_fix(plugin: str, message: str) -> None:
    cli = RunnerCli(ROOT)  # from the checkout, so paths in messages are relative to it
    res = cli.run("-p", f"tests/plugins/{plugin}", "list")
    assert res.code == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("runner: error: plugin "), line
    assert plugin in line and message in line, line


def test_two_plugins_defining_one_model_are_both_named(runner_cli: RunnerCli) -> None:
    first, second = PLUGINS / "pw_clash.py", PLUGINS / "pw_clash_twin.py"
    res = runner_cli.run("-p", str(first), "-p", str(second), "list")
    assert res.code == 2
    assert res.stderr.strip() == (
        f"runner: error: model 'pw_twin' is defined by two plugins: '{first}' and "
        f"'{second}'; block one with -p no:NAME"
    )
    res = runner_cli.run("-p", str(first), "-p", str(second), "-p", f"no:{second}", "list")
    assert res.code == 0, res.stderr
    assert f"pw_twin:   [plugin {first}]" in res.stdout


@pytest.mark.parametrize(
    ("returns", "message"),
    [
        (
            "undeclared",
            "run() returned undeclared metric 'itmes'; add Metric('itmes', ...) to `metrics` "
            "(declared: items, ratio)",
        ),
        ("string", "metric 'items' is str '3', not a number; return an int or a float"),
        ("bool", "metric 'items' is bool True, not a number; return an int or a float"),
        ("list", "run() returned list; return a dict of metric values"),
    ],
)
def test_bad_metric_values_name_plugin_model_and_fix(returns: str, message: str) -> None:
    result = run_trial(
        "pw_metrics", {"returns": returns}, plugins=[PLUGINS / "pw_metrics.py"], check=False
    )
    assert result.status == "error"
    assert result.error == (
        f"run 1: plugin '{PLUGINS / 'pw_metrics.py'}', model 'pw_metrics': {message}"
    )


def test_any_real_number_is_a_metric_value() -> None:
    result = run_trial("pw_metrics", {"returns": "numpy_like"}, plugins=[PLUGINS / "pw_metrics.py"])
    assert (result.median("items"), result.median("ratio")) == (3, 0.5)


# -- runner list --plugins ----------------------------------------------------------------


def _plugin_lines(stdout: str) -> dict[str, str]:
    return {line.split(" ", 1)[0]: line for line in stdout.splitlines()}


def test_list_plugins_shows_name_version_source_and_hooks(runner_cli: RunnerCli) -> None:
    every = PLUGINS / "pw_every_hook.py"
    res = runner_cli.run("-p", str(every), "list", "--plugins")
    assert res.code == 0, res.stderr
    lines = _plugin_lines(res.stdout)
    from runner import __version__

    assert lines["thread"] == f"thread {__version__} [built-in]: runner_models"
    assert lines["executors"] == (
        f"executors {__version__} [built-in]: runner_make_executor, runner_register_commands, "
        "runner_session_start"
    )
    assert lines[str(every)] == (
        f"{every} [-p]: runner_make_executor, runner_models, runner_register_commands, "
        "runner_run_done, runner_session_finish, runner_session_start, runner_trial_done, "
        "runner_trial_start"
    )


def test_a_spec_s_plugins_are_listed_with_their_version(runner_cli: RunnerCli) -> None:
    path = PLUGINS / "pw_metrics.py"
    spec = runner_cli.write("spec.yaml", f"plugins: [{path}]\nmodel: pw_metrics\n")
    res = runner_cli.run("list", "--plugins", "--spec", spec)
    assert f"{path} 2.5.1 [spec]: runner_models" in res.stdout.splitlines()
    res = runner_cli.run("-p", str(path), "list", "--plugins")
    assert f"{path} 2.5.1 [-p]: runner_models" in res.stdout.splitlines()
    res = runner_cli.run("list", "--spec", spec, "pw_metrics")
    assert res.stdout.startswith(
        f"pw_metrics: Returns the metrics its params ask for  [plugin {path}]"
    )
    runner_cli.write("bad.yaml", "plugins: [missing.py]\nmodel: pw_metrics\n")
    res = runner_cli.run("list", "--plugins", "--spec", "bad.yaml")
    assert res.code == 2
    assert res.stderr.strip() == (
        f"bad.yaml:1:11: plugins[0]: plugin file {runner_cli.path / 'missing.py'}: not found"
    )


def test_p_of_an_already_loaded_module_is_not_an_error(runner_cli: RunnerCli) -> None:
    res = runner_cli.run("-p", "runner.report.jsonfile", "list", "--plugins")
    assert res.code == 0, res.stderr
    assert len([ln for ln in res.stdout.splitlines() if "runner_session_finish" in ln]) >= 1
    assert "runner.report.jsonfile" not in res.stdout  # still the one built-in `jsonfile`


# -- runner.testing: run_trial and its fixture -------------------------------------------


def test_run_trial_runs_warmups_and_repeats_in_a_worker() -> None:
    result = run_trial("thread", SLEEP, repeat=3, warmup=1)
    assert result.status == "ok"
    assert (len(result.runs), len(result.warmup_runs)) == (3, 1)
    assert result.params == {**result.params, **SLEEP}  # defaults filled in, given kept
    assert result.params["increments"] == 1_000_000
    assert len(result.values("wall_s")) == 3
    assert result.summary["wall_s"].n == 3
    assert result.median("wall_s") == sorted(result.values("wall_s"))[1]
    assert result.max_rss_kib and result.max_rss_kib > 0
    with pytest.raises(KeyError, match="'lost_updates' was not reported"):
        result.median("lost_updates")


def test_run_trial_finds_the_same_values_as_runner_run(runner_cli: RunnerCli) -> None:
    params = {"workload": "counter", "threads": 2, "increments": 2000, "lock": "per_increment"}
    result = run_trial("thread", params, repeat=2)
    res = runner_cli.run_spec(f"model: thread\nparams: {params}\nrepeat: 2\nwarmup: 0\n")
    assert result.params == res.trials[0]["params"]
    for name in ("expected", "final", "lost_updates"):
        assert result.values(name) == [r["metrics"][name] for r in res.trials[0]["runs"]]


def test_run_trial_takes_plugins_as_files_names_or_modules() -> None:
    path = PLUGINS / "pw_metrics.py"
    assert run_trial("pw_metrics", plugins=[path]).median("items") == 3
    assert run_trial("pw_metrics", plugins=[str(path)]).median("items") == 3
    sys.path.insert(0, str(PLUGINS))
    try:
        import pw_metrics

        assert run_trial("pw_metrics", plugins=["pw_metrics"]).median("items") == 3
        assert run_trial("pw_metrics", plugins=[pw_metrics]).median("items") == 3
    finally:
        sys.path.remove(str(PLUGINS))
        sys.modules.pop("pw_metrics", None)


def test_run_trial_reports_failures_with_the_trial_s_stderr() -> None:
    with pytest.raises(TrialFailed, match=r"(?s)trial thread timeout: run 1 did not finish"):
        run_trial("thread", {**SLEEP, "task_seconds": 5}, timeout=0.3)
    result = run_trial("thread", {**SLEEP, "task_seconds": 5}, timeout=0.3, check=False)
    assert (result.status, result.runs) == ("timeout", [])


def test_run_trial_refuses_bad_params_and_unknown_models() -> None:
    with pytest.raises(ValidationError, match="threads"):
        run_trial("thread", {"threads": 0})
    with pytest.raises(ValidationError, match="unknown field `thraeds`"):
        run_trial("thread", {"thraeds": 2})
    with pytest.raises(ValueError, match=r"unknown model 'pw_metrics' \(known: .*thread"):
        run_trial("pw_metrics")


def test_runner_trial_fixture_runs_from_a_temporary_folder(runner_trial, tmp_path: Path) -> None:
    result = runner_trial("pool", {"task": "noop", "tasks": 10, "workers": 1})
    assert result.median("tasks_per_s") > 0
    assert Path.cwd() == tmp_path


# -- the example reporter, examples/runner-jsonl ------------------------------------------


def test_the_example_reporter_appends_a_line_per_trial(runner_cli: RunnerCli) -> None:
    runner_cli.env["PYTHONPATH"] += os.pathsep + str(JSONL)
    spec = f"model: thread\nparams: {SLEEP}\nmatrix: {{threads: [1, 2, 3]}}\nrepeat: 2\nwarmup: 0\n"
    res = runner_cli.run_spec(spec, "-p", "runner_jsonl", "--jsonl", "t.jsonl", "--no-db")
    assert res.code == 0, res.stderr
    lines = (runner_cli.path / "t.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert all('"status":"ok"' in line for line in lines)
    assert "runner-jsonl: 3 trials appended to t.jsonl" in res.stderr
    usage = runner_cli.run("-p", "runner_jsonl", "run", "--help")
    assert "--jsonl FILE.jsonl" in usage.stdout
