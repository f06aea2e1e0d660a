"""The local executor: one trial at a time, each in a fresh child of a worker process.

The worker (runner/worker.py) is started once per session with the same plugins as the
CLI; it forks a child per trial.  This side enforces the per-phase timeout by killing the
child's whole process group, turns what the worker reports (runner/messages.py) into a
TrialResult, and owns the trial's temp folder and stderr file: they are created here and
removed here, whatever becomes of the child or the worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import runner
from runner import containment, worker
from runner import messages as m
from runner.errors import ExitCode, RunnerError
from runner.results import CRASHED, ERROR, OK, TIMEOUT, RunRecord, TrialResult

if TYPE_CHECKING:
    from runner.plugins import PluginHost
    from runner.session import Session
    from runner.spec import Trial

EXIT_GRACE_S = 10.0  # after its last event, how long a trial may take to exit
CLOSE_GRACE_S = 10.0  # how long a closed worker may take to kill its trial and exit
STDERR_TAIL_CHARS = 2000
TAG_ENV = "RUNNER_WORKER_TAG"


class _Deadline:
    """What ``next_event`` returns when the deadline passed before an event."""


DEADLINE = _Deadline()


class WorkerError(RunnerError):
    exit_code = ExitCode.INTERNAL


class _Worker:
    """A running worker process (runner/worker.py) and its event stream."""

    def __init__(self, config: dict[str, Any]) -> None:
        env = dict(os.environ)
        # The worker must import this very runner, installed or not.
        root = str(Path(runner.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env[worker.PARENT_ENV] = str(os.getpid())
        # Inherited by all the worker starts: found by it even when the worker is gone.
        self.tag = uuid.uuid4().hex
        env[TAG_ENV] = self.tag
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
        # The worker's death is seen at once, even while a trial's process that still
        # holds the event channel open keeps the pipe from ending.
        self._pidfd: int | None = os.pidfd_open(self.proc.pid)
        self._sel.register(self._pidfd, selectors.EVENT_READ)
        self.send(m.Configure(config))
        event = self.next_event(deadline=time.monotonic() + 120)
        if not isinstance(event, m.Ready):
            fatal = event if isinstance(event, m.Fatal) else None
            message = fatal.message if fatal else "worker exited during start-up"
            code = ExitCode(fatal.code) if fatal else ExitCode.INTERNAL
            self.close()
            err = WorkerError(f"worker: {message}")
            err.exit_code = code
            raise err

    def send(self, message: m.Message) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(m.encode(message))
        self.proc.stdin.flush()

    def next_event(self, deadline: float) -> m.Message | _Deadline | None:
        """The next event, ``DEADLINE`` when the deadline passed first, None when the
        worker is gone."""
        assert self.proc.stdout is not None
        out = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            if self._pidfd is None:  # dead: only what it wrote before it died is left
                ready = [k.fd for k, _ in self._sel.select(0)]
            else:
                left = deadline - time.monotonic()
                ready = [k.fd for k, _ in self._sel.select(left)] if left > 0 else []
                if not ready:
                    return DEADLINE
            if self._pidfd in ready:
                self._sel.unregister(self._pidfd)
                os.close(self._pidfd)
                self._pidfd = None
            if out not in ready:
                if self._pidfd is None:
                    return None
                continue
            chunk = os.read(out, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return m.decode(line)

    def close(self) -> None:
        """End the worker: its stdin closed, it kills its trial and all below it and exits."""
        with contextlib.suppress(OSError):
            if self.proc.stdin:
                self.proc.stdin.close()
        try:
            self.proc.wait(CLOSE_GRACE_S)
        except subprocess.TimeoutExpired:
            containment.kill_group(self.proc.pid)
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._sel.close()
        # Nothing is left when the worker ended as it should; when it was killed, its
        # trial's processes were orphaned out of its reach and go here.
        containment.kill_tagged(TAG_ENV, self.tag)


class LocalExecutor:
    """Runs trials one after another on this machine: they measure the machine."""

    def __init__(self, session: Session | None = None, host: PluginHost | None = None) -> None:
        self.session = session
        self.host: PluginHost = host if host is not None else session.host  # type: ignore[union-attr]
        self.worker: _Worker | None = None
        self.child: int | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.child is not None:
            containment.kill_group(self.child)
            self.child = None
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def kill(self) -> None:
        """Kill the running trial and the worker, from any thread: ``run_trial`` then
        returns (crashed) and the next trial starts a new worker.  The dask executor stops
        a trial on its host with it (Ctrl-C in the CLI)."""
        child, running = self.child, self.worker
        if child is not None:
            containment.kill_group(child)
        if running is not None:
            containment.kill_group(running.proc.pid)

    def run_trial(self, trial: Trial, on_run: Callable[[RunRecord], None]) -> TrialResult:
        """Run one trial to its end; never raises for what the trial did.

        An exception here (Ctrl-C, a signal) ends the trial and the worker first: its
        child's group, then every process below the worker, go before it propagates.
        """
        if self.worker is None:
            self.worker = _Worker(dataclasses.asdict(self.host.config))
        tmpdir = tempfile.mkdtemp(prefix="runner-trial-")
        fd, stderr_path = tempfile.mkstemp(prefix="runner-stderr-")
        os.close(fd)
        result = TrialResult(trial.id, trial.experiment, trial.model, trial.params, trial.swept, OK)
        start = time.monotonic()
        try:
            self.worker.send(m.RunTrial(
                trial.to_json(), stderr_path, tmpdir, dataclasses.asdict(self.host.config),
                trial.max_memory,
            ))  # fmt: skip
            self._follow(trial, result, on_run)
        except BaseException:
            self._stop()
            raise
        finally:
            self.child = None
            result.duration_s = time.monotonic() - start
            result.stderr_tail = _tail(stderr_path)
            shutil.rmtree(tmpdir, ignore_errors=True)
            with contextlib.suppress(OSError):
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
            if isinstance(event, _Deadline):  # past the deadline: the whole group goes
                if finished:
                    result.status, result.error = ERROR, "the trial did not exit after its last run"
                else:
                    timed_out = True
                    result.status = TIMEOUT
                    result.error = (
                        f"{phase} did not finish within the timeout of {trial.timeout:g} s"
                    )
                if self.child is not None:
                    containment.kill_group(self.child)
                deadline = time.monotonic() + 60
                continue
            if event is None:
                # Its parent-death signal took the child; the rest of its group goes too.
                self._stop()
                if not timed_out:
                    result.status, result.error = CRASHED, "the worker process died"
                return
            if isinstance(event, m.Started):
                self.child = event.pid
            elif isinstance(event, m.Phase):
                phase = event.describe()
                if not finished:
                    deadline = time.monotonic() + trial.timeout
            elif isinstance(event, m.Run):
                record = RunRecord(event.index, event.warmup, event.elapsed_s, event.cpu_s,
                                   event.metrics)  # fmt: skip
                (result.warmup_runs if record.warmup else result.runs).append(record)
                on_run(record)
            elif isinstance(event, m.Error | m.Done):
                finished = True
                result.max_rss_kib = event.max_rss_kib
                if isinstance(event, m.Error):
                    result.status, result.error = ERROR, event.message
                    if event.out_of_memory:
                        result.status, result.error = CRASHED, _out_of_memory(trial.max_memory)
                deadline = time.monotonic() + EXIT_GRACE_S
            elif isinstance(event, m.Exit):
                self.child = None
                crashed = not finished or (result.status == OK and event.code != 0)
                if crashed and not timed_out:
                    result.status, result.error = CRASHED, _describe_exit(event.code)
                return


def run_contained(
    trial: Trial, host: PluginHost, on_run: Callable[[RunRecord], None] | None = None
) -> TrialResult:
    """Run one trial in a worker of its own, with the same containment as ``runner run``.

    For executors that place trials elsewhere (a Dask task on a remote host): the worker
    starts, runs the trial, and is gone with everything the trial started.
    """
    with LocalExecutor(host=host) as executor:
        return executor.run_trial(trial, on_run or (lambda record: None))


def _out_of_memory(limit: int | None) -> str:
    if limit is None:
        return "out of memory"
    from runner.envelope import format_bytes

    return f"out of memory (limit {format_bytes(limit)})"


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
