"""What a chart shows, worked out from results without any plotting library.

An experiment is seen across one or more sessions (a report of BASE and NEW puts both on
the same axes).  For a metric and a swept parameter, a chart has one series per
combination of the other swept parameters (and per session); each point holds the
metric's value in every measured run, so the band shows the spread over runs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from runner.results import OK

if TYPE_CHECKING:
    from runner.report.sessions import LoadedSession
    from runner.results import ExperimentResult, TrialResult

BANDS = ("minmax", "iqr", "none")  # the spread drawn around a median: see Point.band

# latency_p50_us, latency_p999_us (99.9), latency_max_us: one percentile plot per prefix.
_PERCENTILE = re.compile(r"^(?P<base>.+)_(?:p(?P<pct>\d+)|(?P<max>max))_(?P<unit>[A-Za-z]+)$")


def key(value: Any) -> str:
    """A hashable, printable form of a param value (lists and mappings included)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def direction(higher_is_better: bool | None) -> str:
    """The words for a metric's direction; empty for one without (a count)."""
    if higher_is_better is None:
        return ""
    return "higher is better" if higher_is_better else "lower is better"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclasses.dataclass
class TrialRef:
    """A trial and the session it was measured in."""

    session: str
    trial: TrialResult


@dataclasses.dataclass
class ExperimentView:
    """One experiment as seen across the sessions that hold it."""

    name: str
    model: str
    description: str
    metrics: dict[str, dict[str, Any]]
    parts: list[tuple[LoadedSession, ExperimentResult]]

    @property
    def sessions(self) -> list[str]:
        return [s.label for s, _ in self.parts]

    def trials(self) -> list[TrialRef]:
        return [TrialRef(s.label, t) for s, e in self.parts for t in e.trials]

    def swept(self) -> list[str]:
        """Params that take two or more values among the trials, in matrix order."""
        order: dict[str, set[str]] = {}
        for ref in self.trials():
            for name in ref.trial.swept:
                order.setdefault(name, set())
        for ref in self.trials():
            for name, seen in order.items():
                seen.add(key(_param(ref, name)))
        return [name for name, seen in order.items() if len(seen) > 1]

    def fixed(self) -> dict[str, Any]:
        """Params with one value in every trial: the spec's ``params`` and their defaults."""
        refs = self.trials()
        if not refs:
            return {}
        first = refs[0].trial.params
        return {
            k: v
            for k, v in first.items()
            if all(k in r.trial.params and key(r.trial.params[k]) == key(v) for r in refs)
        }

    def between_sessions(self) -> dict[str, dict[str, list[Any]]]:
        """Params neither fixed nor swept: one value per session, not the same in all."""
        fixed, swept = self.fixed(), set(self.swept())
        out: dict[str, dict[str, list[Any]]] = {}
        for ref in self.trials():
            for name, value in ref.trial.params.items():
                if name not in fixed and name not in swept:
                    out.setdefault(name, {}).setdefault(ref.session, []).append(value)
        return {name: {s: ordered_values(v) for s, v in by.items()} for name, by in out.items()}

    def reported(self) -> list[str]:
        """Metrics some measured run reported, declared ones first, in declared order."""
        seen: dict[str, None] = {}
        for ref in self.trials():
            for run in ref.trial.runs:
                seen.update(dict.fromkeys(run.metrics))
        return [m for m in self.metrics if m in seen] + [m for m in seen if m not in self.metrics]


def experiment_views(sessions: Sequence[LoadedSession]) -> list[ExperimentView]:
    """Experiments by name, in first-seen order; each holds every session that ran it."""
    views: dict[tuple[str, str], ExperimentView] = {}
    for session in sessions:
        for exp in session.result.experiments:
            view = views.get((exp.name, exp.model))
            if view is None:
                view = views[(exp.name, exp.model)] = ExperimentView(
                    exp.name, exp.model, exp.description, {}, []
                )
            view.parts.append((session, exp))
            for name, info in exp.metrics.items():
                view.metrics.setdefault(name, dict(info))
    return list(views.values())


@dataclasses.dataclass
class Point:
    """One trial's value at one x: the metric in each measured run."""

    x: Any
    values: list[float]
    status: str
    trial_id: str
    regression: bool = False

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    def band(self, kind: str) -> tuple[float, float]:
        """The spread drawn around the median: min-max or the interquartile range."""
        if not self.values or kind == "none":
            return self.median, self.median
        if kind == "iqr" and len(self.values) >= 2:
            q1, _, q3 = statistics.quantiles(self.values, n=4, method="inclusive")
            return q1, q3
        return min(self.values), max(self.values)


@dataclasses.dataclass
class Series:
    """One line: the trials sharing the other params' values, in one session."""

    label: str
    session: str
    points: list[Point]
    group: str = ""  # the label without the session: one colour per group


