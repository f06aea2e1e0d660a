"""Writes the session's results to ``-o FILE.json`` (see docs/results.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runner import hookimpl
from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.results import SessionResult
    from runner.session import Session


@hookimpl
def runner_session_finish(session: Session, result: SessionResult) -> None:
    output = session.options.output
    if not output:
        return
    from runner.results import write_json
    from runner.store import store_path

    try:
        write_json(Path(output), result.to_json())
    except OSError as exc:  # checked at the start, so the disk filled up or went away
        db = store_path(session.options)
        where = (
            f"the results are in the store: `runner export {session.run_id} --db {db} "
            f"-o {output}` writes them once there is room"
            if db is not None
            else "the results were not stored (--no-db)"
        )
        raise UsageError(f"{output}: cannot write the results ({exc.strerror}); {where}") from None
