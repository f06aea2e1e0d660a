"""The HTML report: one self-contained page, charts inline as SVG, no script, no fetch.

The first screen answers "did it work, and how fast": each session's trial counts and the
comparison's verdict, then per experiment its key metrics (``key=True``) with the verdict
of each trial, their charts and the distribution of their runs.  Metrics with one value in
every run are a line each, not a chart.  The rest (other metrics and params, percentile
charts of other metrics, every metric per trial, the spec) is folded below; the sessions'
environments come last, side by side, with the rows that differ highlighted.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runner import __version__
from runner.report.chartset import constant_value, experiment_charts, key_metrics
from runner.report.comparison import comparison_html, mark_regressions
from runner.report.markup import Td, esc, table
from runner.report.series import (
    Chart,
    ExperimentView,
    direction,
    experiment_views,
    key,
    ordered_values,
)
from runner.report.style import CSS
from runner.report.svg import SvgInliner
from runner.report.terminal import UNSTABLE_HINT, format_number
from runner.results import OK

if TYPE_CHECKING:
    from runner.report.comparison import SessionComparison
    from runner.report.sessions import LoadedSession
    from runner.results import Summary, TrialResult


STATUS_CLASS = {"ok": "ok", "failed": "bad", "timeout": "warn", "crashed": "bad", "error": "bad"}
ENV_ROWS = (
    "python",
    "implementation",
    "platform",
    "machine",
    "cpu",
    "cpu_count",
    "hostname",
    "git_commit",
)


def build_report(
    sessions: Sequence[LoadedSession],
    *,
    band: str = "minmax",
    comparisons: Sequence[SessionComparison] = (),
    title: str | None = None,
) -> tuple[str, int]:
    """The report's HTML and the number of charts in it."""
    views = experiment_views(sessions)
    title = title or "runner report: " + ", ".join(s.label for s in sessions)
    body = [f"<header><h1>{esc(title)}</h1><p class='muted'>{_generated(sessions)}</p></header>"]
    body.append(_verdict_html(sessions, comparisons))
    if len(views) > 1:
        items = "".join(f'<li><a href="#{_anchor(v)}">{esc(v.name)}</a></li>' for v in views)
        body.append(f"<nav><ul>{items}</ul></nav>")
    count = 0
    inliner = SvgInliner()
    for view in views:
        charts = experiment_charts(view, band)
        mark_regressions(charts, comparisons)
        body.append(_experiment_html(view, charts, comparisons, inliner))
        count += len(charts)
    if not views:
        body.append("<p class='note'>These results hold no experiments.</p>")
    if comparisons:
        body.append('<section id="comparison"><h2>Comparison</h2>')
        body.append(comparison_html(comparisons) + "</section>")
    body.append(_sessions_html(sessions))
    page = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
    return page, count


def _verdict_html(
    sessions: Sequence[LoadedSession], comparisons: Sequence[SessionComparison]
) -> str:
    """The answer first: each session's trials by status, each comparison's counts."""
    counts = []
    for s in sessions:
        trials = list(s.result.trials())
        bad = sum(t.status != OK for t in trials)
        cls = "bad" if bad or s.result.interrupted else "good"
        words = f"{len(trials)} trials, {len(trials) - bad} ok, {bad} not ok"
        if s.result.interrupted:
            words += ", interrupted"
        label = f"{esc(s.label)}: " if len(sessions) > 1 else ""
        counts.append(f'<span class="verdict {cls}">{label}{esc(words)}</span>')
    lines = [f"<p>{' · '.join(counts)}</p>"]
    for c in comparisons:
        if c.result is not None:
            cls = "bad" if c.result.failed else "good"
            text = f"{c.new} against {c.base}: {c.result.counts()}"
            lines.append(f'<p class="verdict {cls}"><a href="#comparison">{esc(text)}</a></p>')
    return f'<section id="verdict">{"".join(lines)}</section>'


