"""runner-jsonl: append each finished trial to a JSON Lines file (``runner run --jsonl``).

A reporter plugin, loaded through the ``runner.plugins`` entry point ``jsonl``.  Lines are
appended, each with one ``write`` to a file opened with ``O_APPEND``, so sessions that
share a file never interleave parts of lines, and a session killed midway keeps every
trial that had finished.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.results import SessionResult, TrialResult
    from runner.session import Session
    from runner.spec import Trial

__version__ = "0.1.0"

SCHEMA = "runner-jsonl/1"


# trylast: the `run` command must already be registered for the option to be added to it.
@hookimpl(trylast=True)
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.choices.get("run")
    if run is not None:
        run.add_argument(
            "--jsonl",
            type=Path,
            metavar="FILE.jsonl",
            help="append each finished trial to FILE as one JSON line (runner-jsonl)",
        )


@hookimpl
def runner_session_start(session: Session) -> None:
    path = _path(session)
    if path is None:
        return
    # Fail before the first trial rather than after an hour of them.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(_open(path))
    except OSError as exc:
        raise UsageError(f"--jsonl {path}: cannot append: {exc.strerror}") from None


@hookimpl
def runner_trial_done(session: Session, trial: Trial, result: TrialResult) -> None:
    path = _path(session)
    if path is not None:
        _append(path, record(session, trial, result))


@hookimpl
def runner_session_finish(session: Session, result: SessionResult) -> None:
    path = _path(session)
    if path is not None and not session.options.get("quiet"):
        count = sum(1 for _ in result.trials())
        print(f"runner-jsonl: {count} trials appended to {path}", file=sys.stderr)


def record(session: Session, trial: Trial, result: TrialResult) -> dict[str, Any]:
    """The JSON object written for one finished trial."""
    model = session.host.models()[trial.model]
    return {
        "schema": SCHEMA,
        "run_id": session.run_id,
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "experiment": trial.experiment,
        "trial": trial.id,
        "model": trial.model,
        "params": trial.params,
        "status": result.status,
        "error": result.error,
        "median": {name: s.median for name, s in result.summary.items()},
        "units": {m.name: m.unit for m in model.metrics if m.name in result.summary},
        "runs": len(result.runs),
    }


def _path(session: Session) -> Path | None:
    value = session.options.get("jsonl")
    return Path(value) if value else None


def _open(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def _append(path: Path, data: dict[str, Any]) -> None:
    line = (json.dumps(data, separators=(",", ":"), default=str) + "\n").encode()
    fd = _open(path)
    try:
        written = os.write(fd, line)
        if written != len(line):  # a full disk: say so rather than leave half a line
            raise OSError(f"--jsonl {path}: short write ({written} of {len(line)} bytes)")
    finally:
        os.close(fd)
