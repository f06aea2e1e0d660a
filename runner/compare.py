"""Baseline vs current: per trial and metric, the change of the median and the decision.

Each metric with a direction gets one of four decisions.  **unchanged**: the medians
differ by no more than the metric's threshold (the practical-significance floor).
**regression** / **improvement**: beyond the threshold, in the worse / better direction,
and significant over the runs (two-sided Mann-Whitney U test, p < alpha; rank-based, so
one slow outlier does not decide, and nothing is assumed of the noise's shape).
**inconclusive**: beyond the threshold but not significant, or with too few runs for any
result to be significant; the reason says which, and the gate of ``runner run
--baseline`` measures more before it settles on it.  Which way is worse comes from each
metric's ``higher_is_better``; metrics without a direction (counts such as ``expected``)
are not judged.  The statistics are runner.stats's (standard library only).

A baseline may pool several sessions (``pool``): their runs are compared together, and the
spread of their medians, what the machine drifts between sessions with no change at all,
widens the threshold where it is larger, so that drift is not called a regression.
docs/compare.md describes the output; runner.baseline reads the sides and holds the gate.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from runner import stats
from runner.stats import DEFAULT_ALPHA, TEST_NAME

REGRESSION, IMPROVEMENT, UNCHANGED = "regression", "improvement", "unchanged"
INCONCLUSIVE = "inconclusive"
DEFAULT_THRESHOLD_PCT = 5.0
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%?\s*$")


def parse_percent(value: object) -> float:
    """``"5%"``, ``"5"`` or ``5`` -> 5.0; a negative or malformed value raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not a percentage such as 5%")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = _PERCENT.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a percentage such as 5%")
        number = float(match.group(1))
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{value!r}: a threshold is a percentage of 0 or more")
    return number


@dataclasses.dataclass(frozen=True)
class CompareOptions:
    """How strict a comparison is: the default threshold (percent) and significance level."""

    threshold_pct: float = DEFAULT_THRESHOLD_PCT
    alpha: float = DEFAULT_ALPHA


@dataclasses.dataclass
class Side:
    """One side of a comparison: a label for people and results in the JSON result format."""

    label: str
    data: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.data.get("run_id", ""))

    def trials(self) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """Trial id -> (trial, its experiment's metrics map), in file order."""
        out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for exp in self.data.get("experiments", []):
            for trial in exp.get("trials", []):
                out[trial["id"]] = (trial, exp.get("metrics", {}))
        return out


def pool(sides: Sequence[Side]) -> Side:
    """One baseline from several sessions of the same specs: each trial's runs from all of
    them, and per metric each session's median (``session_medians``), whose spread is the
    drift the comparison allows for.  A trial keeps the first side's status that is not ok."""
    if len(sides) == 1:
        return sides[0]
    import copy
    import statistics

    data = copy.deepcopy(sides[0].data)
    found = [s.trials() for s in sides]
    for exp in data.get("experiments", []):
        for trial in exp.get("trials", []):
            each = [f[trial["id"]][0] for f in found if trial["id"] in f]
            trial["runs"] = [r for t in each for r in t.get("runs", [])]
            trial["status"] = next((t["status"] for t in each if t["status"] != "ok"), "ok")
            medians: dict[str, list[float]] = {}
            for t in each:
                for name in {m for r in t.get("runs", []) for m in r.get("metrics", {})}:
                    values = _values(t, name)
                    if values:
                        medians.setdefault(name, []).append(statistics.median(values))
            trial["session_medians"] = medians
    others = [s.data.get("environment", {}).get("other_work_pct") for s in sides]
    busiest = max((x for x in others if isinstance(x, (int, float))), default=None)
    data.setdefault("environment", {})["other_work_pct"] = busiest
    label = f"{len(sides)} sessions pooled: " + ", ".join(s.label for s in sides)
    return Side(label, data)


@dataclasses.dataclass
class MetricChange:
    """One metric of one trial on both sides: the medians with their 95% intervals, the
    change, the test's p-value and the decision, with the reason for it."""

    trial: str
    metric: str
    unit: str
    higher_is_better: bool
    base_median: float
    new_median: float
    change_pct: float
    p_value: float
    threshold_pct: float
    base_n: int
    new_n: int
    verdict: str
    reason: str
    base_ci: tuple[float, float] = (math.nan, math.nan)
    new_ci: tuple[float, float] = (math.nan, math.nan)
    runs_needed: int = 0  # inconclusive for too few runs: the new side's runs that could decide
    drift_pct: float | None = None  # a pooled baseline: its sessions' medians, max - min

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        values = f"{num(self.base_median)} -> {num(self.new_median)}{unit}"
        change = format_pct(self.change_pct)
        return f"{self.trial} {self.metric}: {values} ({change}, {self.reason})"


