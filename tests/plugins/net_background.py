"""Test helper: run a server (``runner serve`` or a net_* script) in the background.

The server prints its address on its first line; :func:`background` waits for it, and
always stops the process (SIGINT, then SIGKILL) however the test ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PLUGINS = Path(__file__).resolve().parent


@dataclasses.dataclass
class Running:
    proc: subprocess.Popen[str]
    first_line: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def interrupt(self, timeout: float = 15) -> tuple[int, str, str]:
        """Ctrl-C: return the exit code and the rest of stdout and stderr."""
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["RUNNER_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0]:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"server printed no address within {timeout} s; stderr:\n{err}")
    return lines[0]


@contextlib.contextmanager
def background(*args: str, timeout: float = 30) -> Iterator[Running]:
    """Start ``python ARGS...``; yield once it has printed ``... on HOST:PORT ...``."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=ROOT,
    )
    try:
        line = _first_line(proc, timeout)
        match = re.search(r" on (\S+):(\d+)", line)
        assert match, f"no HOST:PORT in {line!r}"
        yield Running(proc, line, match.group(1), int(match.group(2)))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate(timeout=10)


def serve(*args: str) -> contextlib.AbstractContextManager[Running]:
    """``runner serve ARGS...`` in the background, for two minutes at most."""
    return background("-m", "runner", "serve", "--duration", "120", *args)


def script(name: str, *args: str) -> contextlib.AbstractContextManager[Running]:
    """A test server script from this directory, e.g. ``net_lossy_proxy.py``."""
    return background(str(PLUGINS / name), *args)
