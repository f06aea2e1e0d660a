"""The one percentile definition of runner's metrics, for every model.

A percentile is linearly interpolated between the closest ranks: the "inclusive" method of
``statistics.quantiles`` (numpy's default, ``linear``), where p0 is the smallest sample and
p100 the largest.  docs/results.md states it for readers of results.

Only the standard library: models call this inside their trials.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence


def percentile(ordered: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0 to 100) of samples sorted in ascending order."""
    if not ordered:
        raise ValueError("percentile of no samples")
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile {pct} is not within 0..100")
    if len(ordered) == 1 or pct in (0.0, 100.0):
        return float(ordered[0] if pct == 0.0 else ordered[-1])
    if float(pct).is_integer():
        return statistics.quantiles(ordered, n=100, method="inclusive")[int(pct) - 1]
    # A fractional percentile (p99.9): the same interpolation at a finer grid.
    grid = statistics.quantiles(ordered, n=1000, method="inclusive")
    return grid[round(pct * 10) - 1]


def latency_metrics(samples_ns: Iterable[int], prefix: str = "latency") -> dict[str, float]:
    """p50, p90, p99 and max of nanosecond samples, as ``{prefix}_p50_us`` ... in microseconds.

    Empty input gives an empty dict: a run where nothing came back has no latency to report.
    """
    ordered = sorted(samples_ns)
    if not ordered:
        return {}
    out = {f"{prefix}_p{p}_us": percentile(ordered, p) / 1e3 for p in (50, 90, 99)}
    out[f"{prefix}_max_us"] = ordered[-1] / 1e3
    return out
