"""The dask executor: trials on a Dask cluster, one per host at a time (``--executor dask``).

A built-in plugin.  Workers are Dask's own (``dask worker ADDR --nthreads 1 --resources
trial=1``); each task runs one trial there through the local executor
(runner.executors.dasktask), so isolation, timeouts and containment are the same as on one
machine.  Before the first trial every worker is asked for runner's and the plugins'
versions, and a difference is refused.  Runs and trial starts come back as Dask events on
the session's topic as they happen; ``run_trials`` runs many trials at once.

``distributed`` is imported only when this executor is used: it costs half a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import RunnerError, UsageError
from runner.executors import SCHEDULER_ENV, dasktask
from runner.results import CRASHED, ERROR, RunRecord, Status, TrialResult

if TYPE_CHECKING:
    from runner.hookspecs import ManyTrialsExecutor
    from runner.session import RunOptions, Session
    from runner.spec import Trial

CONNECT_TIMEOUT_S = 10.0
WORKERS_TIMEOUT_S = 30.0  # how long to wait for a first worker to join

OnRun = Callable[["Trial", RunRecord], None]
OnTrial = Callable[["Trial"], None]
OnDone = Callable[["Trial", TrialResult], None]


class SchedulerError(RunnerError):
    """A scheduler that cannot be reached or used; exit 2 before any trial runs."""


class DaskExecutor:
    """Runs trials as Dask tasks, each through a LocalExecutor on the worker's host."""

    def __init__(self, session: Session, client: Any, ship: dasktask.Shipment) -> None:
        self.session = session
        self.client = client
        self.ship = ship
        self._events: queue.Queue[tuple[str, Any, Any]] = queue.Queue()

    def __enter__(self) -> DaskExecutor:
        self.client.subscribe_topic(self.ship.topic, lambda ev: self._events.put(("ev", *ev)))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.client.unsubscribe_topic(self.ship.topic)
            self.client.run(dasktask.close, self.ship.run_id)
        finally:
            self.client.close()

    def run_trial(self, trial: Trial, on_run: Callable[[RunRecord], None]) -> TrialResult:
        """Run one trial on some worker; never raises for what the trial did."""
        done: list[TrialResult] = []
        self.run_trials([trial], lambda _t, r: on_run(r), lambda _t, res: done.append(res))
        return done[0]

    def run_trials(
        self, trials: Sequence[Trial], on_run: OnRun, on_done: OnDone,
        on_start: OnTrial | None = None,
    ) -> None:  # fmt: skip
        """Run ``trials`` at once on the cluster, as many as it has ``trial`` resources.

        Calls, in this thread, as things happen on the workers: ``on_start(trial)`` when a
        trial starts on its host, ``on_run(trial, record)`` after each run, and
        ``on_done(trial, result)`` when it ends (in completion order, not ``trials``
        order).  Returns when every trial is done.  KeyboardInterrupt cancels the pending
        trials, kills the running ones on their hosts and is raised again.
        """
        from distributed import KilledWorker

        flights = {t.id: _Flight(t) for t in trials}
        futures = {}
        for trial in trials:
            key = f"runner-{self.ship.run_id}-{trial.id}-{uuid.uuid4().hex[:8]}"
            future = self.client.submit(dasktask.run_trial, self.ship, trial, key=key,
                                        resources={"trial": 1}, pure=False)  # fmt: skip
            future.add_done_callback(lambda f, tid=trial.id: self._events.put(("done", tid, f)))
            futures[trial.id] = future
        try:
            while any(not f.ended for f in flights.values()):
                try:
                    kind, first, second = self._events.get(timeout=0.5)
                except queue.Empty:
                    continue
                if kind == "ev":
                    self._event(flights, futures, second, on_run, on_start)
                    continue
                if kind == "gave-up":
                    flights[first].finish(second, on_run)
                    on_done(flights[first].trial, second)
                    continue
                if first not in flights:
                    continue  # a task of an earlier call, given up on
                future = futures.pop(first, None)
                if future is None:
                    continue  # given up on already (lost twice)
                flight = flights[first]
                if future.status == "finished":
                    result = future.result()
                elif isinstance(future.exception(), KilledWorker):
                    result = flight.failed(CRASHED, f"worker lost: {future.exception()}")
                elif future.status == "error":
                    exc = future.exception()
                    result = flight.failed(ERROR, f"dask: {type(exc).__name__}: {exc}")
                else:
                    result = flight.failed(ERROR, f"dask: the task was {future.status}")
                flight.finish(result, on_run)
                on_done(flight.trial, result)
        except BaseException:
            with contextlib.suppress(Exception):  # a cluster already gone has nothing to stop
                self.client.cancel(list(futures.values()), force=True)
                self.client.run(dasktask.kill, self.ship.run_id)
            raise

    def _event(self, flights: dict[str, _Flight], futures: dict[str, Any], msg: dict[str, Any],
               on_run: OnRun, on_start: OnTrial | None) -> None:  # fmt: skip
        flight = flights.get(msg.get("trial", ""))
        if flight is None or flight.trial.id not in futures:
            return
        if msg["ev"] == "started":
            flight.attempts.append(f"{msg['address']} ({msg['name']})")
            if len(flight.attempts) == 1 and on_start is not None:
                on_start(flight.trial)
            if len(flight.attempts) > 2:  # lost twice: the trial itself may be the cause
                future = futures.pop(flight.trial.id)
                self.client.cancel(future, force=True)
                self.client.run(dasktask.kill, self.ship.run_id, flight.trial.id,
                                workers=[msg["address"]])  # fmt: skip
                lost = ", ".join(flight.attempts[:2])
                result = flight.failed(CRASHED, f"worker lost twice, on {lost}")
                self._events.put(("gave-up", flight.trial.id, result))
                return
            flight.runs_now = 0
        elif msg["ev"] == "run" and flight.attempts and msg["address"] in flight.attempts[-1]:
            flight.runs_now += 1
            if flight.runs_now > flight.reported:  # a retry does not repeat its runs
                flight.reported += 1
                on_run(flight.trial, RunRecord(**msg["record"]))