def _generated(sessions: Sequence[LoadedSession]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    sources = ", ".join(f"<code>{esc(s.source)}</code>" for s in sessions)
    return f"Made by runner {esc(__version__)} on {esc(now)} from {sources}."


def _anchor(view: ExperimentView) -> str:
    # Views are told apart by name and model: so are their anchors.
    return "exp-" + re.sub(r"[^A-Za-z0-9_.-]", "-", f"{view.name}-{view.model}")


# -- sessions ----------------------------------------------------------------------------


def _env_rows(session: LoadedSession) -> dict[str, str]:
    r = session.result
    env = r.environment
    rows = {
        "run id": r.run_id,
        "started": r.started,
        "finished": r.finished + (" (interrupted)" if r.interrupted else ""),
        "command": "runner " + " ".join(r.argv),
    }
    rows.update({name: str(env.get(name, "")) for name in ENV_ROWS})
    for name, version in sorted((env.get("packages") or {}).items()):
        rows[name] = str(version or "-")
    return rows


def _sessions_html(sessions: Sequence[LoadedSession]) -> str:
    envs = [_env_rows(s) for s in sessions]
    names = list(dict.fromkeys(n for env in envs for n in env))
    rows = []
    for name in names:
        values = [env.get(name, "") for env in envs]
        # Differences between sessions are what explain a change: make them stand out.
        differs = len(sessions) > 1 and name not in ("run id", "started", "finished", "command")
        cls = "differs" if differs and len(set(values)) > 1 else ""
        rows.append((cls, [esc(name), *(f"<code>{esc(v)}</code>" for v in values)]))
    head = "Session" if len(sessions) == 1 else "Sessions"
    note = (
        "<p class='note'>Highlighted rows differ between the sessions.</p>"
        if len(sessions) > 1
        else ""
    )
    return (
        f'<section id="sessions"><h2>{head} and environment</h2>{note}'
        + table(["", *(esc(s.label) for s in sessions)], rows, cls="env")
        + "</section>"
    )


# -- one experiment ----------------------------------------------------------------------


def _experiment_html(
    view: ExperimentView,
    charts: list[Chart],
    comparisons: Sequence[SessionComparison],
    inliner: SvgInliner,
) -> str:
    trials = view.trials()
    statuses: dict[str, int] = {}
    for ref in trials:
        statuses[ref.trial.status] = statuses.get(ref.trial.status, 0) + 1
    counts = ", ".join(
        f'<span class="badge {STATUS_CLASS.get(s, "bad")}">{n} {esc(s)}</span>'
        for s, n in statuses.items()
    )
    keys = key_metrics(view)
    first = [c for c in charts if c.key]
    rest = [c for c in charts if not c.key]
    out = [
        f'<section class="experiment" id="{_anchor(view)}">',
        f"<h2>{esc(view.name)} <span class='muted'>({esc(view.model)})</span></h2>",
    ]
    if view.description:
        out.append(f"<p>{esc(view.description)}</p>")
    out.append(f"<p>{len(trials)} trials: {counts}</p>")
    out.append(_charts_html(view, first, inliner))
    out.append("<h3>Trials</h3>")
    out.append(_trials_table(view, comparisons, keys, verdicts=True))
    out.append(_constant_html(view))
    more = [
        f"{len(rest)} more charts" if rest else "",
        "every metric of each trial",
        "the spec",
    ]
    out.append(f"<details class='more'><summary>More: {', '.join(m for m in more if m)}</summary>")
    if rest:
        out.append(_charts_html(view, rest, inliner))
    out.append("<h3>Every metric</h3>")
    out.append(_trials_table(view, comparisons, view.reported(), verdicts=False))
    out.append(_spec_html(view))
    out.append("</details></section>")
    return "\n".join(out)


def _constant_html(view: ExperimentView) -> str:
    """Metrics with one value in every run: one line each instead of a flat chart."""
    items = []
    for metric in view.reported():
        value = constant_value(view, metric)
        if value is not None:
            unit = view.metrics.get(metric, {}).get("unit", "")
            shown = format_number(value) + (f" {unit}" if unit else "")
            items.append(f"<li><code>{esc(metric)}</code>: {esc(shown)} in every run</li>")
    missing = [m for m in view.metrics if m not in view.reported()]
    if missing:
        items.append(f"<li>not reported by any trial: {esc(', '.join(missing))}</li>")
    if not items:
        return ""
    return "<h3>The same in every run</h3><ul class='constant'>" + "".join(items) + "</ul>"


def _spec_html(view: ExperimentView) -> str:
    """The spec as run, rebuilt from the results, and what differs between sessions."""
    import yaml

    _, first = view.parts[0]
    spec: dict[str, Any] = {"name": view.name}
    if view.description:
        spec["description"] = view.description
    spec["model"] = view.model
    spec["params"] = view.fixed()
    swept = view.swept()
    if swept:
        refs = view.trials()
        spec["matrix"] = {p: ordered_values(r.trial.params.get(p) for r in refs) for p in swept}
    spec["repeat"], spec["warmup"] = first.repeat, first.warmup
    text = yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, width=90)
    files = ", ".join(dict.fromkeys(f"<code>{esc(e.spec)}</code>" for _, e in view.parts if e.spec))
    differs = dict(view.between_sessions())
    for field in ("repeat", "warmup"):
        values = {s.label: [getattr(e, field)] for s, e in view.parts}
        if len({v[0] for v in values.values()}) > 1:
            differs[field] = values
    notes = [
        esc(name)
        + ": "
        + "; ".join(f"{esc(', '.join(map(key, v)))} in {esc(s)}" for s, v in by.items())
        for name, by in differs.items()
    ]
    note = (
        f"<p class='note'>Not the same in every session: {'. '.join(notes)}.</p>" if notes else ""
    )
    return (
        f"<details open><summary>Spec{' from ' + files if files else ''}, with every param "
        f"as run (defaults included)</summary><pre>{esc(text)}</pre></details>{note}"
    )


