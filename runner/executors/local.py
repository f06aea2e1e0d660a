"""The local executor: one trial at a time, each in a fresh child of a worker process.

The worker (runner/worker.py) is started once per session with the same plugins as the
CLI; it forks a child per trial.  This side enforces the per-run timeout by killing the
child's whole process group, and turns what the worker reports into a TrialResult.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import runner
from runner import hookimpl, worker
from runner.errors import ExitCode, RunnerError
from runner.results import CRASHED, ERROR, OK, TIMEOUT, RunRecord, TrialResult

if TYPE_CHECKING:
    from runner.session import Session
    from runner.spec import Trial

EXIT_GRACE_S = 10.0  # after its last event, how long a trial may take to exit
STDERR_TAIL_CHARS = 2000
DEADLINE: dict[str, Any] = {"ev": "deadline"}


class WorkerError(RunnerError):
    exit_code = ExitCode.INTERNAL


class _Worker:
    """A running worker process (runner/worker.py) and its event stream."""

    def __init__(self, config: dict[str, Any]) -> None:
        env = dict(os.environ)
        # The worker must import this very runner, installed or not.
        root = str(Path(runner.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            worker.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the CLI only; it decides
        )
        self._buf = b""
        self._sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.send(config)
        event = self.next_event(deadline=time.monotonic() + 120)
        if event is None or event["ev"] in ("fatal", "deadline"):
            message = (
                event.get("message", "no answer") if event else "worker exited during start-up"
            )
            code = ExitCode(event.get("code", 3)) if event else ExitCode.INTERNAL
            self.close()
            err = WorkerError(f"worker: {message}")
            err.exit_code = code
            raise err

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def next_event(self, deadline: float) -> dict[str, Any] | None:
        """The next event, ``DEADLINE`` when the deadline passed first, None at end of stream."""
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sel.select(left):
                return DEADLINE
            assert self.proc.stdout is not None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()
        self._sel.close()


class LocalExecutor:
    """Runs trials one after another on this machine: they measure the machine."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.worker: _Worker | None = None
        self.child: int | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._kill_child()
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def _config(self) -> dict[str, Any]:
        import dataclasses

        return dataclasses.asdict(self.session.host.config)

    def _kill_child(self) -> None:
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child, signal.SIGKILL)

    def kill(self) -> None:
        """Kill the running trial and the worker, from any thread: ``run_trial`` then
        returns (crashed) and the next trial starts a new worker.  Other executors that
        run trials through this one (dask) stop a trial on Ctrl-C with it."""
        self._kill_child()
        worker = self.worker
        if worker is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.proc.pid, signal.SIGKILL)

    def run_trial(self, trial: Trial, on_run: Callable[[RunRecord], None]) -> TrialResult:
        """Run one trial to its end; never raises for what the trial did."""
        if self.worker is None:
            self.worker = _Worker(self._config())
        model = self.session.host.models()[trial.model]
        params = model.Params.model_validate_json(json.dumps(trial.params))
        fd, stderr_path = tempfile.mkstemp(prefix="runner-stderr-")
        os.close(fd)
        result = TrialResult(trial.id, trial.experiment, trial.model, trial.params, trial.swept, OK)
        start = time.monotonic()
        try:
            self.worker.send({
                "trial": trial.to_json(),
                "stderr": stderr_path,
                "prelude": list(model.prelude(params)),
                "plugins": self._config(),
            })  # fmt: skip
            self._follow(trial, result, on_run)
        finally:
            self.child = None
            result.duration_s = time.monotonic() - start
            result.stderr_tail = _tail(stderr_path)
            os.unlink(stderr_path)
        return result

    def _follow(
        self, trial: Trial, result: TrialResult, on_run: Callable[[RunRecord], None]
    ) -> None:
        assert self.worker is not None
        deadline = time.monotonic() + trial.timeout
        timed_out = finished = False
        phase = "setup"  # what the deadline is running for, to name it on a timeout
        while True:
            event = self.worker.next_event(deadline)
            if event is DEADLINE:  # past the deadline: the whole group goes
                if finished:
                    result.status, result.error = ERROR, "the trial did not exit after its last run"
                else:
                    timed_out = True
                    result.status = TIMEOUT
                    result.error = (
                        f"{phase} did not finish within the timeout of {trial.timeout:g} s"
                    )
                self._kill_child()
                deadline = time.monotonic() + 60
                continue
            if event is None:
                self.worker.close()
                self.worker = None
                result.status, result.error = CRASHED, "the worker process died"
                return
            kind = event["ev"]
            if kind == "started":
                self.child = event["pid"]
            elif kind == "phase":
                phase = "setup" if event["phase"] == "setup" else f"run {event['i'] + 1}"
                deadline = time.monotonic() + trial.timeout
            elif kind == "run":
                record = RunRecord(event["index"], event["warmup"], event["elapsed_s"],
                                   event["cpu_s"], event["metrics"])  # fmt: skip
                (result.warmup_runs if record.warmup else result.runs).append(record)
                on_run(record)
            elif kind in ("error", "done"):
                finished = True
                result.max_rss_kib = event.get("max_rss_kib")
                if kind == "error":
                    result.status, result.error = ERROR, event["message"]
                deadline = time.monotonic() + EXIT_GRACE_S
            elif kind == "exit":
                crashed = not finished or (result.status == OK and event["code"] != 0)
                if crashed and not timed_out:
                    result.status, result.error = CRASHED, _describe_exit(event["code"])
                return


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the worker was killed by {name}"
    return f"the worker exited with code {code}"


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - STDERR_TAIL_CHARS))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


@hookimpl
def runner_make_executor(name: str, session: Session) -> LocalExecutor | None:
    return LocalExecutor(session) if name == "local" else None
