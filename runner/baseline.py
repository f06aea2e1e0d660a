"""Where a comparison's sides come from, and the gate of ``runner run --baseline``.

A side is a JSON result file (``runner run -o``), a session in the results store (an id,
a unique prefix of one, ``latest`` or ``previous``).  The gate compares a session with
its baseline as the session ends and lists what got worse.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.compare import CompareOptions, Comparison, Side, compare, plural
from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.results import SessionResult
    from runner.session import Session


def load_side(ref: str, db: Path | None) -> Side:
    """Resolve ``ref`` to results: an existing JSON file, else a session in the store ``db``."""
    path = Path(ref)
    if path.is_file() or ref.endswith(".json"):
        return Side(str(path), read_result_file(path))
    if db is None:
        raise UsageError(f"{ref}: no such result file (the store is off: --no-db)")
    from runner import store

    if not db.exists():
        raise UsageError(
            f"{ref}: no such result file, and no results store at {db} to look up a session "
            "(run `runner run` first, or pass --db PATH)"
        )
    with store.Store(db, create=False) as st:
        info = st.resolve(ref)
        data = st.load(info.id)
    commit = f", commit {info.git_commit[:12]}" if info.git_commit else ""
    return Side(f"session {info.id} ({info.started}{commit})", data)


def read_result_file(path: Path) -> dict[str, Any]:
    """Read a JSON result file written by ``runner run -o``; one-line errors otherwise."""
    from runner.results import SCHEMA, SCHEMA_VERSION

    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such result file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{path}: not a runner result file (write one with `runner run -o`)")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UsageError(
            f"{path}: result schema version {version!r} is newer than this runner reads "
            f"({SCHEMA_VERSION}); upgrade runner"
        )
    return data


# -- the gate of `runner run --baseline` -------------------------------------------------


class RegressionGate:
    """Compares a session with a baseline as it ends, then lists what got worse.

    Registered by ``runner run --baseline`` for one session; ``comparison`` holds the
    verdict afterwards.  Its list comes last, after the terminal reporter's tables, so a
    CI log ends with the failed expectations and the regressions together.
    """

    def __init__(self, baseline: Side, options: CompareOptions, quiet: bool = False) -> None:
        self.baseline = baseline
        self.options = options
        self.quiet = quiet
        self.comparison: Comparison | None = None

    @hookimpl(trylast=True)
    def runner_session_finish(self, session: Session, result: SessionResult) -> None:
        session.host.pm.unregister(self)
        new = Side(f"this run ({session.run_id})", result.to_json())
        self.comparison = compare(self.baseline, new, self.options)
        for line in gate_lines(self.comparison, result.trials(), quiet=self.quiet):
            print(line, file=sys.stderr, flush=True)


def gate_lines(comparison: Comparison, trials: Iterable[Any], quiet: bool = False) -> list[str]:
    """The end-of-run list: failed trials and expectations, then regressions."""
    failed = [t for t in trials if t.status != "ok"]
    lines = [f"  FAILED {t.id}: {t.error}" for t in failed]
    lines += [f"  REGRESSION {c.describe()}" for c in comparison.regressions]
    lines += [f"  INCONCLUSIVE {c.describe()}" for c in comparison.inconclusive]
    if quiet and not lines:
        return []
    head = f"against baseline {comparison.base.label}:"
    summary = comparison.counts(statuses=not failed)  # failed trials are listed already
    if failed:
        summary = f"{plural(len(failed), 'failed trial')}, {summary}"
    return [head, *lines, f"gate: {summary}"]
