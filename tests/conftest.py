from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

# The test kit is also a pytest11 plugin once installed; naming it here makes an
# uninstalled checkout work too (pytest skips a plugin already registered by that name).
pytest_plugins = ["runner.testing"]

PLUGINS = Path(__file__).parent / "plugins"


def tagged(marker: str) -> dict[int, str]:
    """The live processes whose environment carries ``marker``: pid -> command line."""
    found = {}
    needle = f"RUNNER_LEAK_MARKER={marker}".encode()
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            if needle not in (proc_dir / "environ").read_bytes():
                continue
            if (proc_dir / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
                continue  # finished; only its exit status waits to be collected
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            found[int(proc_dir.name)] = cmdline
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def wait_for(condition, seconds: float = 30, what: str = "condition"):
    """Poll ``condition`` until it returns something true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)
    return value


@dataclasses.dataclass
class Launch:
    """A real ``runner run`` in its own process group, its processes tagged by ``marker``."""

    dir: Path
    marker: str
    proc: subprocess.Popen | None = None

    @property
    def tmp(self) -> Path:
        return self.dir / "tmp"  # TMPDIR of the run: its temp files land here

    @property
    def out(self) -> Path:
        return self.dir / "out.json"

    @property
    def db(self) -> Path:
        return self.dir / "results.db"

    @property
    def env(self) -> dict[str, str]:
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        tags = {"RUNNER_LEAK_MARKER": self.marker, "TMPDIR": str(self.tmp)}
        quiet = {"RUNNER_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                 "NO_COLOR": "1"}  # fmt: skip
        return {**os.environ, **tags, **quiet, "PYTHONPATH": path}

    def spec(self, text: str, name: str = "spec.yaml") -> Path:
        path = self.dir / name
        path.write_text(text.replace("HOSTILE", str(PLUGINS / "hostile.py")))
        return path

    def start(self, *args: str | Path, preexec_fn=None, module: str = "runner") -> subprocess.Popen:
        self.tmp.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *map(str, args)], cwd=self.dir, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            preexec_fn=preexec_fn,  # noqa: PLW1509 - the tests start no threads
        )  # fmt: skip
        return self.proc

    def finish(self, seconds: float = 60) -> tuple[int, str]:
        """Exit code and stderr of the run, which must end within ``seconds``."""
        assert self.proc is not None
        try:
            _, err = self.proc.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            # Its processes that got away may hold its output open: they go too.
            left = tagged(self.marker)
            self.kill_all()
            self.proc.communicate()
            raise AssertionError(
                f"runner or a process holding its output did not end within {seconds} s "
                f"(alive: {sorted(left.values())})"
            ) from None
        return self.proc.returncode, err

    def run(self, *args: str | Path, seconds: float = 120, preexec_fn=None) -> tuple[int, str]:
        self.start(*args, preexec_fn=preexec_fn)
        return self.finish(seconds)

    def kill_all(self) -> None:
        """SIGKILL the run and every process that carries its tag."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in tagged(self.marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def results(self) -> dict:
        return json.loads(self.out.read_text())

    def leftovers(self, seconds: float = 10) -> dict[int, str]:
        """The run's processes still alive after up to ``seconds`` (killed ones take a moment)."""
        deadline = time.monotonic() + seconds
        while (left := tagged(self.marker)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left

    def temp_files(self) -> list[str]:
        return sorted(p.name for p in self.tmp.iterdir()) if self.tmp.exists() else []

    def store_state(self) -> str:
        from runner.store import Store

        with Store(self.db, create=False) as store:
            return store.sessions()[0].state


@pytest.fixture
def launch(tmp_path: Path):
    run = Launch(tmp_path, uuid.uuid4().hex)
    yield run
    run.kill_all()  # never leave a failed test's processes running


def median(trial: dict, metric: str) -> float:
    """The median of ``metric`` in one trial of a JSON result file."""
    return float(trial["summary"][metric]["median"])
