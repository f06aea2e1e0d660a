"""The terminal reporter: a progress bar while running, then a table per experiment.

A rich progress bar on a terminal; one plain line per trial when output is not a TTY (CI
logs stay readable and parseable); nothing with ``-q``.  Registered for the session as an
object plugin, as pytest's terminal reporter is, so its state lives with the session.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.results import OK

if TYPE_CHECKING:
    from rich.console import Console

    from runner.results import ExperimentResult, RunRecord, SessionResult, TrialResult
    from runner.session import Session
    from runner.spec import Trial

STATUS_STYLE = {"ok": "green", "failed": "red", "timeout": "magenta", "crashed": "red", "error": "red"}


def _console(session: Session, stderr: bool) -> Console:
    from rich.console import Console

    no_color = bool(session.options.get("no_color") or os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=False)


class TerminalReporter:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.out = _console(session, stderr=False)
        self.err = _console(session, stderr=True)
        self.total = sum(t.warmup + t.repeat for t in session.trials)
        self.count = len(session.trials)
        self.done = 0
        self.progress: Any = None
        self.task: Any = None
        if self.err.is_terminal:
            from rich.progress import (
                BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                TimeRemainingColumn,
            )  # fmt: skip

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[run]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=self.err, transient=True,
            )  # fmt: skip
            self.task = self.progress.add_task("starting", total=self.total, run="")
            self.progress.start()
        self._runs_seen = 0

    @hookimpl
    def runner_trial_start(self, trial: Trial) -> None:
        self._runs_seen = 0
        if self.progress is not None:
            label = f"[{self.done + 1}/{self.count}] {trial.id}"
            self.progress.update(self.task, description=label, run=f"run 1/{trial.warmup + trial.repeat}")

    @hookimpl
    def runner_run_done(self, trial: Trial, record: RunRecord) -> None:
        self._runs_seen += 1
        if self.progress is not None:
            n = trial.warmup + trial.repeat
            nxt = min(self._runs_seen + 1, n)
            self.progress.update(self.task, advance=1, run=f"run {nxt}/{n}")

    @hookimpl
    def runner_trial_done(self, trial: Trial, result: TrialResult) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress.update(self.task, advance=trial.warmup + trial.repeat - self._runs_seen)
            if result.status != OK:
                self.progress.console.print(f"[red]{trial.id}: {result.status}[/]: {result.error}")
        else:
            line = f"[{self.done}/{self.count}] {trial.id} {result.status} {result.duration_s:.2f}s"
            if result.status != OK:
                line += f": {result.error}"
            print(line, file=sys.stderr, flush=True)

    @hookimpl
    def runner_session_finish(self, session: Session, result: SessionResult) -> None:
        if self.progress is not None:
            self.progress.stop()
        session.host.pm.unregister(self)
        for exp in result.experiments:
            if exp.trials:
                self.out.print(experiment_table(exp))
        self._print_problems(result)

    def _print_problems(self, result: SessionResult) -> None:
        bad = [t for t in result.trials() if t.status != OK]
        for t in bad:
            self.err.print(f"[bold red]{t.status.upper()}[/] {t.id}: {t.error}", markup=True)
            tail = [ln for ln in t.stderr_tail.strip().splitlines() if ln.strip()][-5:]
            for ln in tail:
                self.err.print(f"    {ln}", markup=False)
        finished = sum(len(e.trials) for e in result.experiments)
        summary = f"{finished} trials, {finished - len(bad)} ok, {len(bad)} not ok"
        if result.interrupted:
            summary += f"; interrupted after {finished} of {self.count} trials"
        self.err.print(summary, style="bold red" if bad or result.interrupted else "bold green")


def experiment_table(exp: ExperimentResult) -> Any:
    from rich.table import Table

    key = [n for n, m in exp.metrics.items() if m.get("key")] or list(exp.metrics)[:4]
    table = Table(title=f"{exp.name} ({exp.model})", title_justify="left")
    swept = list(exp.trials[0].swept) if exp.trials else []
    for name in swept or ["trial"]:
        table.add_column(name)
    table.add_column("status")
    for name in key:
        unit = exp.metrics[name]["unit"]
        table.add_column(f"{name} [{unit}]" if unit else name, justify="right")
    for t in exp.trials:
        cells = [_cell(t.swept[k]) for k in swept] if swept else [t.id]
        cells.append(f"[{STATUS_STYLE.get(t.status, 'red')}]{t.status}[/]")
        for name in key:
            s = t.summary.get(name)
            cells.append("-" if s is None else _num(s.median) + _spread(s.median, s.stdev, s.n))
        table.add_row(*cells)
    return table


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _spread(median: float, stdev: float, n: int) -> str:
    # Relative spread reads at a glance whatever the unit; absolute stdev is in the JSON.
    if n < 2 or not median:
        return ""
    return f" ±{100 * stdev / abs(median):.1f}%"


def _num(value: float) -> str:
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.3g}"


@hookimpl
def runner_session_start(session: Session) -> None:
    if not session.options.get("quiet"):
        session.host.pm.register(TerminalReporter(session), name="terminalreporter")
