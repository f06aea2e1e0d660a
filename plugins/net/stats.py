"""RFC 3550 interarrival jitter, computed exactly from recorded samples.

Percentiles are runner's one definition, in runner.percentiles."""

from __future__ import annotations


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
