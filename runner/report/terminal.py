"""The terminal reporter: a progress bar while running, then a table per experiment.

A rich progress bar on a terminal; one plain line per trial when output is not a TTY (CI
logs stay readable and parseable); nothing with ``-q``.  Registered for the session as an
object plugin, as pytest's terminal reporter is, so its state lives with the session.

On a terminal the table marks the best and worst trial of each metric that has a direction;
``--no-color`` and ``NO_COLOR`` keep the marks as bold and underline.  Without a terminal
the table is a Markdown table: no colour codes, no wrapping, one line per trial.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.results import FAILED, OK, UNSTABLE_PCT

if TYPE_CHECKING:
    from rich.console import Console

    from runner.results import ExperimentResult, RunRecord, SessionResult, Summary, TrialResult
    from runner.session import Session
    from runner.spec import Trial

STATUS_STYLE = {
    "ok": "green",
    "failed": "red",
    "timeout": "magenta",
    "crashed": "red",
    "error": "red",
}
MEASURED = (OK, FAILED)  # statuses whose runs all finished: FAILED missed an `expect` bound
BEST, WORST = "bold green", "underline red"  # without colour: bold and underline
PLAIN_WIDTH = 10_000  # no terminal: never wrap a row, whatever its width


def _console(session: Session, stderr: bool) -> Console:
    from rich.console import Console

    no_color = bool(session.options.no_color or os.environ.get("NO_COLOR"))
    console = Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = PLAIN_WIDTH
    return console


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
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.table import Column

            # The trial's label gives way first on a narrow terminal; the counts stay.
            label = Column(overflow="ellipsis", no_wrap=True, ratio=1, min_width=20)
            self.progress = Progress(
                TextColumn("{task.description}", table_column=label),
                BarColumn(bar_width=20),
                TextColumn("{task.fields[run]}"),
                TimeElapsedColumn(),
                TextColumn("elapsed,"),
                TimeRemainingColumn(),
                TextColumn("left"),
                console=self.err,
                transient=True,
                expand=True,
            )
            self.task = self.progress.add_task("starting", total=self.total, run="")
            self.progress.start()
        self._runs_seen = 0

    @hookimpl
    def runner_trial_start(self, trial: Trial) -> None:
        self._runs_seen = 0
        if self.progress is not None:
            from rich.markup import escape

            params = " ".join(f"{k}={_cell(v)}" for k, v in trial.swept.items())
            name = escape(trial.experiment)
            label = f"trial {self.done + 1}/{self.count} [bold]{name}[/] {escape(params)}"
            self.progress.update(self.task, description=label, run=run_label(trial, 0))

    @hookimpl
    def runner_run_done(self, trial: Trial, record: RunRecord) -> None:
        self._runs_seen += 1
        if self.progress is not None:
            self.progress.update(self.task, advance=1, run=run_label(trial, self._runs_seen))

    @hookimpl
    def runner_trial_done(self, trial: Trial, result: TrialResult) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress.update(self.task, advance=trial.warmup + trial.repeat - self._runs_seen)
            if result.status != OK:
                self.progress.console.print(
                    f"{trial.id}: {result.status}: {result.error}", style="red", markup=False
                )
        else:
            line = f"[{self.done}/{self.count}] {trial.id} {result.status} {result.duration_s:.2f}s"
            if result.status != OK:
                line += f": {result.error}"
            print(line, file=sys.stderr, flush=True)

    @hookimpl
    def runner_session_finish(self, session: Session, result: SessionResult) -> None:
        if self.progress is not None:
            self.progress.stop()
        session.host.unregister(self)
        tables = [
            experiment_table(e, marks=self.out.is_terminal) for e in result.experiments if e.trials
        ]
        for i, table in enumerate(tables):
            if self.out.is_terminal:
                self.out.print(table)
                continue
            # Rich pads Markdown tables with blank lines and trailing spaces: strip them, so
            # each line is a title or a table row.
            with self.out.capture() as captured:
                self.out.print(table)
            lines = [ln.rstrip() for ln in captured.get().splitlines() if ln.strip()]
            print(("\n" if i else "") + "\n".join(lines), flush=True)
        if not self.out.is_terminal and any(unstable(e) for e in result.experiments):
            self.err.print(UNSTABLE_HINT, markup=False, soft_wrap=True)
        self._print_problems(result)

    def _print_problems(self, result: SessionResult) -> None:
        from rich.markup import escape

        bad = [t for t in result.trials() if t.status != OK]
        for t in bad:
            self.err.print(f"[bold red]{t.status.upper()}[/] {escape(f'{t.id}: {t.error}')}")
            tail = [ln for ln in t.stderr_tail.strip().splitlines() if ln.strip()][-5:]
            for ln in tail:
                self.err.print(f"    {ln}", markup=False)
        finished = sum(len(e.trials) for e in result.experiments)
        summary = f"{finished} trials, {finished - len(bad)} ok, {len(bad)} not ok"
        if result.interrupted:
            summary += f"; interrupted after {finished} of {self.count} trials"
        self.err.print(summary, style="bold red" if bad or result.interrupted else "bold green")


def run_label(trial: Trial, done: int) -> str:
    """Which run is under way after ``done`` runs: ``warmup 1/1``, then ``run 2/5``."""
    if done < trial.warmup:
        return f"warmup {done + 1}/{trial.warmup}"
    return f"run {min(done - trial.warmup + 1, trial.repeat)}/{trial.repeat}"


def extremes(exp: ExperimentResult, metric: str) -> tuple[int, int] | None:
    """Indexes of the best and worst trial by median, for a metric with a direction.

    Only trials that ran all their runs count: ok ones, and those that missed an
    expectation.  None when there is nothing to tell apart: no direction, fewer than two
    such trials that report the metric, or all of them equal.
    """
    higher = exp.metrics.get(metric, {}).get("higher_is_better")
    found = [
        (t.summary[metric].median, i)
        for i, t in enumerate(exp.trials)
        if t.status in MEASURED and metric in t.summary
    ]
    if higher is None or len(found) < 2 or min(found)[0] == max(found)[0]:
        return None
    low, high = min(found)[1], max(found)[1]
    return (high, low) if higher else (low, high)


def experiment_table(exp: ExperimentResult, marks: bool = True) -> Any:
    """The experiment's trials with each key metric's median and spread.

    :param marks: style the best and worst trial per metric (a terminal); False gives a
        plain Markdown table for logs and pipes.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    key = shown_metrics(exp)
    table = Table(
        title=escape(f"{exp.name} ({exp.model})"),
        title_justify="left",
        box=box.HEAVY_HEAD if marks else box.MARKDOWN,
    )
    swept = list(exp.trials[0].swept) if exp.trials else []
    for name in swept or ["trial"]:
        table.add_column(name)
    table.add_column("status")
    for name in key:
        unit = exp.metrics[name]["unit"]
        # Escaped: rich would take "[s]" for a style tag and drop it.
        table.add_column(escape(f"{name} [{unit}]") if unit else name, justify="right")
    best_worst = {name: extremes(exp, name) for name in key} if marks else {}
    for i, t in enumerate(exp.trials):
        cells = [escape(_cell(t.swept[k])) for k in swept] if swept else [escape(t.id)]
        cells.append(f"[{STATUS_STYLE.get(t.status, 'red')}]{t.status}[/]")
        for name in key:
            s = t.summary.get(name)
            text = "-" if s is None else summary_cell(s)
            ends = best_worst.get(name)
            style = (BEST if i == ends[0] else WORST if i == ends[1] else "") if ends else ""
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(*cells)
    captions = []
    if any(best_worst.values()):
        captions.append(f"[{BEST}]best[/] and [{WORST}]worst[/] median of each metric")
    if marks and unstable(exp, key):  # in plain output the hint goes to stderr, once
        captions.append(escape(UNSTABLE_HINT))
    if captions:
        table.caption = "\n".join(captions)
        table.caption_justify = "left"
    return table


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


