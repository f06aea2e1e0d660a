"""Draws a :class:`~runner.report.series.Chart` with matplotlib's Agg backend.

matplotlib is imported here only, inside functions: ``runner run`` never pays for it.
Figures are built without pyplot, so no global figure state and no GUI backend.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any, cast

from runner.errors import UsageError
from runner.report.series import direction, key

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from runner.report.series import Chart, Point

FORMATS = ("svg", "png", "pdf")
BAD = "#c62828"  # not-ok trials and regressions
# Per session, newest first: line, marker and bar hatch; the newest is drawn plain.  Line
# hatches only: a dotted one is drawn as thousands of curves, 150 KiB in every chart.
SESSION_STYLES = (("-", "o", ""), ("--", "s", "///"), (":", "^", "\\\\\\"), ("-.", "D", "xxx"))
_RC = {
    "svg.fonttype": "none",  # text stays text: a small file, and no font embedded
    "svg.hashsalt": "runner",  # same chart, same file
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "legend.framealpha": 0.8,
}
LOG_RATIO = 64  # a numeric axis spanning this factor or more is drawn on a log scale


def require_matplotlib() -> None:
    """Fail with a one-line hint when the plotting library is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(
            "charts need matplotlib: pip install 'concurrency-runner[report]' (or matplotlib>=3.8)"
        ) from None


