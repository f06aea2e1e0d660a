"""The terminal reporter: a progress bar while running, then a table per experiment.

A rich progress bar on a terminal; one plain line per trial when output is not a TTY (CI
logs stay readable and parseable); with ``-q`` only one line on stderr per trial not ok.
Registered for the session as an
object plugin, as pytest's terminal reporter is, so its state lives with the session.

On a terminal the table marks the best and worst trial of each metric that has a direction;
``--no-color`` and ``NO_COLOR`` keep the marks as bold and underline.  Without a terminal
the table is a Markdown table: no colour codes, no wrapping, one line per trial.  On a
terminal headers wrap at underscores instead of being cut, and metrics that do not fit
beside the params go on to a further table with the same rows.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.report.progress import TimeLeft, fit_label, progress_bar
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
    """Progress and tables, or with ``quiet`` only a line on stderr per trial not ok."""

    def __init__(self, session: Session, quiet: bool = False) -> None:
        self.session = session
        self.quiet = quiet
        self.out = _console(session, stderr=False)
        self.err = _console(session, stderr=True)
        self.count = len(session.trials)
        self.done = 0
        self.time_left = TimeLeft(session.trials)
        self.progress: Any = None
        self.task: Any = None
        if self.err.is_terminal and not quiet:
            self.progress, self.task = progress_bar(self.err, self.time_left)
        self._runs_seen = 0

    @hookimpl
    def runner_trial_start(self, trial: Trial) -> None:
        self._runs_seen = 0
        self.time_left.trial_started()
        if self.progress is not None:
            from rich.markup import escape

            params = " ".join(f"{k}={_cell(v)}" for k, v in trial.swept.items())
            name = escape(trial.experiment)
            label = f"trial {self.done + 1}/{self.count} [bold]{name}[/] {escape(params)}"
            fit_label(self.progress, self.err)
            self.progress.update(self.task, description=label, run=run_label(trial, 0))

    @hookimpl
    def runner_run_done(self, trial: Trial, record: RunRecord) -> None:
        self._runs_seen += 1
        self.time_left.run_done(record.elapsed_s)
        if self.progress is not None:
            self.progress.update(self.task, advance=1, run=run_label(trial, self._runs_seen))

    @hookimpl
    def runner_trial_done(self, trial: Trial, result: TrialResult) -> None:
        self.done += 1
        self.time_left.trial_done(result.duration_s)
        if self.quiet:
            if result.status != OK:
                self.err.print(_problem(result), markup=False, style="red")
        elif self.progress is not None:
            self.progress.update(self.task, advance=trial.warmup + trial.repeat - self._runs_seen)
            if result.status != OK:
                self.progress.console.print(_problem(result), style="red", markup=False)
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
        if self.quiet:
            return
        from runner.report.joint import joint_experiments

        width = self.out.width if self.out.is_terminal else None
        shown = [e for e in result.experiments if e.trials]
        for i, exp in enumerate([*shown, *joint_experiments(shown)]):
            for table in experiment_tables(exp, width):
                if width is not None:
                    self.out.print(table)
                    continue
                # Rich pads Markdown tables with blank lines and trailing spaces: strip
                # them, so each line is a title or a table row.
                with self.out.capture() as captured:
                    self.out.print(table)
                lines = [ln.rstrip() for ln in captured.get().splitlines() if ln.strip()]
                print(("\n" if i else "") + "\n".join(lines), flush=True)
        if width is None and any(unstable(e) for e in result.experiments):
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
        from runner.environment import busy_during

        others = busy_during(result.environment)
        if others is not None:
            warning = (f"warning: other work took {others:g}% of the machine's CPUs during this "
                       "session: its figures may have moved with it")  # fmt: skip
            self.err.print(warning, markup=False)


def _problem(result: TrialResult) -> str:
    """One line for a trial not ok: ``TIMEOUT id: what happened``."""
    return f"{result.status.upper()} {result.id}: {result.error}"


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


def experiment_tables(exp: ExperimentResult, width: int | None = None) -> list[Any]:
    """The experiment's trials with each key metric's median and spread, as rich tables.

    :param width: the terminal's width: headers wrap at underscores to their column's
        width, best and worst are marked, and metrics that do not fit beside the params
        go to a further table with the same rows.  None gives one plain Markdown table
        for logs and pipes, one line per trial.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    key = shown_metrics(exp)
    swept = list(exp.trials[0].swept) if exp.trials else []
    lead = [*(swept or ["trial"]), "status"]
    lead_cells = [[_cell(t.swept[k]) for k in swept] if swept else [t.id] for t in exp.trials]
    for cells, t in zip(lead_cells, exp.trials, strict=True):
        cells.append(t.status)
    metric_cells = {n: [metric_text(t.summary.get(n)) for t in exp.trials] for n in key}
    units = {n: exp.metrics[n].get("unit", "") for n in key}
    wrap, groups = (
        (False, [key]) if width is None else _layout(lead, lead_cells, metric_cells, units, width)
    )
    header_width = width if wrap else None
    best_worst = {name: extremes(exp, name) for name in key} if width is not None else {}
    tables = []
    for g, group in enumerate(groups):
        title = exp.name + f" ({exp.model})" + (f", continued ({g + 1}/{len(groups)})" if g else "")
        table = Table(
            title=escape(title),
            title_justify="left",
            box=box.MARKDOWN if width is None else box.HEAVY_HEAD,
        )
        for i, name in enumerate(lead):
            column_width = max(len(row[i]) for row in lead_cells) if lead_cells else 0
            table.add_column(escape(_header(name, "", column_width, header_width)), no_wrap=True)
        for name in group:
            column_width = max(map(len, metric_cells[name]), default=0)
            header = _header(name, units[name], column_width, header_width)
            table.add_column(escape(header), justify="right", no_wrap=True)
        for i, t in enumerate(exp.trials):
            cells = [escape(c) for c in lead_cells[i][:-1]]
            cells.append(f"[{STATUS_STYLE.get(t.status, 'red')}]{t.status}[/]")
            for name in group:
                ends = best_worst.get(name)
                style = (BEST if i == ends[0] else WORST if i == ends[1] else "") if ends else ""
                text = escape(metric_cells[name][i])
                cells.append(f"[{style}]{text}[/]" if style else text)
            table.add_row(*cells)
        tables.append(table)
    captions = []
    if any(best_worst.values()):
        captions.append(f"[{BEST}]best[/] and [{WORST}]worst[/] median of each metric")
    if width is not None and unstable(exp, key):  # in plain output the hint goes to stderr
        captions.append(escape(UNSTABLE_HINT))
    if captions:
        tables[-1].caption = "\n".join(captions)
        tables[-1].caption_justify = "left"
    return tables


