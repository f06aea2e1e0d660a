"""Exit codes and the few exception types that carry an already-explained error."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0  #: every trial ran and every expectation held
    FAILED = 1  #: a trial failed, an expectation failed or a regression was found
    USAGE = 2  #: bad command line, invalid spec or a plugin that cannot be loaded
    INTERNAL = 3  #: a bug in runner or a plugin outside a trial: shown with --debug
    HANGUP = 129  #: SIGHUP (128 + 1), the terminal went away; what finished was saved
    INTERRUPTED = 130  #: Ctrl-C, SIGINT (128 + 2); what finished before it was saved
    TERMINATED = 143  #: SIGTERM (128 + 15), what CI sends on cancel; what finished was saved


class RunnerError(Exception):
    """An error already explained in its one-line message; never shown as a traceback."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(RunnerError):
    """A bad command line or option value."""


class SpecError(RunnerError):
    """An invalid spec file; the message starts with FILE:LINE:COL."""


class PluginError(RunnerError):
    """A plugin that cannot be imported, registered or used; the message names it."""


class ModelError(Exception):
    """Raised by a model inside a trial for a failure it explains itself (no traceback kept)."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP, raised in the main thread so that every ``except
    KeyboardInterrupt`` stops a session the same way; ``exit_code`` is 128 + the signal."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = ExitCode(128 + signum)