@dataclasses.dataclass
class _Flight:
    """A trial on the cluster: where it started, and how many runs the CLI has seen."""

    trial: Trial
    attempts: list[str] = dataclasses.field(default_factory=list)
    runs_now: int = 0
    reported: int = 0
    ended: bool = False

    def failed(self, status: Status, error: str) -> TrialResult:
        t = self.trial
        return TrialResult(t.id, t.experiment, t.model, t.params, t.swept, status, error)

    def finish(self, result: TrialResult, on_run: OnRun) -> None:
        """Report the runs whose events have not arrived, and where a retry came from."""
        self.ended = True
        for record in [*result.warmup_runs, *result.runs][self.reported :]:
            on_run(self.trial, record)
        self.reported = len(result.warmup_runs) + len(result.runs)
        if len(self.attempts) > 1 and result.host is not None:
            result.host["retried_after"] = f"worker {self.attempts[0]} lost mid-trial"


# -- connecting and checking, before the first trial ----------------------------------


def scheduler_address(options: RunOptions) -> str:
    address = options.get("scheduler") or os.environ.get(SCHEDULER_ENV)
    if not address:
        raise UsageError(
            f"--executor dask needs --scheduler tcp://HOST:PORT (or {SCHEDULER_ENV}); "
            "start one with `dask scheduler`"
        )
    return str(address)


def connect(session: Session) -> DaskExecutor:
    """Connect, check every worker's versions and resources, and return the executor."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "--executor dask needs the `distributed` package: pip install 'runner[dask]'"
        ) from None
    address = scheduler_address(session.options)
    ship = shipment(session)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address}: {reason}; "
            f"is `dask scheduler` running there?"
        ) from None
    try:
        check_workers(client, ship, dasktask.plugin_versions(session.host))
    except BaseException:
        with contextlib.suppress(Exception):  # what the probes set up on the workers goes
            client.run(dasktask.close, ship.run_id)
        client.close()
        raise
    return DaskExecutor(session, client, ship)


def shipment(session: Session) -> dasktask.Shipment:
    """The session's plugin config, with the text of every plugin given as a file."""
    from runner.plugins import _is_path

    config = dataclasses.asdict(session.host.config)
    files = {}
    for item in config["extra"]:
        if _is_path(item):
            try:
                files[item] = Path(item).read_text()
            except OSError as exc:
                raise UsageError(
                    f"plugin file {item}: cannot ship it to the workers: {exc}"
                ) from None
    return dasktask.Shipment(session.run_id, config, files)


def check_workers(client: Any, ship: dasktask.Shipment, mine: dict[str, str]) -> None:
    """Refuse, in one line naming the host, a worker whose versions differ from ours."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except TimeoutError:
        raise SchedulerError(
            f"the Dask scheduler at {client.scheduler.address} has no workers after "
            f"{WORKERS_TIMEOUT_S:g} s; start one with `dask worker ADDRESS --nthreads 1 "
            "--resources trial=1`"
        ) from None
    workers = client.scheduler_info(n_workers=-1)["workers"]
    able = {a: w for a, w in workers.items() if w.get("resources", {}).get("trial", 0) >= 1}
    if not able:
        raise SchedulerError(
            f"no worker of {client.scheduler.address} offers the `trial` resource; start "
            "workers with `dask worker ADDRESS --nthreads 1 --resources trial=1`"
        )
    probes = {a: client.submit(dasktask.probe, ship, workers=[a], allow_other_workers=False,
                               pure=False) for a in able}  # fmt: skip
    for address, future in probes.items():
        report = future.result()
        where = f"host {report['hostname']} ({address})"
        if report["error"]:
            raise SchedulerError(f"{where}: {report['error']}")
        theirs: dict[str, str] = report["versions"]
        for name in sorted(set(mine) | set(theirs)):
            if mine.get(name) != theirs.get(name):
                raise SchedulerError(
                    f"{where}: {name} {theirs.get(name) or 'missing'} there, "
                    f"{mine.get(name) or 'missing'} here; install the same versions on every host"
                )
    hosts: dict[str, int] = {}
    for w in able.values():
        hosts[w["host"]] = hosts.get(w["host"], 0) + int(w["resources"]["trial"])
    for name, slots in sorted(hosts.items()):
        if slots > 1:
            print(f"runner: warning: host {name} takes {slots} trials at a time: they will "
                  "measure each other (start one worker per host, --resources trial=1)",
                  file=sys.stderr)  # fmt: skip


if TYPE_CHECKING:  # mypy checks that the class keeps the contract the session loop uses

    def _keeps_the_contract(executor: DaskExecutor) -> ManyTrialsExecutor:
        return executor