def _trials_table(
    view: ExperimentView,
    comparisons: Sequence[SessionComparison],
    metrics: Sequence[str],
    verdicts: bool,
) -> str:
    """A row per trial: swept params, status, runs, time and ``metrics``; with
    ``verdicts``, each later session's trial also gets its verdict against the base."""
    swept = view.swept()
    multi = len(view.sessions) > 1
    regressed = {c.new: c.regressed() for c in comparisons}
    judged = {c.new: c for c in comparisons if c.result is not None} if verdicts else {}
    heads = (["session"] if multi else []) + (swept or ["trial"]) + ["status", "runs", "time"]
    if judged:
        heads.append("verdict")
    for m in metrics:
        unit = view.metrics.get(m, {}).get("unit", "")
        heads.append(esc(f"{m} [{unit}]" if unit else m))
    rows: list[Any] = []
    for session, exp in view.parts:
        bad = regressed.get(session.label, set())
        for t in exp.trials:
            cells: list[str | Td] = [esc(session.label)] if multi else []
            cells += [esc(key(t.params.get(p))) for p in swept] if swept else [esc(t.id)]
            cells.append(
                f'<span class="badge {STATUS_CLASS.get(t.status, "bad")}">{esc(t.status)}</span>'
            )
            cells += [f"{len(t.runs)}/{exp.repeat}", Td(f"{t.duration_s:.2f} s", "num")]
            if judged:
                cells.append(_trial_verdict(judged.get(session.label), t.id))
            cells += [_metric_cell(t.summary.get(m), (t.id, m) in bad) for m in metrics]
            rows.append(("" if t.status == OK else "notok", cells))
            if t.status != OK:
                rows.append(("detail", [Td(_failure_html(t), colspan=len(heads))]))
    return table(heads, rows, cls="trials")


def _trial_verdict(comparison: SessionComparison | None, trial: str) -> str:
    """A trial's verdict against the base: its worst change (``base`` for the base)."""
    if comparison is None or comparison.result is None:
        return '<span class="muted">base</span>'
    r = comparison.result
    verdicts = {c.verdict for c in r.changes if c.trial == trial}
    verdicts |= {s.verdict for s in r.status_changes if s.trial == trial}
    for verdict, cls in (("regression", "bad"), ("improvement", "good"), ("noise", "")):
        if verdict in verdicts:
            word = "unchanged" if verdict == "noise" else verdict
            return f'<span class="badge {cls}">{word}</span>'
    return '<span class="muted">-</span>'


