"""The one percentile definition that every model's latency metrics use."""

from __future__ import annotations

import random
import statistics

import pytest

from runner.percentiles import latency_metrics, percentile


def test_percentile_is_statistics_quantiles_inclusive():
    rng = random.Random(7)
    for n in (2, 3, 10, 101, 1000):
        xs = sorted(rng.random() for _ in range(n))
        cuts = statistics.quantiles(xs, n=100, method="inclusive")
        assert [percentile(xs, p) for p in range(1, 100)] == cuts
        assert percentile(xs, 0) == xs[0] and percentile(xs, 100) == xs[-1]


def test_interpolates_between_ranks_and_handles_one_sample():
    assert percentile([10.0, 20.0], 50) == 15.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 99.9) == pytest.approx(3.997)
    assert percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_latency_metrics_in_microseconds():
    got = latency_metrics([4000, 1000, 3000, 2000])
    assert got == {"latency_p50_us": 2.5, "latency_p90_us": 3.7, "latency_p99_us": 3.97,
                   "latency_max_us": 4.0}  # fmt: skip
    assert latency_metrics([]) == {}