@dataclasses.dataclass
class StatusChange:
    """A trial whose status differs between the sides (ok -> crashed is a regression)."""

    trial: str
    base: str
    new: str
    verdict: str

    def describe(self) -> str:
        return f"{self.trial} status: {self.base} -> {self.new}"


@dataclasses.dataclass
class Comparison:
    base: Side
    new: Side
    options: CompareOptions
    changes: list[MetricChange]
    status_changes: list[StatusChange]
    only_base: list[str]
    only_new: list[str]
    too_few_runs: list[str]  # trials whose run counts cannot reach p < alpha

    @property
    def inconclusive(self) -> list[MetricChange]:
        return [c for c in self.changes if c.verdict == INCONCLUSIVE]

    def undecided(self) -> dict[str, int]:
        """Trials with an inconclusive metric -> how many runs the new side could use
        (0 when more runs are not what it lacks)."""
        out: dict[str, int] = {}
        for c in self.inconclusive:
            out[c.trial] = max(out.get(c.trial, 0), c.runs_needed)
        return out

    @property
    def regressions(self) -> list[MetricChange]:
        return [c for c in self.changes if c.verdict == REGRESSION]

    @property
    def improvements(self) -> list[MetricChange]:
        return [c for c in self.changes if c.verdict == IMPROVEMENT]

    @property
    def broken(self) -> list[StatusChange]:
        return [s for s in self.status_changes if s.verdict == REGRESSION]

    @property
    def failed(self) -> bool:
        """True when something got worse: exit 1 in CI."""
        return bool(self.regressions or self.broken)

    def fails_gate(self, allow_inconclusive: bool = False) -> bool:
        """True when a gate must fail: something got worse, or could not be decided."""
        return self.failed or (bool(self.inconclusive) and not allow_inconclusive)

    def machine_notes(self) -> list[str]:
        """A side measured while other work took much of the machine: its figures may
        have moved with it, whatever the code did."""
        from runner.environment import busy_during

        notes = []
        for name, side in (("baseline", self.base), ("new", self.new)):
            others = busy_during(side.data.get("environment", {}))
            if others is not None:
                notes.append(f"other work took {others:g}% of the machine's CPUs during the "
                             f"{name} session: a change may be the machine's")  # fmt: skip
        return notes

    def counts(self, statuses: bool = True) -> str:
        """One line of counts; ``statuses=False`` leaves out trials newly failing."""
        unchanged = sum(c.verdict == UNCHANGED for c in self.changes)
        parts = [
            plural(len(self.regressions), "regression"),
            plural(len(self.improvements), "improvement"),
            f"{unchanged} unchanged",
        ]
        if self.inconclusive:
            parts.append(f"{len(self.inconclusive)} inconclusive")
        if self.broken and statuses:
            parts.insert(0, plural(len(self.broken), "trial", "trials") + " newly failing")
        if self.only_base or self.only_new:
            parts.append(f"{len(self.only_base)} only in base, {len(self.only_new)} only in new")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "base": {"label": self.base.label, "run_id": self.base.run_id},
            "new": {"label": self.new.label, "run_id": self.new.run_id},
            "test": TEST_NAME,
            "alpha": self.options.alpha,
            "threshold_pct": self.options.threshold_pct,
            "regressions": len(self.regressions) + len(self.broken),
            "inconclusive": len(self.inconclusive),
            "changes": [_change_json(c) for c in self.changes],
            "status_changes": [dataclasses.asdict(s) for s in self.status_changes],
            "only_base": self.only_base,
            "only_new": self.only_new,
            "too_few_runs": self.too_few_runs,
        }


def _change_json(change: MetricChange) -> dict[str, Any]:
    data = dataclasses.asdict(change)
    # Strict JSON has no infinity (a change from 0): null, with the text beside it.
    data["change"] = format_pct(change.change_pct)
    if not math.isfinite(change.change_pct):
        data["change_pct"] = None
    return data


