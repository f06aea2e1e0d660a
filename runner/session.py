"""A session: the experiments of one `runner run`, run trial after trial."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import TYPE_CHECKING, Any

from runner.results import FAILED, OK, ExpectCheck, ExperimentResult, SessionResult, TrialResult
from runner.spec import matches

if TYPE_CHECKING:
    from runner.model import Model
    from runner.plugins import PluginHost
    from runner.spec import Experiment, Trial


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclasses.dataclass
class Session:
    """What plugins see of a session: its id, experiments, trials and options.

    ``resumed`` holds the results of trials a resumed session (``--resume``) already
    finished: they are not run again, and ``trials`` leaves them out.
    """

    experiments: list[Experiment]
    options: dict[str, Any]
    host: PluginHost
    environment: dict[str, Any]
    argv: list[str]
    run_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: str = dataclasses.field(default_factory=_now)
    resumed: dict[str, TrialResult] = dataclasses.field(default_factory=dict)

    @property
    def trials(self) -> list[Trial]:
        """The trials this session runs, in order (resumed ones left out)."""
        return [t for exp in self.experiments for t in exp.trials if t.id not in self.resumed]

    def experiment(self, name: str) -> Experiment:
        return next(e for e in self.experiments if e.name == name)

    def run(self) -> SessionResult:
        """Run every trial; Ctrl-C stops starting trials and keeps what finished."""
        host = self.host
        done: dict[str, list[TrialResult]] = {e.name: [] for e in self.experiments}
        interrupted = False
        finished: dict[str, TrialResult] = {}  # by trial id, as they end
        host.session_start(self)
        executor = host.make_executor(self.options.get("executor", "local"), self)
        try:
            with executor:
                if hasattr(executor, "run_trials"):
                    self._run_many(executor, finished)
                for exp in self.experiments:
                    for trial in exp.trials:
                        previous = self.resumed.get(trial.id) or finished.get(trial.id)
                        finished[trial.id] = previous or self.run_trial(executor, trial)
                        done[exp.name].append(finished[trial.id])
        except KeyboardInterrupt:
            interrupted = True
            for exp in self.experiments:  # what finished, in spec order
                done[exp.name] = [
                    r for t in exp.trials if (r := self.resumed.get(t.id) or finished.get(t.id))
                ]
        return self.finish(done, interrupted)

    def _run_many(self, executor: Any, finished: dict[str, TrialResult]) -> None:
        # An executor with several hosts runs trials at once; results are kept in order.
        host = self.host

        def on_done(trial: Trial, result: TrialResult) -> None:
            result.summarize()
            check_expectations(self.experiment(trial.experiment), result)
            host.trial_done(self, trial, result)
            finished[trial.id] = result

        executor.run_trials(
            self.trials,
            on_run=lambda trial, record: host.run_done(self, trial, record),
            on_done=on_done,
            on_start=lambda trial: host.trial_start(self, trial),
        )

    def run_trial(self, executor: Any, trial: Trial) -> TrialResult:
        """Run one trial on ``executor``: its hooks, summary and expectations included."""
        host = self.host
        host.trial_start(self, trial)
        result = executor.run_trial(trial, lambda record: host.run_done(self, trial, record))
        result.summarize()
        check_expectations(self.experiment(trial.experiment), result)
        host.trial_done(self, trial, result)
        return result

    def finish(self, done: dict[str, list[TrialResult]], interrupted: bool) -> SessionResult:
        """Build the session's result from the finished trials and end the session."""
        result = SessionResult(
            run_id=self.run_id,
            started=self.started,
            finished=_now(),
            environment=self.environment,
            argv=self.argv,
            experiments=[self._experiment_result(e, done[e.name]) for e in self.experiments],
            interrupted=interrupted,
        )
        self.host.session_finish(self, result)
        return result

    def _experiment_result(self, exp: Experiment, trials: list[TrialResult]) -> ExperimentResult:
        model = self.host.models()[exp.model]
        return ExperimentResult(
            exp.name, exp.description, exp.model, str(exp.path), exp.repeat, exp.warmup,
            experiment_metrics(exp, model), trials,
        )  # fmt: skip


def experiment_metrics(exp: Experiment, model: Model) -> dict[str, dict[str, Any]]:
    """The ``metrics`` map of results: each metric's unit and direction, and the spec's
    ``regress`` threshold (percent) where it sets one."""
    metrics: dict[str, dict[str, Any]] = {
        m.name: {"unit": m.unit, "higher_is_better": m.higher_is_better,
                 "description": m.description, "key": m.key}
        for m in model.metrics
    }  # fmt: skip
    for name, pct in exp.regress.items():
        if name in metrics:
            metrics[name]["regress"] = pct
    return metrics


def check_expectations(exp: Experiment, result: TrialResult) -> None:
    """Check ``expect`` bounds on medians; an ok trial that misses one becomes ``failed``."""
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
    if result.status == OK and not all(c.ok for c in result.expect):
        result.status = FAILED
        result.error = "; ".join(c.describe() for c in result.expect if not c.ok)
