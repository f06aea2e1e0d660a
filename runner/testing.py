"""Test kit for runner and its plugins: run the real CLI and read what it wrote.

Also a pytest plugin (``pytest11`` entry point ``runner.testing``) that provides the
``runner_cli`` fixture::

    def test_my_model(runner_cli):
        res = runner_cli.run_spec("model: mymodel\\nparams: {n: 3}\\n")
        assert res.code == 0
        assert res.trials[0]["summary"]["items"]["median"] == 3
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest


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

    def run(self, *args: str | os.PathLike[str], timeout: float = 300, input: str | None = None) -> CliResult:
        """Run ``runner ARGS...`` and return its exit code and output."""
        proc = subprocess.run(
            [sys.executable, "-m", "runner", *map(str, args)],
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

        Extra arguments go after the spec; ``--no-db`` keeps the test's store out of it
        unless ``--db`` is given.
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


@pytest.fixture
def runner_cli(tmp_path: Path) -> RunnerCli:
    """A :class:`RunnerCli` working in a fresh temporary directory."""
    return RunnerCli(tmp_path)
