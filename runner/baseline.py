"""Where a comparison's sides come from, and the gate of ``runner run --baseline``.

A side is a JSON result file (``runner run -o``), a session in the results store (an id,
a unique prefix of one, ``latest`` or ``previous``).  The gate compares a session with
its baseline as the session ends and lists what got worse.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.compare import CompareOptions, Comparison, Side, compare, plural, pool
from runner.errors import UsageError
from runner.limits import DEFAULT_BUDGET_S, DEFAULT_MAX_REPEAT
from runner.results import OK

if TYPE_CHECKING:
    from runner.results import SessionResult, TrialResult
    from runner.session import Session
    from runner.spec import Trial


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


def load_baseline(refs: Sequence[str], db: Path | None) -> Side:
    """The baseline ``refs`` name: one side, or several sessions pooled (``compare.pool``)."""
    return pool([load_side(ref, db) for ref in refs])


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
    except RecursionError:
        raise UsageError(
            f"{path}: nested too deeply to be a result file (write one with `runner run -o`)"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{path}: not a runner result file (write one with `runner run -o`)")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UsageError(
            f"{path}: result schema version {version!r} is newer than this runner reads "
            f"({SCHEMA_VERSION}); upgrade runner"
        )
    _check_body(path, data)
    return data


def _check_body(path: Path, data: dict[str, Any]) -> None:
    """A runner header over a body its readers would trip on is refused here, by name."""
    import numbers

    from runner.results import SessionResult

    try:
        result = SessionResult.from_json(data)
        for trial in result.trials():
            for name, summary in trial.summary.items():
                for field, value in vars(summary).items():
                    if field == "unstable":
                        if not isinstance(value, bool):
                            raise ValueError(f"trial {trial.id!r}: summary of {name!r}: "
                                             "unstable is not true or false")  # fmt: skip
                    elif value is None and field.startswith("ci_"):
                        continue  # no interval: too few runs, or a file from before them
                    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
                        raise ValueError(f"trial {trial.id!r}: summary of {name!r}: {field} is "
                                         f"{type(value).__name__}, not a number")  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UsageError(f"{path}: malformed result file: {what}") from None


# -- the gate of `runner run --baseline` -------------------------------------------------


@dataclasses.dataclass
class GateOptions:
    """How the gate decides: the comparison's options, and how far it may measure more."""

    compare: CompareOptions
    max_repeat: int = DEFAULT_MAX_REPEAT
    budget_s: float = DEFAULT_BUDGET_S
    allow_inconclusive: bool = False
    quiet: bool = False
    summary: Path | None = None  # append the Markdown comparison here (a CI job summary)


class RegressionGate:
    """Compares a session with a baseline as it ends, measures more where the runs cannot
    decide, then lists what got worse or stayed undecided.

    Registered by ``runner run --baseline`` for one session and handed to the session
    loop as its decider (``more_runs``), so the re-runs happen in the loop, before the
    session ends: their runs are in the tables, the result file and the store.
    ``comparison`` holds the decision afterwards; the list prints last, after the
    terminal reporter's tables, so a CI log ends with the failures and regressions.
    """

    def __init__(self, baseline: Side, options: GateOptions) -> None:
        self.baseline = baseline
        self.options = options
        self.comparison: Comparison | None = None
        self.notes: list[str] = []
        self.printer = _GatePrinter(self)
        self._given_up: set[str] = set()
        self._deadline: float | None = None

    def more_runs(self, session: Session, result: SessionResult) -> dict[str, int]:
        """The session loop asks once every trial has run, and after each round of
        re-runs: the undecided trials, each with the runs it should add (doubling its
        runs, within ``max_repeat`` and the time budget)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.options.budget_s
        self.decide(session, result)
        assert self.comparison is not None
        trials = {t.id: t for t in session.trials}
        results = {t.id: t for t in result.trials()}
        todo: dict[str, int] = {}
        for tid, need in self.comparison.undecided().items():
            if tid not in trials or tid in self._given_up or results[tid].status != OK:
                continue
            more = self._more_runs(results[tid], trials[tid], need, self._deadline)
            if more <= 0:
                self._given_up.add(tid)
                continue
            todo[tid] = more
            if not self.options.quiet:
                print(f"gate: {tid} undecided with {len(results[tid].runs)} runs: measuring "
                      f"{more} more", file=sys.stderr, flush=True)  # fmt: skip
        return todo

    @hookimpl(tryfirst=True)
    def runner_session_finish(self, session: Session, result: SessionResult) -> None:
        session.host.unregister(self)
        self.decide(session, result)

    def decide(self, session: Session, result: SessionResult) -> Comparison:
        """Compare the session's results so far with the baseline; kept in ``comparison``."""
        new = Side(f"this run ({session.run_id})", result.to_json())
        self.comparison = compare(self.baseline, new, self.options.compare)
        return self.comparison

    def _more_runs(self, result: TrialResult, trial: Trial, need: int, deadline: float) -> int:
        have = len(result.runs)
        more = min(self.options.max_repeat - have, max(have, need - have))
        if more <= 0:
            self.notes.append(f"{trial.id}: still undecided at --max-repeat "
                              f"{self.options.max_repeat} runs")  # fmt: skip
            return 0
        per_run = result.duration_s / max(1, have + trial.warmup)
        if time.monotonic() + per_run * (more + trial.warmup) > deadline:
            self.notes.append(f"{trial.id}: {more} more runs would pass the gate's time "
                              f"budget of {self.options.budget_s:g} s")  # fmt: skip
            return 0
        return more


class _GatePrinter:
    """The gate's list, printed after every other reporter."""

    def __init__(self, gate: RegressionGate) -> None:
        self.gate = gate

    @hookimpl(trylast=True)
    def runner_session_finish(self, session: Session, result: SessionResult) -> None:
        session.host.unregister(self)
        gate = self.gate
        if gate.comparison is None:
            return
        lines = gate_lines(gate.comparison, result.trials(), quiet=gate.options.quiet)
        lines[1:1] = [f"  note: {n}" for n in gate.notes] if lines else []
        for line in lines:
            print(line, file=sys.stderr, flush=True)
        if gate.options.summary is not None:
            from runner.commands.compare import markdown

            with gate.options.summary.open("a") as fh:
                fh.write(markdown(gate.comparison))

    def fails(self) -> bool:
        comparison = self.gate.comparison
        return comparison is not None and comparison.fails_gate(
            self.gate.options.allow_inconclusive
        )


def gate_lines(comparison: Comparison, trials: Iterable[Any], quiet: bool = False) -> list[str]:
    """The end-of-run list: failed trials and expectations, then regressions."""
    failed = [t for t in trials if t.status != "ok"]
    lines = [f"  FAILED {t.id}: {t.error}" for t in failed]
    lines += [f"  REGRESSION {c.describe()}" for c in comparison.regressions]
    lines += [f"  INCONCLUSIVE {c.describe()}" for c in comparison.inconclusive]
    if quiet and not lines:
        return []
    head = f"against baseline {comparison.base.label}:"
    lines += [f"  note: {n}" for n in comparison.machine_notes()]
    summary = comparison.counts(statuses=not failed)  # failed trials are listed already
    if failed:
        summary = f"{plural(len(failed), 'failed trial')}, {summary}"
    return [head, *lines, f"gate: {summary}"]
