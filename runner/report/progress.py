"""The progress bar on a terminal: the trial, its run, and the time left.

The time left is worked out from the runs' measured durations, not from a count of runs
done per second: the runs of one experiment can differ a hundredfold (``apply`` against
``apply_async``), so an average over runs says little about the next trial.  The bar takes
the width the label leaves, so a wide terminal shows a wide bar and a narrow one keeps the
counts and cuts the label.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Task
    from rich.text import Text

    from runner.spec import Trial

FIXED = 48  # columns the bar needs besides the label: run count, times, a bar of 10


class TimeLeft:
    """Seconds left in a session, estimated from what its runs and trials took so far.

    The current trial's remaining runs take as long as its own measured runs (or, before
    its first, as the session's runs on average); each trial still to come takes its runs
    times the session's average run, plus the average time a trial spends outside its runs
    (starting its process, setup, teardown).
    """

    def __init__(self, trials: Sequence[Trial]) -> None:
        self.runs_per_trial = [t.warmup + t.repeat for t in trials]
        self.trial = -1
        self.run_times: list[float] = []  # every run of the session
        self.current: list[float] = []  # the current trial's runs
        self.overheads: list[float] = []  # per finished trial: its time outside its runs
        self.ended = False  # the current trial has ended: none of its runs are left
        self.since = time.monotonic()

    def trial_started(self) -> None:
        self.trial += 1
        self.current = []
        self.ended = False
        self.since = time.monotonic()

    def run_done(self, elapsed_s: float) -> None:
        self.run_times.append(elapsed_s)
        self.current.append(elapsed_s)
        self.since = time.monotonic()

    def trial_done(self, duration_s: float) -> None:
        self.overheads.append(max(0.0, duration_s - sum(self.current)))
        self.ended = True
        self.since = time.monotonic()

    def seconds(self, now: float | None = None) -> float | None:
        """The estimate, or None before any run has finished."""
        if not self.run_times:
            return None
        per_run = statistics.fmean(self.run_times)
        this_run = statistics.median(self.current) if self.current else per_run
        overhead = statistics.fmean(self.overheads) if self.overheads else 0.0
        left = 0.0
        if 0 <= self.trial < len(self.runs_per_trial) and not self.ended:
            remaining = self.runs_per_trial[self.trial] - len(self.current)
            under_way = max(0.0, (now or time.monotonic()) - self.since)
            left += max(0.0, remaining * this_run - under_way)
        later = self.runs_per_trial[self.trial + 1 :]
        return left + sum(later) * per_run + len(later) * overhead


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def progress_bar(console: Console, time_left: TimeLeft) -> tuple[Any, Any]:
    """A started rich Progress on ``console`` and its one task."""
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column
    from rich.text import Text

    class TimeLeftColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            left = time_left.seconds()
            return Text(f"{'-:--:--' if left is None else _clock(left)} left", style="cyan")

    # The label is as wide as it needs, up to what the counts leave; the bar takes the rest.
    label = Column(overflow="ellipsis", no_wrap=True)
    progress = Progress(
        TextColumn("{task.description}", table_column=label),
        BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=10)),
        TextColumn("{task.fields[run]}"),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeLeftColumn(),
        console=console,
        transient=True,
        expand=True,
    )
    task = progress.add_task("starting", total=sum(time_left.runs_per_trial) or 1, run="")
    progress.start()
    return progress, task


def fit_label(progress: Any, console: Console) -> None:
    """Let the label take at most what the counts and a short bar leave of the width."""
    column = progress.columns[0].get_table_column()
    column.max_width = max(20, console.width - FIXED)