def compare(base: Side, new: Side, options: CompareOptions | None = None) -> Comparison:
    """Compare every trial found on both sides, metric by metric."""
    options = options or CompareOptions()
    base_trials, new_trials = base.trials(), new.trials()
    result = Comparison(base, new, options, [], [], [], [], [])
    result.only_base = [t for t in base_trials if t not in new_trials]
    for trial_id, (new_trial, new_metrics) in new_trials.items():
        if trial_id not in base_trials:
            result.only_new.append(trial_id)
            continue
        base_trial, base_metrics = base_trials[trial_id]
        status = _status_change(trial_id, base_trial["status"], new_trial["status"])
        if status:
            result.status_changes.append(status)
        changes = compare_trial(trial_id, base_trial, new_trial, {**base_metrics, **new_metrics},
                                options)  # fmt: skip
        result.changes.extend(changes)
        if any(c.runs_needed for c in changes):
            result.too_few_runs.append(trial_id)
    return result


def compare_trial(
    trial_id: str,
    base: Mapping[str, Any],
    new: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, Any]],
    options: CompareOptions,
) -> list[MetricChange]:
    """The changes of one trial's metrics that have a direction, in the model's order."""
    out = []
    for name, info in metrics.items():
        direction = info.get("higher_is_better")
        if direction is None:
            continue
        base_values, new_values = _values(base, name), _values(new, name)
        if not base_values or not new_values:
            continue
        threshold = info.get("regress")
        out.append(
            _judge(
                trial_id, name, unit=info.get("unit", ""), higher_is_better=bool(direction),
                base=base_values, new=new_values, alpha=options.alpha,
                threshold=options.threshold_pct if threshold is None else float(threshold),
                floor=float(info.get("floor") or 0.0),
                drift=_drift(base.get("session_medians", {}).get(name, [])),
            )
        )  # fmt: skip
    return out


def _drift(medians: Sequence[float]) -> float | None:
    """How far the sessions' medians spread, in percent of their median; None for one."""
    import statistics

    if len(medians) < 2:
        return None
    center = statistics.median(medians)
    return 100.0 * (max(medians) - min(medians)) / abs(center) if center else None


def _values(trial: Mapping[str, Any], metric: str) -> list[float]:
    return [r["metrics"][metric] for r in trial.get("runs", []) if metric in r.get("metrics", {})]


def _judge(
    trial: str, metric: str, *, unit: str, higher_is_better: bool, base: list[float],
    new: list[float], threshold: float, alpha: float, floor: float = 0.0,
    drift: float | None = None,
) -> MetricChange:  # fmt: skip
    import statistics

    given = threshold
    if drift is not None and drift > threshold:
        threshold = drift
    b, n = statistics.median(base), statistics.median(new)
    change = _change_pct(b, n)
    p = stats.mann_whitney_p(base, new)
    worse = change < 0 if higher_is_better else change > 0
    needed = 0
    why = f" ({given:g}%, widened to the baseline sessions' drift)" if threshold != given else ""
    if abs(change) <= threshold:
        verdict, reason = UNCHANGED, f"within the {threshold:.3g}% threshold{why}"
    elif abs(n - b) <= floor:
        verdict, reason = UNCHANGED, f"within the metric's floor of {floor:g}{unit}"
    elif stats.smallest_p(len(base), len(new)) >= alpha:
        verdict = INCONCLUSIVE
        needed = stats.runs_needed(alpha, other=len(base))
        reason = (f"{len(base)} vs {len(new)} runs cannot be significant at alpha {alpha:g}; "
                  f"{needed} runs on the new side can")  # fmt: skip
    elif p >= alpha:
        verdict, reason = INCONCLUSIVE, f"not significant: p={p:.2g} >= {alpha:g}"
    else:
        verdict = REGRESSION if worse else IMPROVEMENT
        reason = f"p={p:.2g}, threshold {threshold:.3g}%{why}"
    bi, ni = stats.median_interval(base), stats.median_interval(new)
    return MetricChange(trial, metric, unit, higher_is_better, b, n, change, p, threshold,
                        len(base), len(new), verdict, reason, (bi.low, bi.high),
                        (ni.low, ni.high), needed, drift)  # fmt: skip


def _change_pct(base: float, new: float) -> float:
    if base == new:
        return 0.0
    if base == 0:  # from nothing to something: infinitely more, in its sign
        return math.copysign(math.inf, new)
    return 100.0 * (new - base) / abs(base)


def _status_change(trial: str, base: str, new: str) -> StatusChange | None:
    if base == new:
        return None
    if base == "ok":
        return StatusChange(trial, base, new, REGRESSION)
    if new == "ok":
        return StatusChange(trial, base, new, IMPROVEMENT)
    return StatusChange(trial, base, new, UNCHANGED)


def plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def format_pct(change: float) -> str:
    if math.isinf(change):
        return "+inf%" if change > 0 else "-inf%"
    return f"{change:+.1f}%"


def num(value: float) -> str:
    """A number for people: integers with separators, others to 4 significant digits."""
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:.4g}"