def metric_text(summary: Summary | None) -> str:
    """A metric's cell: its median and spread over the runs, or ``-`` when not reported."""
    if summary is None:
        return "-"
    return summary_cell(summary)


def _header(name: str, unit: str, cells: int, width: int | None) -> str:
    """A column's header: ``name [unit]``, or with a ``width`` wrapped at underscores to
    about the width of the column's cells (never cut), the unit on a line of its own."""
    unit_text = f"[{unit}]" if unit else ""
    if width is None:
        return f"{name} {unit_text}".strip()
    parts = re.findall(r"[^_]+_*|_+", name) or [name]
    limit = max(cells, len(unit_text), *(len(p) for p in parts))
    lines = [""]
    for part in reversed(parts):  # from the end: `latency_` over `p99_us`, never `us` alone
        if lines[0] and len(lines[0]) + len(part) > limit:
            lines.insert(0, "")
        lines[0] = part + lines[0]
    return "\n".join(lines + ([unit_text] if unit_text else []))


def _layout(
    lead: list[str],
    lead_cells: list[list[str]],
    metric_cells: dict[str, list[str]],
    units: dict[str, str],
    width: int,
) -> tuple[bool, list[list[str]]]:
    """Whether headers wrap, and the metrics in groups that each fit beside the lead
    columns: one group with headers on one line if the terminal is wide enough."""

    def column(name: str, unit: str, cells: list[str], wrap: bool) -> int:
        widest = max(map(len, cells), default=0)
        header = _header(name, unit, widest, width if wrap else None).splitlines()
        return max(widest, *map(len, header)) + 3  # padding and a border

    lead_columns = [[row[i] for row in lead_cells] for i in range(len(lead))]
    for wrap in (False, True):
        used = 1 + sum(column(n, "", c, wrap) for n, c in zip(lead, lead_columns, strict=True))
        needs = {n: column(n, units[n], cells, wrap) for n, cells in metric_cells.items()}
        if not wrap and used + sum(needs.values()) <= width:
            return False, [list(metric_cells)]
    groups: list[list[str]] = [[]]
    room = width - used
    for name, need in needs.items():
        if groups[-1] and need > room:
            groups.append([])
            room = width - used
        groups[-1].append(name)
        room -= need
    return True, groups


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