@dataclasses.dataclass
class Chart:
    """A metric against a param (``kind`` sweep), run index (runs) or percentile."""

    kind: str
    experiment: str
    metric: str
    unit: str
    higher_is_better: bool | None
    x: str
    x_values: list[Any]
    series: list[Series]
    legend_title: str = ""
    band: str = "minmax"
    key: bool = False  # a key metric's chart: shown first, the others folded

    @classmethod
    def of(
        cls, kind: str, view: ExperimentView, metric: str, info_from: str, **fields: Any
    ) -> Chart:
        """A chart of ``view``; unit and direction come from metric ``info_from``."""
        info = view.metrics.get(info_from, {})
        return cls(
            kind=kind,
            experiment=view.name,
            metric=metric,
            unit=info.get("unit", ""),
            higher_is_better=info.get("higher_is_better"),
            **fields,
        )

    @property
    def numeric(self) -> bool:
        return all(is_number(v) for v in self.x_values)

    @property
    def title(self) -> str:
        if self.kind == "percentiles":
            return f"{self.experiment}: {self.metric} percentiles"
        if self.kind == "runs":
            return f"{self.experiment}: {self.metric} per run"
        if self.kind == "distribution":
            return f"{self.experiment}: {self.metric}, every run of each trial"
        return f"{self.experiment}: {self.metric} by {self.x}"

    @property
    def not_ok(self) -> list[Point]:
        return [p for s in self.series for p in s.points if not p.ok]


def _values(trial: TrialResult, metric: str) -> list[float]:
    return [float(r.metrics[metric]) for r in trial.runs if metric in r.metrics]


def ordered_values(values: Iterable[Any]) -> list[Any]:
    """Distinct values: numbers sorted, anything else in first-seen (matrix) order."""
    distinct: dict[str, Any] = {}
    for v in values:
        distinct.setdefault(key(v), v)
    out = list(distinct.values())
    return sorted(out) if out and all(is_number(v) for v in out) else out


def _param(ref: TrialRef, name: str) -> Any:
    return ref.trial.params.get(name, ref.trial.swept.get(name))


def sweep_chart(
    view: ExperimentView,
    metric: str,
    x: str,
    *,
    by: Sequence[str] | None = None,
    band: str = "minmax",
    where: dict[str, Any] | None = None,
) -> Chart:
    """``metric`` against param ``x``, one series per value of ``by`` (default: the other
    swept params) and per session.  ``where`` keeps only the trials with those values."""
    refs = [
        r
        for r in view.trials()
        if all(key(_param(r, k)) == key(v) for k, v in (where or {}).items())
    ]
    by = [p for p in view.swept() if p != x] if by is None else list(by)
    multi = len(view.sessions) > 1
    groups: dict[tuple[str, ...], Series] = {}
    for ref in refs:
        if metric not in ref.trial.summary and ref.trial.status == OK:
            continue  # an ok trial whose params make the metric not apply
        others = tuple(key(_param(ref, p)) for p in by)
        group = ", ".join(others)
        label = (f"{group} · {ref.session}" if by else ref.session) if multi else group
        series = groups.setdefault((*others, ref.session), Series(label, ref.session, [], group))
        point = Point(_param(ref, x), _values(ref.trial, metric), ref.trial.status, ref.trial.id)
        series.points.append(point)
    x_values = ordered_values(p.x for s in groups.values() for p in s.points)
    order = {key(v): i for i, v in enumerate(x_values)}
    for series in groups.values():
        series.points.sort(key=lambda p: order[key(p.x)])
    return Chart.of(
        "sweep",
        view,
        metric,
        metric,
        x=x,
        x_values=x_values,
        series=list(groups.values()),
        legend_title=", ".join(by),
        band=band,
    )


def runs_chart(view: ExperimentView, metric: str, band: str = "minmax") -> Chart:
    """For an experiment with a single trial: the metric in each run, one series per session."""
    series = []
    for ref in view.trials():
        values = _values(ref.trial, metric)
        if not values and ref.trial.status == OK:
            continue
        points = [Point(i + 1, [v], ref.trial.status, ref.trial.id) for i, v in enumerate(values)]
        if not points:  # nothing measured: one mark at run 1 says so
            points = [Point(1, [], ref.trial.status, ref.trial.id)]
        series.append(Series(ref.session, ref.session, points, ""))
    x_values = ordered_values(p.x for s in series for p in s.points)
    return Chart.of(
        "runs", view, metric, metric, x="run", x_values=x_values, series=series, band=band
    )


@dataclasses.dataclass
class PercentileSet:
    """Metrics that are percentiles of one distribution: ``{pct: metric name}``."""

    name: str
    points: dict[float, str]


