"""What a session shows and writes: the terminal (terminal.py), the ``-o`` JSON file
(jsonfile.py), HTML pages and charts.

The terminal reporter's hook lives here, apart from its code, which is imported when a
session starts: commands that run nothing start without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner import hookimpl

if TYPE_CHECKING:
    from runner.session import Session

BANDS = ("minmax", "iqr", "none")  # the spread drawn around a median: see series.Point.band


@hookimpl
def runner_session_start(session: Session) -> None:
    from runner.report.terminal import TerminalReporter

    session.host.register(TerminalReporter(session, session.options.quiet), "terminalreporter")
