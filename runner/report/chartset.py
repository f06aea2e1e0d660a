"""Which charts a report draws for an experiment, and what it lists instead.

Key metrics (``key=True``) come first: a chart against the first swept param and the
distribution of every run; then the rest.  A metric with one value in every run gets no
chart (it is listed with its value); metrics named like percentiles of one distribution
get a percentile chart.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from runner.report.series import (
    Chart,
    ExperimentView,
    Point,
    Series,
    TrialRef,
    key,
    param_value,
    run_values,
    runs_chart,
    sweep_chart,
)
from runner.results import OK

# latency_p50_us, latency_p999_us (99.9), latency_max_us: one percentile plot per prefix.
_PERCENTILE = re.compile(r"^(?P<base>.+)_(?:p(?P<pct>\d+)|(?P<max>max))_(?P<unit>[A-Za-z]+)$")


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
            Point(pct, run_values(ref.trial, name), ref.trial.status, ref.trial.id)
            for pct, name in pset.points.items()
        ]
        if not any(p.values for p in points):
            continue
        group = ", ".join(key(param_value(ref, p)) for p in swept) or ref.trial.id
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
    return " ".join(f"{p}={key(param_value(ref, p))}" for p in view.swept()) or ref.trial.id


def distribution_chart(view: ExperimentView, metric: str) -> Chart:
    """Every measured run of each trial on one axis: a strip per trial, one series per
    session, so the shape of the noise (outliers, two modes) shows, not just a band."""
    series: dict[str, Series] = {}
    labels: list[str] = []
    for ref in view.trials():
        values = run_values(ref.trial, metric)
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
    values = {v for ref in view.trials() for v in run_values(ref.trial, metric)}
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