def percentile_sets(metrics: Iterable[str]) -> list[PercentileSet]:
    """Groups of metrics named ``<base>_p<N>_<unit>`` (and ``<base>_max_<unit>``).

    ``p999`` reads as 99.9; ``max`` as 100.  A group needs two percentiles to draw.
    """
    found: dict[tuple[str, str], dict[float, str]] = {}
    for name in metrics:
        m = _PERCENTILE.match(name)
        if not m:
            continue
        if m["max"]:
            pct = 100.0
        else:
            digits = m["pct"]
            pct = float(digits[:2] + "." + digits[2:]) if len(digits) > 2 else float(digits)
            if not 0 < pct < 100:
                continue
        found.setdefault((m["base"], m["unit"]), {})[pct] = name
    return [
        PercentileSet(f"{base}_{unit}", dict(sorted(points.items())))
        for (base, unit), points in found.items()
        if len(points) >= 2 and any(p < 100 for p in points)
    ]


def percentile_chart(view: ExperimentView, pset: PercentileSet, band: str = "minmax") -> Chart:
    """One line per trial (and session): the value at each percentile, over runs."""
    swept = view.swept()
    multi = len(view.sessions) > 1
    series = []
    for ref in view.trials():
        points = [
            Point(pct, _values(ref.trial, name), ref.trial.status, ref.trial.id)
            for pct, name in pset.points.items()
        ]
        if not any(p.values for p in points):
            continue
        group = ", ".join(key(_param(ref, p)) for p in swept) or ref.trial.id
        label = f"{group} · {ref.session}" if multi else group
        series.append(Series(label, ref.session, [p for p in points if p.values], group))
    first = next(iter(pset.points.values()))  # every percentile has the same unit
    return Chart.of(
        "percentiles",
        view,
        pset.name,
        first,
        x="percentile",
        x_values=list(pset.points),
        series=series,
        legend_title=", ".join(swept),
        band=band,
    )


def trial_label(view: ExperimentView, ref: TrialRef) -> str:
    """A trial as its swept params read (``threads=4 workload=cpu``), else its id."""
    return " ".join(f"{p}={key(_param(ref, p))}" for p in view.swept()) or ref.trial.id


def distribution_chart(view: ExperimentView, metric: str) -> Chart:
    """Every measured run of each trial on one axis: a strip per trial, one series per
    session, so the shape of the noise (outliers, two modes) shows, not just a band."""
    series: dict[str, Series] = {}
    labels: list[str] = []
    for ref in view.trials():
        values = _values(ref.trial, metric)
        if not values and ref.trial.status == OK:
            continue
        label = trial_label(view, ref)
        labels.append(label)
        point = Point(label, values, ref.trial.status, ref.trial.id)
        series.setdefault(ref.session, Series(ref.session, ref.session, [], "")).points.append(
            point
        )
    return Chart.of(
        "distribution",
        view,
        metric,
        metric,
        x="trial",
        x_values=list(dict.fromkeys(labels)),
        series=list(series.values()),
        band="none",
        key=True,
    )


def constant_value(view: ExperimentView, metric: str) -> float | None:
    """The one value ``metric`` took in every measured run of every trial, or None when it
    varies (a chart of it would be a flat line, or empty axes)."""
    values = {v for ref in view.trials() for v in _values(ref.trial, metric)}
    return values.pop() if len(values) == 1 else None


def key_metrics(view: ExperimentView) -> list[str]:
    """The metrics the model marks ``key`` that some run reported; without any, the first
    four reported, as the terminal's table shows them."""
    reported = view.reported()
    marked = [m for m in reported if view.metrics.get(m, {}).get("key")]
    return marked or reported[:4]


def experiment_charts(view: ExperimentView, band: str = "minmax") -> list[Chart]:
    """The charts of an experiment's metrics that vary, key metrics first.

    A key metric gets a chart against the first swept param (or per run when nothing is
    swept) and the distribution of its runs; its charts against the other swept params, the
    other metrics' charts and the percentile charts follow, unmarked (folded in a report).
    A metric with one value in every run gets no chart: :func:`constant_value` lists it.
    """
    swept = view.swept()
    keys = key_metrics(view)
    varying = [m for m in view.reported() if constant_value(view, m) is None]

    def sweeps(metric: str) -> list[Chart]:
        if not swept:
            return [runs_chart(view, metric, band)]
        return [sweep_chart(view, metric, x, band=band) for x in swept]

    first: list[Chart] = []
    rest: list[Chart] = []
    for metric in (m for m in varying if m in keys):
        charts = sweeps(metric)
        charts[0].key = True
        first += [charts[0], distribution_chart(view, metric)]
        rest += charts[1:]
    for metric in (m for m in varying if m not in keys):
        rest += sweeps(metric)
    for pset in percentile_sets(varying):
        chart = percentile_chart(view, pset, band)
        chart.key = any(m in keys for m in pset.points.values())
        (first if chart.key else rest).append(chart)
    return first + rest
