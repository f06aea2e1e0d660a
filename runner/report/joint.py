"""One table for the experiments of a spec file that sweep the same params over different
models ("UDP against TCP on the same lossy link"): a row per point of the shared matrix,
each model's key metrics side by side, named ``MODEL.metric``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from runner.results import OK, ExperimentResult


def _points(exp: ExperimentResult) -> list[tuple[tuple[str, object], ...]]:
    return [tuple(sorted(t.swept.items(), key=lambda kv: kv[0])) for t in exp.trials]


def joint_experiments(experiments: Iterable[ExperimentResult]) -> list[ExperimentResult]:
    """A joint experiment for each spec file whose experiments (two or more, of more than
    one model) swept exactly the same points; none otherwise."""
    from runner.report.terminal import shown_metrics

    by_spec: dict[str, list[ExperimentResult]] = {}
    for exp in experiments:
        if exp.trials and any(t.swept for t in exp.trials):
            by_spec.setdefault(exp.spec, []).append(exp)
    out = []
    for spec, group in by_spec.items():
        models = [e.model for e in group]
        if len(group) < 2 or len(set(models)) != len(models):
            continue
        points = _points(group[0])
        if len(set(points)) != len(points) or any(_points(e) != points for e in group[1:]):
            continue
        metrics: dict[str, dict] = {}
        for exp in group:
            for name in shown_metrics(exp):
                metrics[f"{exp.model}.{name}"] = {**exp.metrics[name], "key": True}
        name = Path(spec).stem
        rows = []
        for i, first in enumerate(group[0].trials):
            summary = {f"{e.model}.{m}": s for e in group for m, s in e.trials[i].summary.items()
                       if f"{e.model}.{m}" in metrics}  # fmt: skip
            failed = [e.trials[i] for e in group if e.trials[i].status != OK]
            status = failed[0].status if failed else OK
            rows.append(dataclasses.replace(
                first, id=f"{name}[{i}]", experiment=name, model=" vs ".join(models),
                status=status, summary=summary,
            ))  # fmt: skip
        out.append(ExperimentResult(
            name, "", " vs ".join(models), spec, group[0].repeat, group[0].warmup, metrics,
            rows,
        ))  # fmt: skip
    return out
