"""RFC 3550 interarrival jitter, computed exactly from recorded samples.

Percentiles are runner's one definition, in runner.percentiles."""

from __future__ import annotations

from collections.abc import Iterable


def jitter_ns(transits: Iterable[int]) -> float:
    """Interarrival jitter as RFC 3550 section 6.4.1 defines it (and iperf reports it).

    ``transits`` are arrival minus send time (``R - S``, each on its own clock) of the
    packets in arrival order.  For packets i-1 and i, ``D = transit_i - transit_{i-1}``
    and ``J += (|D| - J) / 16``: only differences of one clock are used, so sender and
    receiver need not share a clock.  Computed after the fact, outside any timed loop.
    """
    jitter = 0.0
    last: int | None = None
    for transit in transits:
        if last is not None:
            jitter += (abs(transit - last) - jitter) / 16.0
        last = transit
    return jitter
