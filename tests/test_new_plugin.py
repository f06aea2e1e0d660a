"""`runner new-plugin`: the package it writes installs, lists, runs and passes its tests."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from docblocks import console_checks, run_console_check
from test_writing_plugins import write_doc_package

from runner.testing import RunnerCli

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
JSONL = ROOT / "examples" / "runner-jsonl"
DOC = ROOT / "docs" / "writing-plugins.md"
FILES = [
    ".gitignore",
    "README.md",
    "experiments/relay.yaml",
    "pyproject.toml",
    "runner_relay/__init__.py",
    "runner_relay/plugin.py",
    "setup.cfg",
    "tests/test_relay.py",
]


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _run(argv: list, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{argv}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_new_plugin_writes_a_package(runner_cli: RunnerCli) -> None:
    res = runner_cli.run("new-plugin", "relay")
    assert res.code == 0, res.stderr
    folder = runner_cli.path / "runner-relay"
    assert _tree(folder) == FILES
    assert res.stdout.splitlines()[:9] == [
        "created runner-relay/ with the `relay` model:",
        *(f"  runner-relay/{f}" for f in FILES),
    ]
    # docs/writing-plugins.md opens with this very command and its output.
    assert f"```console check\n$ runner new-plugin relay\n{res.stdout}```\n" in DOC.read_text()
    setup = (folder / "setup.cfg").read_text()
    assert "name = runner-relay\n" in setup
    assert "runner.plugins =\n    relay = runner_relay.plugin\n" in setup
    plugin = (folder / "runner_relay" / "plugin.py").read_text()
    assert 'class RelayModel(Model):\n    name = "relay"\n' in plugin
    assert "$" not in "".join(p.read_text() for p in folder.rglob("*") if p.is_file())


def test_the_generated_package_is_lint_clean(runner_cli: RunnerCli) -> None:
    assert runner_cli.run("new-plugin", "my_relay").code == 0
    folder = runner_cli.path / "runner-my-relay"
    assert "class MyRelayModel(Model):" in (folder / "runner_my_relay" / "plugin.py").read_text()
    ruff = [sys.executable, "-m", "ruff"]
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    rules = ["--isolated", "--line-length", "100", "--select", "E,F,W,I,B,UP,RUF,SIM,PL"]
    _run([*ruff, "check", *rules, "--ignore", "PLR2004", "."], folder, dict(os.environ))
    _run([*ruff, "format", "--isolated", "--line-length", "100", "--check", "."], folder, {})


def test_the_generated_spec_and_tests_pass_from_the_folder(runner_cli: RunnerCli) -> None:
    """Without installing: -p and PYTHONPATH (installed, in the slow test below)."""
    assert runner_cli.run("new-plugin", "relay").code == 0
    folder = runner_cli.path / "runner-relay"
    runner_cli.env["PYTHONPATH"] += os.pathsep + str(folder)
    # They run the example spec too (its `expect` fails a trial that lost an item).
    tests = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "runner.testing", "-p", "no:cacheprovider"],
        folder,
        runner_cli.env,
    )
    assert "3 passed" in tests.stdout


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("my-pipe", "my_pipe"), ("class", "my_class"), ("9lives", "my_9lives"), ("a b", "a_b")],
)
def test_an_invalid_name_is_refused_with_a_suggestion(
    runner_cli: RunnerCli, name: str, suggestion: str
) -> None:
    res = runner_cli.run("new-plugin", name)
    assert res.code == 2
    assert res.stderr.strip() == (
        f"runner: error: new-plugin: {name!r} is not a valid name; use a Python identifier "
        f"such as {suggestion!r}"
    )
    assert list(runner_cli.path.iterdir()) == []


def test_an_existing_folder_is_never_touched(runner_cli: RunnerCli) -> None:
    runner_cli.write("runner-relay/README.md", "mine\n")
    res = runner_cli.run("new-plugin", "relay")
    assert res.code == 2
    assert res.stderr.strip() == (
        "runner: error: new-plugin: runner-relay already exists; nothing was written "
        "(choose another --dir)"
    )
    assert _tree(runner_cli.path / "runner-relay") == ["README.md"]
    assert (runner_cli.path / "runner-relay" / "README.md").read_text() == "mine\n"
    (runner_cli.path / "empty").mkdir()
    assert runner_cli.run("new-plugin", "relay", "--dir", "empty").code == 2
    assert list((runner_cli.path / "empty").iterdir()) == []


def test_dir_chooses_the_folder_and_creates_its_parents(runner_cli: RunnerCli) -> None:
    res = runner_cli.run("new-plugin", "relay", "--dir", "src/plugins/relay")
    assert res.code == 0, res.stderr
    assert _tree(runner_cli.path / "src" / "plugins" / "relay") == FILES
    assert "  cd src/plugins/relay" in res.stdout.splitlines()


def test_the_name_of_a_loaded_model_is_refused(runner_cli: RunnerCli) -> None:
    res = runner_cli.run("new-plugin", "thread")
    assert res.code == 2
    assert res.stderr.strip() == (
        "runner: error: new-plugin: a model named 'thread' already exists (plugin 'thread'); "
        "choose another name"
    )
    assert list(runner_cli.path.iterdir()) == []


# -- the whole path, as a plugin author takes it -------------------------------------------


def _site_dirs() -> list[str]:
    """Where this environment's packages are: a venv's own, or the interpreter's."""
    import site
    import sysconfig

    dirs = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()]
    return list(dict.fromkeys(d for d in dirs if Path(d).is_dir()))


