"""Percentiles and RFC 3550 interarrival jitter, computed exactly from recorded samples."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(ordered: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile of already sorted samples, linearly interpolated.

    Same definition as numpy's default (``linear``): p0 is the minimum, p100 the maximum.
    """
    if not ordered:
        raise ValueError("percentile of no samples")
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile {pct} is not within 0..100")
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


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


class Jitter:
    """Interarrival jitter as RFC 3550 section 6.4.1 defines it (and iperf reports it).

    For packets i-1 and i with send times S and arrival times R (each on its own clock),
    ``D = (R_i - R_{i-1}) - (S_i - S_{i-1})`` and ``J += (|D| - J) / 16``.  Only differences
    of one clock are used, so sender and receiver need not share a clock.
    """

    __slots__ = ("_last_transit", "value_ns")

    def __init__(self) -> None:
        self._last_transit: int | None = None
        self.value_ns = 0.0

    def add(self, sent_ns: int, arrived_ns: int) -> None:
        transit = arrived_ns - sent_ns
        if self._last_transit is not None:
            self.value_ns += (abs(transit - self._last_transit) - self.value_ns) / 16.0
        self._last_transit = transit
