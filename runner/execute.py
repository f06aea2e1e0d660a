"""The one session loop, used by `runner run`, ``runner.testing`` and the pytest plugin.

A session starts (``runner_session_start``, the executor is made and entered), runs its
trials (``runner_trial_start``, the executor, the summary and expectations,
``runner_trial_done``) and finishes (the executor is closed, ``runner_session_finish``),
also when interrupted: what finished is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Protocol, cast

from runner.results import ExperimentResult, SessionResult, Status
from runner.session import experiment_metrics, now
from runner.spec import matches

if TYPE_CHECKING:
    from runner.hookspecs import Executor, ManyTrialsExecutor
    from runner.results import RunRecord, TrialResult
    from runner.session import Session
    from runner.spec import Experiment, Trial


class Decider(Protocol):
    """What decides whether a session has measured enough (the baseline gate does)."""

    def more_runs(self, session: Session, result: SessionResult) -> dict[str, int]:
        """Trial id -> how many more measured runs it needs for a decision; empty when
        every trial is decided or nothing more may be measured."""
        ...


class SessionLoop:
    """Runs one session: ``run()`` all of it, or ``start``, ``run_trial``... ``finish``.

    With a ``decider``, once every trial has run the loop measures more of the trials it
    names, on the same executor, until it names none.
    """

    def __init__(self, session: Session, decider: Decider | None = None) -> None:
        self.session = session
        self.decider = decider
        self.done: dict[str, list[TrialResult]] = {e.name: [] for e in session.experiments}
        self._stack = contextlib.ExitStack()
        self._executor: Executor | None = None

    def run(self) -> SessionResult:
        """Run every trial; an interrupt stops starting trials and keeps what finished."""
        interrupted = False
        try:
            self.start()
            if hasattr(self._executor, "run_trials") and not self.session.options.interleave:
                self.run_many()  # an executor with several hosts takes every trial at once
            else:
                self._run_in_order()
            self.measure_more()
        except KeyboardInterrupt:
            interrupted = True
        except BaseException:
            self._stack.close()  # an internal error: no trial process may outlive it
            raise
        return self.finish(interrupted)

    def _run_in_order(self) -> None:
        for exp in self.session.experiments:
            for trial in exp.trials:
                previous = self.session.resumed.get(trial.id)
                if previous is not None:
                    self.done[exp.name].append(previous)
                elif not self.session.options.interleave:
                    self.run_trial(trial)
            if self.session.options.interleave:
                self.run_interleaved([t for t in exp.trials if t.id not in self.session.resumed])

    def start(self) -> None:
        """Start the session: the executor is made, the session's hooks run, and the
        executor is entered."""
        session = self.session
        # The executor first: an unknown one is refused before anything is recorded.
        executor = session.host.make_executor(session.options.executor, session)
        session.host.session_start(session)
        self._executor = self._stack.enter_context(executor)

    def run_trial(self, trial: Trial) -> TrialResult:
        """Run one trial on the executor: its hooks, summary and expectations included."""
        session, host = self.session, self.session.host
        if self._executor is None:
            self.start()
        assert self._executor is not None
        host.trial_start(session, trial)
        result = self._executor.run_trial(
            trial, lambda record: host.run_done(session, trial, record)
        )
        self._end_trial(trial, result)
        self.done[trial.experiment].append(result)
        return result

    def _end_trial(self, trial: Trial, result: TrialResult) -> None:
        """What every way of running a trial does once its runs are in (again, after
        re-runs): the summary, the expectations, ``runner_trial_done``."""
        result.cpus = trial.cpus
        result.summarize()
        result.expect = []
        check_expectations(self.session.experiment(trial.experiment), result)
        self.session.host.trial_done(self.session, trial, result)

    def run_many(self) -> None:
        """Run every trial at once on an executor with several hosts (``run_trials``);
        the results are kept in spec order, also when interrupted."""
        session, host = self.session, self.session.host
        executor = cast("ManyTrialsExecutor", self._executor)
        ended: dict[str, TrialResult] = {}

        def on_done(trial: Trial, result: TrialResult) -> None:
            self._end_trial(trial, result)
            ended[trial.id] = result

        try:
            executor.run_trials(
                session.trials,
                on_run=lambda trial, record: host.run_done(session, trial, record),
                on_done=on_done,
                on_start=lambda trial: host.trial_start(session, trial),
            )
        finally:
            for exp in session.experiments:
                self.done[exp.name] = [
                    r for t in exp.trials if (r := session.resumed.get(t.id) or ended.get(t.id))
                ]

    def run_interleaved(self, trials: list[Trial]) -> list[TrialResult]:
        """Run the trials' repeats in rounds, A1 B1 C1, A2 B2 C2, ...: each run in a trial
        process of its own (with the trial's warmup first), so that a drifting machine
        moves every trial alike.  A trial that does not end ok in a round runs no more."""
        if self._executor is None:
            self.start()
        assert self._executor is not None
        results: dict[str, TrialResult] = {}
        try:
            self._rounds(trials, results)
        finally:  # also when interrupted: the runs that finished are kept
            for trial in trials:
                result = results.get(trial.id)
                if result is None:
                    continue
                self._end_trial(trial, result)
                self.done[trial.experiment].append(result)
        return [results[t.id] for t in trials if t.id in results]

    def _rounds(self, trials: list[Trial], results: dict[str, TrialResult]) -> None:
        session, host = self.session, self.session.host
        assert self._executor is not None
        for round_ in range(max((t.repeat for t in trials), default=0)):
            for trial in trials:
                merged = results.get(trial.id)
                if round_ >= trial.repeat or (merged is not None and merged.status != Status.OK):
                    continue
                if merged is None:
                    host.trial_start(session, trial)

                def on_run(record: RunRecord, trial: Trial = trial, done: int = round_) -> None:
                    if not record.warmup:
                        record.index = done
                    host.run_done(session, trial, record)

                one = self._executor.run_trial(dataclasses.replace(trial, repeat=1), on_run)
                if merged is None:
                    results[trial.id] = one
                    continue
                merged.runs += one.runs
                merged.duration_s += one.duration_s
                merged.status, merged.error = one.status, one.error
                merged.stderr_tail = one.stderr_tail or merged.stderr_tail
                merged.max_rss_kib = max(merged.max_rss_kib or 0, one.max_rss_kib or 0) or None

    def measure_more(self) -> None:
        """Re-run each trial the decider names with the runs it asks for, merging them
        into the trial's result, until it names none (it keeps its own budget)."""
        if self.decider is None:
            return
        trials = {t.id: t for t in self.session.trials}
        while todo := self.decider.more_runs(self.session, self.result()):
            for trial_id, more in todo.items():
                self._measure(trials[trial_id], more)

    def _measure(self, trial: Trial, more: int) -> None:
        assert self._executor is not None
        result = next(r for r in self.done[trial.experiment] if r.id == trial.id)
        extra = self._executor.run_trial(dataclasses.replace(trial, repeat=more), lambda r: None)
        if extra.status != Status.OK:  # never decide on what a failed re-run left out
            result.status, result.error = (
                extra.status,
                f"a re-run ended {extra.status}: {extra.error}",
            )
            result.stderr_tail = extra.stderr_tail
        else:
            have = len(result.runs)
            result.runs += [
                dataclasses.replace(r, index=have + i) for i, r in enumerate(extra.runs)
            ]
        result.duration_s += extra.duration_s
        self._end_trial(trial, result)  # the store keeps the merged trial

    def result(self, interrupted: bool = False) -> SessionResult:
        """The session's result as it stands: every trial finished so far."""
        session = self.session
        return SessionResult(
            run_id=session.run_id,
            started=session.started,
            finished=now(),
            environment=session.environment,
            argv=session.argv,
            experiments=[self._experiment_result(e) for e in session.experiments],
            interrupted=interrupted,
        )

    def finish(self, interrupted: bool = False) -> SessionResult:
        """Close the executor, then build the session's result and end the session."""
        try:
            self._stack.close()  # the executor's processes go before the reports
        except KeyboardInterrupt:
            interrupted = True
        self._executor = None
        result = self.result(interrupted)
        self.session.host.session_finish(self.session, result)
        return result

    def _experiment_result(self, exp: Experiment) -> ExperimentResult:
        model = self.session.host.models()[exp.model]
        return ExperimentResult(
            exp.name, exp.description, exp.model, str(exp.path), exp.repeat, exp.warmup,
            experiment_metrics(exp, model), self.done[exp.name],
        )  # fmt: skip


def run_session(session: Session, decider: Decider | None = None) -> SessionResult:
    """Run ``session`` from start to finish (measuring more where ``decider`` asks)."""
    return SessionLoop(session, decider).run()


def check_expectations(exp: Experiment, result: TrialResult) -> None:
    """Check ``expect`` bounds on medians; an ok trial that misses one becomes ``failed``."""
    from runner.results import ExpectCheck

    for rule in exp.expect:
        if not matches(rule.where, result.params):
            continue
        summary = result.summary.get(rule.metric)
        median = summary.median if summary else None
        ok = (
            median is not None
            and (rule.min is None or median >= rule.min)
            and (rule.max is None or median <= rule.max)
        )
        result.expect.append(ExpectCheck(rule.metric, rule.min, rule.max, median, ok))
    if result.status == Status.OK and not all(c.ok for c in result.expect):
        result.status = Status.FAILED
        result.error = "; ".join(c.describe() for c in result.expect if not c.ok)