UNSTABLE_MARK = "!"
FAR_FROM_ZERO = 50.0  # percent: an interval reaching further from its median reads absolute
UNSTABLE_HINT = (
    f"{UNSTABLE_MARK} unstable: median known to no better than ±{UNSTABLE_PCT:g}% (95%); "
    "try more repeats, a quieter machine, --affinity"
)


def shown_metrics(exp: ExperimentResult) -> list[str]:
    """The metrics the table shows: the model's key ones, else the first four reported."""
    reported = {name for t in exp.trials for name in t.summary}
    key = [n for n, m in exp.metrics.items() if m.get("key") and n in reported]
    return key or [n for n in exp.metrics if n in reported][:4]


def unstable(exp: ExperimentResult, metrics: list[str] | None = None) -> bool:
    """True when a trial's metric among those shown (or ``metrics``) is marked unstable."""
    names = shown_metrics(exp) if metrics is None else metrics
    return any(s.unstable for t in exp.trials for name, s in t.summary.items() if name in names)


def summary_cell(s: Summary) -> str:
    """The median with its spread: ``12.5 ±3.1%``, ``0.0075 [0, 0.05]`` near zero, and
    ``50`` when every run gave the same; ``!`` marks an unstable one."""
    text = median_with_interval(s.median, s.ci_low, s.ci_high)
    return text + UNSTABLE_MARK if s.unstable else text


def median_with_interval(
    median: float, low: float | None, high: float | None, unit: str = ""
) -> str:
    """A median (and ``unit``, e.g. `` s``) and its confidence interval: relative when the
    median is far from zero (the interval reaches no further than FAR_FROM_ZERO percent
    from it), the interval itself otherwise, nothing when it has no width."""
    from runner.stats import relative_halfwidth

    text = format_number(median) + unit
    if low is None or high is None or low == high or math.isnan(low):
        return text
    rel = relative_halfwidth(median, low, high)
    if rel is not None and rel <= FAR_FROM_ZERO:
        return f"{text} ±{rel:.1f}%"
    return f"{text} [{format_number(low)}, {format_number(high)}]"


def format_number(value: float) -> str:
    """A number for people: 4 significant digits, whole numbers from 10,000 up (with
    thousands separators, never an exponent below 1e15)."""
    if not math.isfinite(value):
        return str(value)
    if (value == int(value) or abs(value) >= 1e4) and abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.3g}"


@hookimpl
def runner_session_start(session: Session) -> None:
    if not session.options.quiet:
        session.host.register(TerminalReporter(session), "terminalreporter")