def render(
    chart: Chart,
    fmt: str = "svg",
    *,
    size: tuple[float, float] = (6.4, 4.0),
    dpi: int = 100,
    title: str | None = None,
) -> bytes:
    """The chart as an SVG, PNG or PDF file's bytes."""
    if fmt not in FORMATS:
        raise UsageError(f"cannot draw a .{fmt} file; use one of: {', '.join(FORMATS)}")
    require_matplotlib()
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(cast(Any, _RC)):
        fig = Figure(figsize=size, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        if chart.kind == "percentiles":
            _draw_percentiles(ax, chart)
        elif chart.kind == "distribution":
            _draw_distribution(ax, chart)
        else:
            _draw_sweep(ax, chart)
        ax.set_title(chart.title if title is None else title)
        _legend(fig, ax, chart)
        buf = io.BytesIO()
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
        fig.savefig(buf, format=fmt, metadata=metadata)
    return buf.getvalue()


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


def _styles(chart: Chart) -> list[tuple[Any, str, str, str]]:
    """Per series: colour by group (the other params); line, marker and hatch by session."""
    sessions = list(dict.fromkeys(s.session for s in chart.series))[::-1]
    groups = list(dict.fromkeys(s.group for s in chart.series))
    by_session = len(groups) == 1  # one line per session: colour tells them apart too
    names = sessions if by_session else groups
    colors = _colors(len(names))
    out = []
    for s in chart.series:
        look = SESSION_STYLES[sessions.index(s.session) % len(SESSION_STYLES)]
        out.append((colors[names.index(s.session if by_session else s.group)], *look))
    return out


def _ylabel(chart: Chart) -> str:
    label = f"{chart.metric} [{chart.unit}]" if chart.unit else chart.metric
    better = direction(chart.higher_is_better)
    return f"{label} ({better})" if better else label


def _draw_sweep(ax: Axes, chart: Chart) -> None:
    numeric = chart.numeric
    pos = {key(v): (float(v) if numeric else float(i)) for i, v in enumerate(chart.x_values)}
    styles = _styles(chart)
    n = len(chart.series)
    for i, series in enumerate(chart.series):
        color, line, marker, hatch = styles[i]
        # Categories: grouped bars, one per series, side by side within the category.
        width = 0.8 / n
        dodge = 0.0 if numeric else (i - (n - 1) / 2) * width
        xs = [pos[key(p.x)] + dodge for p in series.points]
        good = [p for p in series.points if p.values]
        if numeric:
            meds = [p.median if p.values else math.nan for p in series.points]
            ax.plot(xs, meds, line, marker=marker, color=color, label=series.label or None, ms=4)
            if chart.band != "none" and len(good) > 1:
                lo, hi = zip(*(p.band(chart.band) for p in series.points), strict=True)
                ax.fill_between(xs, lo, hi, color=color, alpha=0.18, lw=0)
            elif chart.band != "none":
                _errorbars(ax, xs, series.points, band=chart.band, color=color, marker=marker)
        else:
            _bars(
                ax,
                xs,
                series.points,
                band=chart.band,
                color=color,
                hatch=hatch,
                width=width,
                label=series.label or None,
            )
        _marks(ax, xs, series.points)
    if numeric:
        _numeric_axis(ax, chart.x_values)
    else:
        ax.set_xticks(list(pos.values()), [key(v) for v in chart.x_values])
        ax.set_xlim(-0.5, len(chart.x_values) - 0.5)
        ax.grid(False, axis="x")
    ax.set_xlabel(chart.x)
    ax.set_ylabel(_ylabel(chart))
    _zero_based(ax, chart)


def _spread(points: list[Point], band: str) -> list[list[float]] | None:
    """Error bar lengths below and above each median."""
    if band == "none":
        return None
    spans = [p.band(band) for p in points]
    below = [p.median - lo for p, (lo, _) in zip(points, spans, strict=True)]
    above = [hi - p.median for p, (_, hi) in zip(points, spans, strict=True)]
    return [below, above]


def _errorbars(
    ax: Axes, xs: list[float], points: list[Point], *, band: str, color: Any, marker: str
) -> None:
    shown = [(x, p) for x, p in zip(xs, points, strict=True) if p.values]
    if shown:
        ax.errorbar(
            [x for x, _ in shown],
            [p.median for _, p in shown],
            fmt=marker,
            color=color,
            yerr=_spread([p for _, p in shown], band),
            capsize=3,
            ms=4,
        )


def _bars(
    ax: Axes,
    xs: list[float],
    points: list[Point],
    *,
    band: str,
    color: Any,
    hatch: str,
    width: float,
    label: str | None,
) -> None:
    shown = [(x, p) for x, p in zip(xs, points, strict=True) if p.values]
    if not shown:
        return
    ax.bar(
        [x for x, _ in shown],
        [p.median for _, p in shown],
        width * 0.9,
        label=label,
        color=color if not hatch else "none",
        edgecolor=color,
        hatch=hatch or None,
        lw=1,
        alpha=0.85,
        yerr=_spread([p for _, p in shown], band),
        capsize=3,
        error_kw={"elinewidth": 1, "ecolor": "#333333"},
    )


def _marks(ax: Axes, xs: list[float], points: list[Point]) -> None:
    """Not-ok trials: a cross on the value, or at the foot of the axis when nothing was
    measured; regressions: a ring."""
    for x, p in zip(xs, points, strict=True):
        if p.regression and p.values:
            ax.plot(x, p.median, "o", ms=13, mfc="none", mec=BAD, mew=1.6, zorder=5)
        if p.ok:
            continue
        if p.values:
            ax.plot(x, p.median, "X", ms=9, color=BAD, zorder=6)
        else:
            ax.plot(
                x,
                0.04,
                "X",
                ms=9,
                color=BAD,
                zorder=6,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
            ax.annotate(
                p.status,
                (x, 0.04),
                xycoords=ax.get_xaxis_transform(),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color=BAD,
            )


def _numeric_axis(ax: Axes, values: list[Any]) -> None:
    from matplotlib.ticker import NullFormatter

    if _spans_decades([float(v) for v in values]):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    if len(values) <= 12:  # tick exactly the values measured
        ax.set_xticks([float(v) for v in values], [key(v) for v in values])


def _spans_decades(values: list[float]) -> bool:
    """True for positive values spanning LOG_RATIO or more: drawn on a log scale."""
    return bool(values) and min(values) > 0 and max(values) / min(values) >= LOG_RATIO


def _zero_based(ax: Axes, chart: Chart) -> None:
    # Amounts (seconds, items/s) start at zero, so the eye reads ratios honestly.
    values = [v for s in chart.series for p in s.points for v in p.values]
    if values and min(values) >= 0 and ax.get_yscale() == "linear":
        ax.set_ylim(bottom=0)


def distribution_size(chart: Chart) -> tuple[float, float]:
    """Inches for a distribution chart: a strip of a fixed height per trial."""
    return 6.4, min(9.0, 1.3 + 0.32 * len(chart.x_values) * max(1, len(chart.series)))


def _draw_distribution(ax: Axes, chart: Chart) -> None:
    """A strip per trial: each run a dot, the median a bar across it; sessions apart."""
    styles = _styles(chart)
    n = len(chart.series)
    rows = {label: float(i) for i, label in enumerate(chart.x_values)}
    for i, series in enumerate(chart.series):
        color, _, marker, _ = styles[i]
        dodge = (i - (n - 1) / 2) * (0.8 / n)
        label = series.label if n > 1 else None
        for p in series.points:
            y = rows[p.x] + dodge
            # Runs spread evenly across the strip's height, so equal values stay visible.
            jitter = [
                0.25 * (j / max(1, len(p.values) - 1) - 0.5) / n for j in range(len(p.values))
            ]
            ax.plot(p.values, [y + d for d in jitter], marker, ls="none", ms=4, color=color,
                    alpha=0.75, label=label)  # fmt: skip
            label = None
            if p.values:
                ax.plot([p.median] * 2, [y - 0.3 / n, y + 0.3 / n], "-", color=color, lw=2)
            if not p.ok:
                ax.plot(p.median if p.values else 0, y, "X", ms=9, color=BAD, zorder=6)
    ax.set_yticks(list(rows.values()), list(rows))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(False, axis="y")
    ax.set_xlabel(_ylabel(chart))
    values = [v for s in chart.series for p in s.points for v in p.values]
    if _spans_decades(values):
        ax.set_xscale("log")
    elif values and min(values) >= 0:
        ax.set_xlim(left=0)


def _pct_pos(pct: float, top: float) -> float:
    # HdrHistogram's scale: p50, p90, p99, p99.9 evenly spaced; max one step past the top.
    return top + 1 if pct >= 100 else -math.log10(1 - pct / 100)


def _draw_percentiles(ax: Axes, chart: Chart) -> None:
    finite = [-math.log10(1 - p / 100) for p in chart.x_values if p < 100]
    top = math.ceil(max(finite)) if finite else 0.0
    styles = _styles(chart)
    values: list[float] = []
    for i, series in enumerate(chart.series):
        color, line, marker, _ = styles[i]
        xs = [_pct_pos(p.x, top) for p in series.points]
        meds = [p.median for p in series.points]
        values += [v for p in series.points for v in p.values]
        bad = any(not p.ok for p in series.points)
        ax.plot(
            xs,
            meds,
            line,
            marker="X" if bad else marker,
            color=color,
            ms=4,
            label=series.label + (" (not ok)" if bad else ""),
        )
        if chart.band != "none" and series.points:
            lo, hi = zip(*(p.band(chart.band) for p in series.points), strict=True)
            ax.fill_between(xs, lo, hi, color=color, alpha=0.15, lw=0)
    ticks = list(dict.fromkeys(chart.x_values))
    ax.set_xticks([_pct_pos(p, top) for p in ticks], [_pct_label(p) for p in ticks])
    ax.set_xlabel("percentile")
    if _spans_decades(values):
        ax.set_yscale("log")
    ax.set_ylabel(_ylabel(chart))
    _zero_based(ax, chart)


def _pct_label(pct: float) -> str:
    return "max" if pct >= 100 else f"p{pct:g}"


def _legend(fig: Any, ax: Axes, chart: Chart) -> None:
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    if chart.kind in {"sweep", "runs"}:
        if chart.not_ok:
            handles.append(Line2D([], [], marker="X", ls="none", color=BAD, ms=7))
            labels.append("trial not ok")
        if any(p.regression for s in chart.series for p in s.points):
            handles.append(Line2D([], [], marker="o", ls="none", mfc="none", mec=BAD, ms=9))
            labels.append("regression")
    if len(handles) < 2 and not chart.not_ok:
        return
    title = chart.legend_title or None
    if len(handles) > 6:
        fig.legend(handles, labels, title=title, loc="outside right upper")
    else:
        ax.legend(handles, labels, title=title, loc="best")
