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
import statistics
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from runner.results import OK

if TYPE_CHECKING:
    from runner.report.sessions import LoadedSession
    from runner.results import ExperimentResult, TrialResult


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
                seen.add(key(param_value(ref, name)))
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
            import statistics

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


def run_values(trial: TrialResult, metric: str) -> list[float]:
    """The metric in each measured run of ``trial`` that reported it."""
    return [float(r.metrics[metric]) for r in trial.runs if metric in r.metrics]


def ordered_values(values: Iterable[Any]) -> list[Any]:
    """Distinct values: numbers sorted, anything else in first-seen (matrix) order."""
    distinct: dict[str, Any] = {}
    for v in values:
        distinct.setdefault(key(v), v)
    out = list(distinct.values())
    return sorted(out) if out and all(is_number(v) for v in out) else out


def param_value(ref: TrialRef, name: str) -> Any:
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
        if all(key(param_value(r, k)) == key(v) for k, v in (where or {}).items())
    ]
    by = [p for p in view.swept() if p != x] if by is None else list(by)
    multi = len(view.sessions) > 1
    groups: dict[tuple[str, ...], Series] = {}
    for ref in refs:
        if metric not in ref.trial.summary and ref.trial.status == OK:
            continue  # an ok trial whose params make the metric not apply
        others = tuple(key(param_value(ref, p)) for p in by)
        group = ", ".join(others)
        label = (f"{group} · {ref.session}" if by else ref.session) if multi else group
        series = groups.setdefault((*others, ref.session), Series(label, ref.session, [], group))
        point = Point(
            param_value(ref, x), run_values(ref.trial, metric), ref.trial.status, ref.trial.id
        )
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
        values = run_values(ref.trial, metric)
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