def _metric_cell(summary: Summary | None, regression: bool) -> Td:
    """The median, then its 95% interval (or the min-max of older results) in small print;
    an ``unstable`` badge with its hint."""
    if summary is None:
        return Td("-", "num")
    spread = ""
    low, high = summary.ci_low, summary.ci_high
    what = "95% interval of the median"
    if low is None or high is None:
        low, high, what = summary.min, summary.max, "min - max"
    if summary.n > 1 and low != high:
        spread = (f'<span class="spread" title="{what}">{format_number(low)} &ndash; '
                  f"{format_number(high)}</span>")  # fmt: skip
    mark = ' <span class="badge bad">regression</span>' if regression else ""
    if summary.unstable:
        mark += f' <span class="badge warn" title="{esc(UNSTABLE_HINT)}">unstable</span>'

    return Td(
        format_number(summary.median) + mark + spread, "num regression" if regression else "num"
    )


def _failure_html(t: TrialResult) -> str:
    # A failed expectation is the error itself; the stderr tail explains a crash.
    tail = t.stderr_tail.strip()
    details = f"<details><summary>stderr</summary><pre>{esc(tail)}</pre></details>" if tail else ""
    return f"<strong>{esc(t.status)}:</strong> {esc(t.error or '')}{details}"


# -- charts ------------------------------------------------------------------------------

BAND_TEXT = {
    "minmax": "the band spans min to max",
    "iqr": "the band spans the middle half",
    "none": "no band",
}


def _charts_html(view: ExperimentView, charts: list[Chart], inliner: SvgInliner) -> str:
    """Charts grouped by metric, in the order given."""
    if not charts:
        return ""
    out = []
    by_metric: dict[str, list[Chart]] = {}
    for chart in charts:
        heading = "percentiles" if chart.kind == "percentiles" else chart.metric
        by_metric.setdefault(heading, []).append(chart)
    for heading, group in by_metric.items():
        out.append(f"<h3>{_metric_heading(view, heading)}</h3><div class='charts'>")
        out += [_figure(chart, inliner) for chart in group]
        out.append("</div>")
    return "\n".join(out)


def _metric_heading(view: ExperimentView, metric: str) -> str:
    if metric == "percentiles":
        return "Percentiles"
    info = view.metrics.get(metric, {})
    unit = f" [{info['unit']}]" if info.get("unit") else ""
    extra = "; ".join(
        x for x in (info.get("description"), direction(info.get("higher_is_better"))) if x
    )
    return f"{esc(metric + unit)}" + (f" <span class='muted'>{esc(extra)}</span>" if extra else "")


def _figure(chart: Chart, inliner: SvgInliner) -> str:
    from runner.report.plot import distribution_size, render

    size = distribution_size(chart) if chart.kind == "distribution" else (6.4, 4.0)
    svg = inliner.inline(render(chart, "svg", size=size).decode("utf-8"), chart.title)
    if chart.kind == "percentiles":
        what = "median over runs at each percentile"
    elif chart.kind == "runs":
        what = "each measured run"
    elif chart.kind == "distribution":
        what = "each dot a measured run, each bar a trial's median"
    else:
        what = "median over runs"
    caption = f"{what}; {BAND_TEXT[chart.band]} over runs." if chart.band != "none" else f"{what}."
    bad = chart.not_ok
    if bad:
        listed = ", ".join(f"{p.trial_id} ({p.status})" for p in bad)
        caption += f" Not ok: {esc(listed)}."
    attrs = f'data-kind="{chart.kind}" data-metric="{esc(chart.metric)}" data-x="{esc(chart.x)}"'
    return f'<figure class="chart" {attrs}>{svg}<figcaption>{caption}</figcaption></figure>'
