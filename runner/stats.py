"""The statistics of a comparison, from the standard library alone.

A comparison must not cost a second of imports (``scipy.stats`` takes about that), and
the two things it needs are small: the two-sided Mann-Whitney U test, exact for the run
counts a benchmark has, and a distribution-free confidence interval of a median from
order statistics.  The test gives the p-values of ``scipy.stats.mannwhitneyu`` (its
``exact`` method without ties, ``asymptotic`` with them); tests/test_stats.py checks that
against scipy when scipy is installed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

DEFAULT_ALPHA = 0.05  # the significance level of a comparison
TEST_NAME = "Mann-Whitney U, two-sided"  # the test of a comparison, as results name it

EXACT_MAX_CELLS = 2_500  # n1 * n2 up to which U's exact distribution is counted (50 x 50)


def ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of ``values``, and the size of each group of ties."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        ties.append(j - i + 1)
        i = j + 1
    return out, ties


@functools.lru_cache(maxsize=64)
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1 + n2, n1) orderings give each U = 0 .. n1 * n2.

    They are the coefficients of the Gaussian binomial [n1 + n2, n1]_q, built as the
    product of (1 - q^(n2 + i)) / (1 - q^i) for i = 1 .. n1, exactly in integers.
    """
    size = n1 * n2 + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, n1 + 1):
        shift = n2 + i
        for k in range(size - 1, shift - 1, -1):  # times (1 - q^shift)
            poly[k] -= poly[k - shift]
        for k in range(i, size):  # divided by (1 - q^i): a running sum with step i
            poly[k] += poly[k - i]
    return tuple(poly)


def mann_whitney_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test of ``x`` against ``y``.

    Exact (every ordering counted) when there are no ties and n1 * n2 is at most
    EXACT_MAX_CELLS; otherwise the normal approximation with the tie correction and a
    continuity correction, as scipy computes it.  1.0 when every value is the same.
    """
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        raise ValueError("both samples need at least one value")
    r, ties = ranks([*x, *y])
    if len(ties) == 1:
        return 1.0
    u1 = sum(r[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    if max(ties) == 1 and n1 * n2 <= EXACT_MAX_CELLS:
        counts = _u_counts(min(n1, n2), max(n1, n2))
        at_least = sum(counts[math.ceil(u) :])
        return min(1.0, 2 * at_least / math.comb(n1 + n2, n1))
    n = n1 + n2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1))
    sd = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
    z = (u - n1 * n2 / 2 - 0.5) / sd
    return min(1.0, math.erfc(z / math.sqrt(2)))  # 2 * P(Z > z)


def smallest_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value n1 against n2 runs can give: fully separated."""
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def runs_needed(alpha: float, other: int | None = None) -> int:
    """Fewest runs a side needs before any change can be significant at ``alpha``.

    :param other: the other side's run count; None for two equal sides.
    """
    n = 1
    while smallest_p(n, n if other is None else other) >= alpha:
        n += 1
        if n > 10_000:
            raise ValueError(f"alpha {alpha:g} cannot be reached")
    return n


@dataclasses.dataclass(frozen=True)
class MedianInterval:
    """A confidence interval of a median: [low, high] holds it with ``confidence``."""

    low: float
    high: float
    confidence: float  # what the order statistics give: at least the level asked for, or
    # less when there are too few runs to reach it (then [min, max])


def median_interval(values: Sequence[float], level: float = 0.95) -> MedianInterval:
    """Distribution-free interval of the median from order statistics.

    The k-th smallest and k-th largest of n runs bracket the true median with probability
    1 - 2 P(B < k), B ~ Binomial(n, 1/2), whatever the distribution; the interval is the
    narrowest such pair whose probability is at least ``level``.  With fewer than 6 runs
    no pair reaches 95%: then it is [min, max] with the confidence it has.
    """
    data = sorted(values)
    n = len(data)
    if not n:
        raise ValueError("no values")
    total = 2**n
    below = 0  # ways of B < k, for k = 1, 2, ...
    best = 1
    for k in range(1, n // 2 + 1):
        below += math.comb(n, k - 1)
        if 1 - 2 * below / total < level:
            break
        best = k
    below = sum(math.comb(n, i) for i in range(best))
    confidence = max(0.0, 1 - 2 * below / total)
    return MedianInterval(data[best - 1], data[n - best], confidence)


def relative_halfwidth(median: float, low: float, high: float) -> float | None:
    """How far (percent of the median) an interval reaches from it, or None when the
    interval touches or crosses zero, where a percentage means nothing."""
    if not (low > 0 or high < 0):
        return None
    return 100 * max(high - median, median - low) / abs(median)
