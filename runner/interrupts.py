"""SIGINT, SIGTERM and SIGHUP stop a session alike: as a KeyboardInterrupt in the main thread.

The session loop already stops starting trials, kills the running one and saves what
finished when a KeyboardInterrupt reaches it; the handlers here make SIGTERM (a CI
cancel) and SIGHUP (a closed terminal) take that path too, carrying the signal for the
exit code.  Only the first signal raises: a held Ctrl-C or a second SIGTERM while the
session saves its results must not cut the saving short.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

from runner.errors import ExitCode, Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopper:
    """Which signal stopped the session, if one did."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(128 + (self.signum or signal.SIGINT))

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            return  # already stopping
        self.signum = signum
        raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[Stopper]:
    """Within the block, the first of SIGINT, SIGTERM or SIGHUP raises ``Interrupted``."""
    stopper = Stopper()
    previous: dict[int, Any] = {}
    try:
        for sig in SIGNALS:
            previous[sig] = signal.signal(sig, stopper.handle)
    except ValueError:  # not the main thread: signals are not ours to take
        pass
    try:
        yield stopper
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
