"""What runs on a Dask worker: one trial per task, through the local executor.

A session gets, in each Dask worker process, one ``_SessionSide``: the plugins built from
the CLI's configuration (plugin files shipped by content into a folder of its own), the
host's environment, and a ``LocalExecutor``, so a trial there goes through the very worker,
process group, timeout and containment code as on the CLI's machine.  ``close`` ends it
at the end of the session; ``kill`` stops the running trial (Ctrl-C in the CLI).

Imported by Dask on its workers by reference: runner must be installed there, at the
CLI's version (``probe`` reports it, and the CLI refuses a difference).
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.executors.local import LocalExecutor
    from runner.plugins import PluginHost
    from runner.results import RunRecord, TrialResult
    from runner.spec import Trial

KILL_FOR_S = 30.0  # how long a kill keeps trying while a trial starts


@dataclasses.dataclass(frozen=True)
class Shipment:
    """What every task carries: the session's id, its plugin config and plugin files."""

    run_id: str
    config: dict[str, Any]  # runner.plugins.PluginConfig as a dict; files by CLI path
    files: dict[str, str]  # CLI path -> source text, for plugins given as .py files

    @property
    def topic(self) -> str:
        """The Dask event topic the session's progress goes out on."""
        return f"runner-{self.run_id}"


def plugin_versions(host: PluginHost) -> dict[str, str]:
    """runner's version and every plugin's that is not a built-in nor a shipped file."""
    from runner import __version__
    from runner.plugins import _is_path, _version

    versions = {"runner": __version__}
    for name, source in host.sources.items():
        if source == "built-in" or _is_path(name):
            continue
        if source.startswith("entry point ("):  # its distribution's, as the host found it
            versions[name] = source.rsplit(" ", 1)[-1].rstrip(")")
        else:  # -p MODULE, or a spec's module: loaded under its module name
            versions[name] = _version(sys.modules.get(name), source) or "?"
    return versions


class _SessionSide:
    def __init__(self, ship: Shipment) -> None:
        from distributed import get_worker

        from runner import environment
        from runner.executors.local import LocalExecutor
        from runner.plugins import PluginConfig, build

        # In the worker's own space, which Dask removes with the worker, even a killed one.
        space = get_worker().local_directory
        self.folder = Path(tempfile.mkdtemp(prefix=f"runner-{ship.run_id}-", dir=space))
        paths: dict[str, str] = {}
        for original, text in ship.files.items():
            digest = hashlib.sha256(text.encode()).hexdigest()[:16]
            target = self.folder / digest / Path(original).name  # the stem names the module
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            paths[original] = str(target)
        config = dict(ship.config, trace=False)
        config["extra"] = [paths.get(item, item) for item in config["extra"]]
        self.error: str | None = None
        self.versions: dict[str, str] = {}
        self.executor: LocalExecutor | None = None
        try:
            host = build(PluginConfig(**config))
            host.import_models()
        except Exception as exc:  # reported to the CLI, which refuses the host
            self.error = str(exc)
            return
        self.versions = plugin_versions(host)
        self.environment = environment.capture()
        self.executor = LocalExecutor(host=host)
        self.lock = threading.Lock()  # one trial at a time in this process
        self.running: str | None = None  # the trial id run_trial is in
        self.doomed: str | None = None  # a trial id to stop, or "*": every trial

    def run(self, trial: Trial, on_run: Callable[[RunRecord], None]) -> TrialResult | None:
        """Run ``trial`` here, or None when it was cancelled before it started."""
        assert self.executor is not None
        with self.lock:
            if self.doomed in ("*", trial.id):
                return None
            self.running = trial.id
            try:
                return self.executor.run_trial(trial, on_run)
            finally:
                self.running = None

    def close(self) -> None:
        if self.executor is not None:
            self.kill("*")
            # The task thread returns soon after a kill; wait for it, boundedly.
            if self.lock.acquire(timeout=KILL_FOR_S):
                self.lock.release()
            self.executor.__exit__(None, None, None)
        shutil.rmtree(self.folder, ignore_errors=True)

    def kill(self, trial_id: str) -> None:
        """Stop ``trial_id`` (``*``: any), running or about to run.  A trial may be
        starting its worker process, which cannot be killed before it exists: so kill
        until the trial has returned."""
        self.doomed = trial_id
        threading.Thread(target=self._kill_until_returned, daemon=True).start()

    def _kill_until_returned(self) -> None:
        assert self.executor is not None
        end = time.monotonic() + KILL_FOR_S
        while self.running is not None and self.doomed in ("*", self.running):
            self.executor.kill()
            if time.monotonic() > end:
                return
            time.sleep(0.05)


_SIDES: dict[str, _SessionSide] = {}
_SIDES_LOCK = threading.Lock()


def _side(ship: Shipment) -> _SessionSide:
    with _SIDES_LOCK:
        side = _SIDES.get(ship.run_id)
        if side is None:
            side = _SIDES[ship.run_id] = _SessionSide(ship)
        return side


def probe(ship: Shipment) -> dict[str, Any]:
    """This host's name, and the versions the CLI compares with its own (or the error)."""
    side = _side(ship)
    return {"hostname": socket.gethostname(), "versions": side.versions, "error": side.error}


def run_trial(ship: Shipment, trial: Trial) -> TrialResult:
    """The Dask task: run ``trial`` here, sending progress on the session's topic."""
    from distributed import get_worker

    from runner.results import CRASHED, ERROR, TrialResult

    worker = get_worker()
    side = _side(ship)
    host = {"name": socket.gethostname(), "address": worker.address}
    worker.log_event(ship.topic, {"ev": "started", "trial": trial.id, **host})
    if side.executor is None:
        return TrialResult(trial.id, trial.experiment, trial.model, trial.params, trial.swept,
                           ERROR, f"host {host['name']}: {side.error}", host=host)  # fmt: skip

    def on_run(record: RunRecord) -> None:
        event = {"ev": "run", "trial": trial.id, "address": worker.address,
                 "record": dataclasses.asdict(record)}  # fmt: skip
        worker.log_event(ship.topic, event)

    result = side.run(trial, on_run)
    if result is None:
        return TrialResult(trial.id, trial.experiment, trial.model, trial.params, trial.swept,
                           CRASHED, "cancelled", host=host)  # fmt: skip
    result.host = {**host, "environment": side.environment}
    return result


def kill(run_id: str, trial_id: str = "*") -> None:
    """Kill the session's trial ``trial_id`` (``*``: any) in this process (``Client.run``)."""
    side = _SIDES.get(run_id)
    if side is not None and side.executor is not None:
        side.kill(trial_id)


def close(run_id: str) -> None:
    """End the session here: its runner worker process and its plugin folder go."""
    with _SIDES_LOCK:
        side = _SIDES.pop(run_id, None)
    if side is not None:
        side.close()
