"""Writes the session's results to ``-o FILE.json`` (see docs/results.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runner import hookimpl
from runner.results import write_json

if TYPE_CHECKING:
    from runner.results import SessionResult
    from runner.session import Session


@hookimpl
def runner_session_finish(session: Session, result: SessionResult) -> None:
    if session.options.output:
        write_json(Path(session.options.output), result.to_json())