def _venv(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment over this environment's packages, and an env to use it.

    Not --system-site-packages: run from a venv, that reaches the base interpreter's
    packages, not the venv's where the test tools are.  A .pth file in the new venv adds
    this environment's site folders after its own, so what is installed into it wins.
    """
    venv = tmp_path / "venv"
    # --without-pip: this environment's pip, seen through the .pth file, installs into the
    # venv (sys.prefix) and saves the seconds ensurepip takes.
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, {})
    py = venv / "bin" / "python"
    purelib = _run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   tmp_path, {}).stdout.strip()  # fmt: skip
    (Path(purelib) / "_outer_env.pth").write_text("".join(f"{d}\n" for d in _site_dirs()))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("RUNNER_DISABLE_PLUGIN_AUTOLOAD", None)
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1")
    env["VIRTUAL_ENV"] = str(venv)
    return venv, env


def _pip_install(venv: Path, env: dict, tmp_path: Path, *folders: Path) -> None:
    py = venv / "bin" / "python"
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Editable installs without build isolation need wheel beside setuptools < 70.1; the
    # test extra brings it, else it is fetched once into the venv.
    probe = subprocess.run([py, "-c", "import wheel"], capture_output=True, check=False)
    if probe.returncode != 0:
        _run([*pip, "wheel"], tmp_path, env)
    editable = [arg for folder in folders for arg in ("-e", folder)]
    _run([*pip, "--no-deps", "--no-build-isolation", *editable], tmp_path, env)


@pytest.mark.slow
def test_a_scaffolded_plugin_installs_lists_runs_and_passes_its_tests(tmp_path: Path) -> None:
    venv, env = _venv(tmp_path)
    _pip_install(venv, env, tmp_path, ROOT, JSONL)
    runner = str(venv / "bin" / "runner")

    # The scaffold, from the installed command (its templates are package data).
    _run([runner, "new-plugin", "relay"], tmp_path, env)
    relay = tmp_path / "runner-relay"
    pipe = write_doc_package(tmp_path / "runner-pipe")  # docs/writing-plugins.md's walkthrough
    _pip_install(venv, env, tmp_path, relay, pipe)

    listed = _run([runner, "list", "--plugins"], tmp_path, env).stdout.splitlines()
    assert "relay 0.1.0 [entry point (runner-relay 0.1.0)]: runner_models" in listed
    assert "pipe 0.1.0 [entry point (runner-pipe 0.1.0)]: runner_models" in listed
    assert (
        "jsonl 0.1.0 [entry point (runner-jsonl 0.1.0)]: runner_register_commands, "
        "runner_session_finish, runner_session_start, runner_trial_done"
    ) in listed
    models = _run([runner, "list", "relay"], tmp_path, env).stdout
    assert models.startswith(
        "relay: Producer and consumer threads over a queue.Queue  [plugin relay]"
    )

    # The scaffold's own spec, with the example reporter on: both through entry points.
    argv = [runner, "run", "experiments/relay.yaml", "-o", "out.json", "--no-db"]
    _run([*argv, "--jsonl", "trials.jsonl"], relay, env)
    trials = [
        t for e in json.loads((relay / "out.json").read_text())["experiments"] for t in e["trials"]
    ]
    assert [t["status"] for t in trials] == ["ok", "ok", "ok"]
    lines = [json.loads(x) for x in (relay / "trials.jsonl").read_text().splitlines()]
    assert [x["trial"] for x in lines] == [t["id"] for t in trials]
    assert "3 passed" in _run([venv / "bin" / "python", "-m", "pytest", "-q"], relay, env).stdout

    # The walkthrough's checked commands, as the page shows them, then its spec and test.
    for command, expected in console_checks(DOC):
        if command.startswith("runner new-plugin"):
            continue  # made above; `relay` is installed now, so a second one is refused
        run_console_check(command, expected, pipe, env, [runner])
    _run([runner, "run", "experiments/pipe.yaml", "-q", "--no-db"], pipe, env)
    assert "1 passed" in _run([venv / "bin" / "python", "-m", "pytest", "-q"], pipe, env).stdout

    # The example reporter's own tests, against its installed entry point.
    tests = _run(
        [venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], JSONL, env
    )
    assert "5 passed" in tests.stdout
