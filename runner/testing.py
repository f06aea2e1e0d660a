"""Test kit for runner and its plugins.

Two ways in, both also offered as pytest fixtures by this module's pytest plugin
(``pytest11`` entry point ``runner.testing``):

``run_trial`` (fixture ``runner_trial``) runs one trial of a model in a worker process,
through the same session and executor as ``runner run``, and returns its result::

    from runner.testing import run_trial

    def test_pipe_moves_every_message():
        result = run_trial("pipe", {"messages": 100}, plugins=["runner_pipe.plugin"])
        assert result.median("received") == 100

``runner_cli`` runs the real command line in a temporary folder and reads what it wrote::

    def test_spec_runs(runner_cli):
        res = runner_cli.run_spec("model: pipe\\nparams: {messages: 100}\\n", "-p", "runner_pipe")
        assert res.code == 0
        assert res.median("received") == 100
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from runner.results import OK, TrialResult

PluginRef = str | os.PathLike[str] | types.ModuleType


# -- run_trial: one trial, in-process session, real worker ----------------------------


class TrialFailed(AssertionError):
    """A trial that ended with a status other than ``ok`` while ``check=True``."""


@dataclasses.dataclass
class TrialOutcome(TrialResult):
    """A :class:`runner.results.TrialResult` with shortcuts for assertions."""

    def median(self, metric: str) -> float:
        """The median of ``metric`` over the measured runs."""
        if metric not in self.summary:
            reported = ", ".join(sorted(self.summary)) or "none"
            raise KeyError(f"metric {metric!r} was not reported (reported: {reported})")
        return self.summary[metric].median

    def values(self, metric: str) -> list[float]:
        """``metric`` from each measured run that reported it, in run order."""
        return [run.metrics[metric] for run in self.runs if metric in run.metrics]


def run_trial(
    model: str,
    params: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[PluginRef] = (),
    repeat: int = 1,
    warmup: int = 0,
    timeout: float = 60.0,
    autoload: bool = False,
    check: bool = True,
) -> TrialOutcome:
    """Run one trial of ``model`` in a worker process, exactly as ``runner run`` does.

    The trial goes through a :class:`runner.session.Session` and the ``local`` executor:
    a fresh worker process loads the same plugins, the model's ``setup``, ``warmup`` +
    ``repeat`` runs and ``teardown`` run in a forked child, the timeout kills it, and the
    reporter hooks of the loaded plugins are called.  Nothing is printed or stored.

    :param model: the model's name.
    :param params: the trial's params; the model's defaults fill the rest.  Invalid params
        raise ``msgspec.ValidationError``, as a spec would be refused.
    :param plugins: plugins to load besides the built-ins: module names, ``.py`` files or
        imported modules (the worker imports them again, so they must be importable from
        this test's ``sys.path``).
    :param autoload: also load installed plugins (``runner.plugins`` entry points).
    :param check: raise :class:`TrialFailed` (an AssertionError, with the error and the
        trial's stderr) unless the status is ``ok``; pass False to test failures.
    :return: the trial's result, with ``status``, ``error``, ``runs`` and ``summary``.
    """
    from runner import environment
    from runner.execute import run_session
    from runner.model import convert, dump
    from runner.plugins import PluginConfig, build
    from runner.session import RunOptions, Session
    from runner.spec import Experiment, Trial

    host = build(PluginConfig(extra=[_plugin_ref(p) for p in plugins], autoload=autoload))
    models = host.models()
    if model not in models:
        known = ", ".join(sorted(models))
        raise ValueError(
            f"unknown model {model!r} (known: {known}); name the plugin that defines it: "
            f"run_trial({model!r}, ..., plugins=['my_package.plugin'])"
        )
    given = dict(params or {})
    full = dump(convert(models[model].Params, given))
    name = f"run_trial_{model}".replace(".", "_").replace("-", "_")
    trial = Trial(
        id=model, experiment=name, model=model, index=0, params=full, swept={},
        repeat=repeat, warmup=warmup, timeout=timeout, spec="",
    )  # fmt: skip
    experiment = Experiment(
        name, "", model, given, {}, repeat, warmup, timeout, [], Path("run_trial"), [trial]
    )
    session = Session(
        experiments=[experiment],
        # What `runner run -q --no-db` would pass: no terminal output, no store, no file.
        options=RunOptions(quiet=True, no_color=True, no_db=True),
        host=host,
        environment=environment.capture(),
        argv=["run_trial", model],
    )  # fmt: skip
    with _worker_sees_sys_path():
        outcome = run_session(session)
    if outcome.interrupted:
        raise KeyboardInterrupt
    result = next(iter(outcome.trials()))
    out = TrialOutcome(**{f.name: getattr(result, f.name) for f in dataclasses.fields(result)})
    if check and out.status != OK:
        tail = out.stderr_tail.strip()
        stderr = f"\n--- stderr ---\n{tail}" if tail else ""
        raise TrialFailed(f"trial {out.id} {out.status}: {out.error}{stderr}")
    return out


def _plugin_ref(plugin: PluginRef) -> str:
    """The name or file a worker can load ``plugin`` by."""
    if isinstance(plugin, types.ModuleType):
        spec = importlib.util.find_spec(plugin.__name__) if plugin.__name__ != "__main__" else None
        if spec is not None and spec.origin == getattr(plugin, "__file__", None):
            return plugin.__name__
        if not plugin.__file__:
            raise ValueError(f"plugin module {plugin.__name__!r} has no file a worker could load")
        return str(Path(plugin.__file__).resolve())
    text = os.fspath(plugin)
    if not isinstance(plugin, str) or text.endswith(".py") or os.sep in text:
        return str(Path(text).resolve())
    return text


@contextmanager
def _worker_sees_sys_path() -> Iterator[None]:
    # The worker is a new interpreter: give it this process's import path, so a plugin
    # a test can import (a conftest folder, pytest's rootdir) is importable there too.
    current = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    entries = [p for p in sys.path if p and Path(p).is_dir()]
    ordered = [p for p in dict.fromkeys([*current, *entries]) if p]
    with mock.patch.dict(os.environ, {"PYTHONPATH": os.pathsep.join(ordered)}):
        yield


# -- runner_cli: the command line in a temporary folder --------------------------------


@dataclasses.dataclass
class CliResult:
    """What one ``runner`` command did: exit code, output and the JSON results if any."""

    code: int
    stdout: str
    stderr: str
    results: dict[str, Any] | None = None

    @property
    def trials(self) -> list[dict[str, Any]]:
        """Every trial of every experiment in the results, in order."""
        if self.results is None:
            raise AssertionError(f"no results written (exit {self.code}):\n{self.stderr}")
        return [t for exp in self.results["experiments"] for t in exp["trials"]]

    def median(self, metric: str, trial: int = 0) -> float:
        return float(self.trials[trial]["summary"][metric]["median"])


class RunnerCli:
    """Runs ``python -m runner`` in a subprocess, in a temporary working directory."""

    def __init__(self, path: Path, env: dict[str, str] | None = None) -> None:
        self.path = path
        self.env = dict(os.environ if env is None else env)
        # Only the plugins a test names: installed third-party plugins stay out.
        self.env.setdefault("RUNNER_DISABLE_PLUGIN_AUTOLOAD", "1")
        self.env.setdefault("NO_COLOR", "1")
        # A busy machine's warning would be one more stderr line in every run's output.
        self.env.setdefault("RUNNER_BUSY_LOAD", "inf")
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_checkout_root()), self.env.get("PYTHONPATH", "")) if p
        )
        self._count = 0

    def write(self, name: str, text: str) -> Path:
        """Write a file (dedented) under the temporary directory and return its path."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
        return target

    def run(
        self, *args: str | os.PathLike[str], timeout: float = 300, input: str | None = None
    ) -> CliResult:
        """Run ``runner ARGS...`` and return its exit code and output."""
        proc = subprocess.run(
            [sys.executable, "-m", "runner", *map(str, args)],
            check=False,
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def run_spec(self, spec: str | os.PathLike[str], *args: str, timeout: float = 300) -> CliResult:
        """``runner run`` a spec (a path, or YAML text written to a file) with ``-o``.

        Extra arguments go after the spec.  The results store, unless ``--no-db`` or
        ``--db`` says otherwise, is the temporary folder's own ``.runner/results.db``.
        """
        self._count += 1
        if isinstance(spec, str) and "\n" in spec:
            spec = self.write(f"spec{self._count}.yaml", spec)
        out = self.path / f"results{self._count}.json"
        extra = list(args)
        res = self.run("run", spec, "-o", out, *extra, timeout=timeout)
        if out.exists():
            res.results = json.loads(out.read_text())
        return res


def _checkout_root() -> Path:
    return Path(__file__).resolve().parent.parent


# -- the pytest plugin ---------------------------------------------------------------


@pytest.fixture
def runner_cli(tmp_path: Path) -> RunnerCli:
    """A :class:`RunnerCli` working in a fresh temporary directory."""
    return RunnerCli(tmp_path)


@pytest.fixture
def runner_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., TrialOutcome]:
    """:func:`run_trial`, run from a fresh temporary directory (files a trial leaves go there)."""
    monkeypatch.chdir(tmp_path)
    return run_trial
