"""runner.stats against scipy (when installed) and against what order statistics promise."""

from __future__ import annotations

import math
import random

import pytest

from runner.stats import mann_whitney_p, median_interval, runs_needed, smallest_p


def samples(rng: random.Random, ties: bool) -> tuple[list[float], list[float]]:
    n1, n2 = rng.randint(1, 40), rng.randint(1, 40)
    draw = (lambda: float(rng.randint(0, 6))) if ties else (lambda: rng.gauss(0, 1))
    shift = rng.choice([0.0, 0.3, 1.0])
    return [draw() for _ in range(n1)], [draw() + shift for _ in range(n2)]


@pytest.mark.parametrize("ties", [False, True])
def test_mann_whitney_gives_scipys_p_values(ties):
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(12)
    for _ in range(400):
        x, y = samples(rng, ties)
        if len(set(x) | set(y)) == 1:
            assert mann_whitney_p(x, y) == 1.0
            continue
        exact = len(set(x + y)) == len(x + y) and len(x) * len(y) <= 2500
        method = "exact" if exact else "asymptotic"
        ref = stats.mannwhitneyu(x, y, alternative="two-sided", method=method).pvalue
        assert mann_whitney_p(x, y) == pytest.approx(ref, rel=1e-9, abs=1e-15), (x, y)


def test_smallest_p_and_runs_needed():
    assert smallest_p(3, 3) == pytest.approx(0.1)
    assert mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    assert smallest_p(5, 5) == pytest.approx(2 / 252)
    assert runs_needed(0.05) == 4 and runs_needed(0.05, other=3) == 5
    assert runs_needed(0.01) == 5


@pytest.mark.parametrize("n", [6, 10, 20, 30, 60])
def test_median_interval_covers_the_median_95_percent_of_the_time(n):
    """Coverage from the binomial is at least 95%, and simulation agrees (skewed noise)."""
    rng = random.Random(n)
    interval = median_interval(list(range(n)))
    assert interval.confidence >= 0.95
    true_median = math.log(2)  # of an exponential with rate 1
    hits = 0
    for _ in range(2000):
        iv = median_interval([rng.expovariate(1) for _ in range(n)])
        hits += iv.low <= true_median <= iv.high
    assert hits / 2000 >= 0.93, hits  # 95% less sampling error of 2,000 tries


def test_few_runs_give_min_to_max_with_the_confidence_they_have():
    iv = median_interval([3.0, 1.0, 2.0])
    assert (iv.low, iv.high, iv.confidence) == (1.0, 3.0, 0.75)
    assert median_interval([5.0]).confidence == 0.0
