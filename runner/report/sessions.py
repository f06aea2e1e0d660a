"""Sessions to report on: result files (``runner run -o``) or session ids from the store.

Reports read what ``runner run`` wrote and nothing else, so a report can be made on
another machine, long after the run, from a file attached to a pull request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import UsageError
from runner.results import SessionResult

if TYPE_CHECKING:
    from runner.compare import Side


@dataclasses.dataclass
class LoadedSession:
    """A session and where it came from; ``label`` tells it apart in legends and tables."""

    source: str
    side: Side  # the same results as ``runner compare`` reads them
    result: SessionResult
    label: str = ""


def load_sessions(items: Sequence[str], db: Path | None) -> list[LoadedSession]:
    """Load each item, a JSON result file or a stored session id, and label them apart."""
    from runner.baseline import load_side

    sessions = []
    for item in items:
        side = load_side(item, db)
        sessions.append(LoadedSession(item, side, session_from_json(side.data, item)))
    for session, label in zip(sessions, _labels(sessions), strict=True):
        session.label = label
    return sessions


def session_from_json(data: Mapping[str, Any], source: str) -> SessionResult:
    """A SessionResult from result JSON already checked by its reader; a malformed one is a
    UsageError naming ``source``."""
    try:
        return SessionResult.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UsageError(f"{source}: malformed result file: {what}") from None


def _labels(sessions: Sequence[LoadedSession]) -> list[str]:
    """Short distinct labels: a file's stem (else its path) or a stored session's id."""
    for make in (
        lambda s: Path(s.source).stem if Path(s.source).is_file() else s.result.run_id,
        lambda s: s.source if Path(s.source).is_file() else s.result.run_id,
        lambda s: f"{s.source} ({s.result.run_id})",
    ):
        labels = [make(s) for s in sessions]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{i + 1}: {s.source}" for i, s in enumerate(sessions)]
