"""Task bodies shared by the thread, process and pool models.

Module-level functions so they pickle by reference for process pools and spawn children.
"""

from __future__ import annotations

import time


def noop_task(*_args: object) -> None:
    """Does nothing: measures dispatch cost alone."""


def sleep_task(seconds: float) -> float:
    """Blocks without using the CPU, like waiting on I/O; returns the time slept."""
    time.sleep(seconds)
    return seconds


def cpu_task(iterations: int) -> int:
    """Pure-Python arithmetic that holds the GIL for its whole length."""
    acc = 0
    for i in range(iterations):
        acc = (acc + i * i) % 1_000_003
    return acc
