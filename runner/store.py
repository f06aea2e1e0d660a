"""The SQLite results store (``.runner/results.db``): every session, trial and run kept.

Its plugin (runner/recorder.py) opens the store as a session starts and records the
session, then each finished trial in its own transaction, so a runner killed with
``kill -9`` loses at most the trial in flight.  WAL mode keeps the file readable
(``runner history``) while a session writes it and never leaves it half-written.

The schema is versioned with ``PRAGMA user_version`` and migrated forward on open, one
step per version in ``MIGRATIONS`` (runner.storeschema); ``PRAGMA application_id`` marks
the file as ours, so another program's database is refused rather than written into.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import RunnerError
from runner.storeschema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import sqlite3

    from runner.results import TrialResult
    from runner.session import RunOptions, Session

DEFAULT_PATH = Path(".runner/results.db")
APPLICATION_ID = 0x52554E52  # "RUNR"


class StoreError(RunnerError):
    """A results store that cannot be opened, read or written; the message names the file."""


@dataclasses.dataclass
class SessionInfo:
    """A row of ``runner history``."""

    id: str
    started: str
    finished: str | None
    interrupted: bool
    specs: list[str]
    planned: int
    trials: int
    failures: int
    git_commit: str | None

    @property
    def state(self) -> str:
        if self.finished is None:
            return "incomplete"
        return "interrupted" if self.interrupted else "finished"


class Store:
    """An open results store.  ``create=False`` refuses a file that does not exist."""

    def __init__(self, path: Path, create: bool = True) -> None:
        import sqlite3

        self.path = path
        # Only `runner run` opens a store to write it, and only it has --no-db to skip it.
        self.way_out = "pass --db PATH or --no-db" if create else "pass --db PATH"
        if not create and not path.exists():
            raise StoreError(f"{path}: no results store here (run `runner run` first or pass --db)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are opened explicitly, one per trial.
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{path}: cannot open the results store: {exc}") from None
        self.db.row_factory = sqlite3.Row
        try:
            with self._errors():
                self._prepare()
        except BaseException:
            self.db.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import sqlite3

        try:
            yield
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "not a database" in text or "malformed" in text or "encrypted" in text:
                raise StoreError(
                    f"{self.path}: not a readable results store ({text}); move it away, "
                    f"or {self.way_out}"
                ) from None
            raise StoreError(f"{self.path}: results store error: {text}") from None

    @contextlib.contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        with self._errors():
            # IMMEDIATE takes the write lock up front: two runners sharing a store wait for
            # each other instead of failing half-way through a transaction.
            self.db.execute(f"BEGIN {mode}")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _prepare(self) -> None:
        db = self.db
        # One exclusive transaction looks at the file and builds or migrates the schema:
        # six runners opening one new store at once see either nothing or all of it.
        with self._transaction("EXCLUSIVE"):
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            if app_id != APPLICATION_ID and (tables or app_id):
                raise StoreError(
                    f"{self.path}: a SQLite database, but not a runner results store "
                    f"(tables: {', '.join(tables[:5]) or 'none'}); {self.way_out}"
                )
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: store schema version {version} is newer than this runner "
                    f"knows ({SCHEMA_VERSION}); upgrade runner or pass --db PATH"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[step]):
                    db.execute(statement)
                db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                db.execute(f"PRAGMA user_version={step + 1}")
        self._wal()
        # NORMAL in WAL mode survives a killed process (only power loss may drop the last
        # commits), at the cost of no fsync per trial.
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")

    def _wal(self) -> None:
        import sqlite3
        import time

        # Switching to WAL needs the file to itself, and SQLite does not wait for that
        # with the busy timeout: another runner's first transaction may hold it a moment.
        deadline = time.monotonic() + 30
        while self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    # -- writing -------------------------------------------------------------------------

    def begin_session(self, session: Session) -> None:
        """Record a session and its experiments (again, for a resumed session)."""
        from runner.session import experiment_metrics

        env = session.environment
        specs = list(dict.fromkeys(str(e.path) for e in session.experiments))
        planned = sum(len(e.trials) for e in session.experiments)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sessions (id, started, argv, specs, environment, git_commit, planned)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET finished = NULL,"
                " interrupted = 0, planned = max(planned, excluded.planned)",
                (session.run_id, session.started, _dump(session.argv), _dump(specs),
                 _dump(env), env.get("git_commit"), planned),
            )  # fmt: skip
            for i, exp in enumerate(session.experiments):
                model = session.host.models()[exp.model]
                # An upsert, not INSERT OR REPLACE: a replaced row would cascade-delete the
                # trials a resumed session already has.
                db.execute(
                    "INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (session_id, name) DO UPDATE SET position = excluded.position,"
                    " description = excluded.description, model = excluded.model,"
                    " spec = excluded.spec, repeat = excluded.repeat, warmup = excluded.warmup,"
                    " metrics = excluded.metrics",
                    (session.run_id, exp.name, i, exp.description, exp.model, str(exp.path),
                     exp.repeat, exp.warmup, _dump(experiment_metrics(exp, model))),
                )  # fmt: skip

    def add_trial(self, session_id: str, position: int, result: TrialResult) -> None:
        """Write one finished trial and its runs in one transaction (replacing a rerun)."""
        key = (session_id, result.id)
        with self._transaction() as db:
            db.execute("DELETE FROM trials WHERE session_id = ? AND id = ?", key)
            db.execute(
                "INSERT INTO trials VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ'), ?)",
                (*key, result.experiment, position, result.model, _dump(result.params),
                 _dump(result.swept), result.status, result.error, result.stderr_tail,
                 _dump({k: dataclasses.asdict(v) for k, v in result.summary.items()}),
                 _dump([dataclasses.asdict(c) for c in result.expect]), result.duration_s,
                 result.max_rss_kib, None if result.host is None else _dump(result.host)),
            )  # fmt: skip
            for run in [*result.warmup_runs, *result.runs]:
                run_key = (*key, int(run.warmup), run.index)
                db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                           (*run_key, run.elapsed_s, run.cpu_s))  # fmt: skip
                db.executemany(
                    "INSERT INTO run_metrics VALUES (?, ?, ?, ?, ?, ?)",
                    # float(): the column is REAL, and an int past 2**63 would not even bind.
                    [(*run_key, name, float(value)) for name, value in run.metrics.items()],
                )

    def finish_session(
        self, session_id: str, finished: str, interrupted: bool,
        environment: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Mark a session finished; ``environment`` replaces the one recorded at its start
        (it gains the machine's state at the end)."""
        with self._transaction() as db:
            db.execute("UPDATE sessions SET finished = ?, interrupted = ? WHERE id = ?",
                       (finished, int(interrupted), session_id))  # fmt: skip
            if environment is not None:
                db.execute("UPDATE sessions SET environment = ? WHERE id = ?",
                           (_dump(environment), session_id))  # fmt: skip

    # -- reading -------------------------------------------------------------------------

    def sessions(self, limit: int | None = None) -> list[SessionInfo]:
        """Sessions, newest first."""
        query = (
            "SELECT s.*, count(t.id) AS done, coalesce(sum(t.status != 'ok'), 0) AS failures"
            " FROM sessions s LEFT JOIN trials t ON t.session_id = s.id"
            " GROUP BY s.id ORDER BY s.rowid DESC"
        )
        with self._errors():
            rows = self.db.execute(query + (" LIMIT ?" if limit else ""),
                                   (limit,) if limit else ()).fetchall()  # fmt: skip
        return [_session_info(r) for r in rows]

    def resolve(self, ref: str) -> SessionInfo:
        """A session by id, unique id prefix, ``latest`` or ``previous``."""
        sessions = self.sessions()
        if ref in ("latest", "previous"):
            index = 0 if ref == "latest" else 1
            if len(sessions) <= index:
                raise StoreError(f"{self.path}: no {ref} session: the store holds {len(sessions)}")
            return sessions[index]
        found = [s for s in sessions if s.id == ref]
        found = found or [s for s in sessions if s.id.startswith(ref)]
        if not found:
            raise StoreError(f"{self.path}: no session {ref!r}; `runner history` lists them")
        if len(found) > 1:
            ids = ", ".join(s.id for s in found[:5])
            raise StoreError(
                f"{self.path}: {ref!r} matches {len(found)} sessions ({ids}); give more of the id"
            )
        return found[0]

    def trial_results(self, session_id: str) -> dict[str, TrialResult]:
        """The stored trials of a session, by id, in session order."""
        from runner.results import ExpectCheck, RunRecord, Status, Summary, TrialResult

        with self._errors():
            rows = self.db.execute(
                "SELECT * FROM trials WHERE session_id = ? ORDER BY position", (session_id,)
            ).fetchall()
            values: dict[tuple[str, int, int], dict[str, float]] = {}
            for m in self.db.execute(
                "SELECT trial_id, warmup, idx, metric, value FROM run_metrics"
                " WHERE session_id = ? ORDER BY rowid", (session_id,),
            ):  # fmt: skip
                key = (m["trial_id"], m["warmup"], m["idx"])
                values.setdefault(key, {})[m["metric"]] = m["value"]
            runs: dict[tuple[str, bool], list[RunRecord]] = {}
            for r in self.db.execute(
                "SELECT * FROM runs WHERE session_id = ? ORDER BY trial_id, warmup, idx",
                (session_id,),
            ):  # fmt: skip
                key = (r["trial_id"], r["warmup"], r["idx"])
                runs.setdefault((r["trial_id"], bool(r["warmup"])), []).append(
                    RunRecord(r["idx"], bool(r["warmup"]), r["elapsed_s"], r["cpu_s"],
                              values.get(key, {}))
                )  # fmt: skip
        out = {}
        for r in rows:
            result = TrialResult(
                r["id"], r["experiment"], r["model"], json.loads(r["params"]),
                json.loads(r["swept"]), Status(r["status"]), r["error"], r["stderr_tail"],
                runs=runs.get((r["id"], False), []),
                warmup_runs=runs.get((r["id"], True), []),
                summary={k: Summary(**v) for k, v in json.loads(r["summary"]).items()},
                expect=[ExpectCheck(**e) for e in json.loads(r["expect"])],
                duration_s=r["duration_s"], max_rss_kib=r["max_rss_kib"],
                host=json.loads(r["host"]) if r["host"] else None,
            )  # fmt: skip
            out[result.id] = result
        return out

    def load(self, session_id: str) -> dict[str, Any]:
        """A stored session in the JSON result format (``SessionResult.to_json``)."""
        from runner.results import ExperimentResult, SessionResult

        with self._errors():
            s = self.db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if s is None:
                raise StoreError(f"{self.path}: no session {session_id!r}")
            exps = self.db.execute(
                "SELECT * FROM experiments WHERE session_id = ? ORDER BY position", (session_id,)
            ).fetchall()
        trials = self.trial_results(session_id)
        experiments = []
        for e in exps:
            mine = [t for t in trials.values() if t.experiment == e["name"]]
            experiments.append(
                ExperimentResult(e["name"], e["description"], e["model"], e["spec"], e["repeat"],
                                 e["warmup"], json.loads(e["metrics"]), mine)
            )  # fmt: skip
        result = SessionResult(
            s["id"], s["started"], s["finished"] or "", json.loads(s["environment"]),
            json.loads(s["argv"]), experiments, bool(s["interrupted"]),
        )  # fmt: skip
        return result.to_json()


def _session_info(r: sqlite3.Row) -> SessionInfo:
    return SessionInfo(
        id=r["id"], started=r["started"], finished=r["finished"],
        interrupted=bool(r["interrupted"]), specs=json.loads(r["specs"]), planned=r["planned"],
        trials=r["done"], failures=r["failures"], git_commit=r["git_commit"],
    )  # fmt: skip


def _statements(script: str) -> list[str]:
    # executescript() would commit the open transaction; split instead (no ';' in literals).
    return [s.strip() for s in script.split(";") if s.strip()]


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


def store_path(options: RunOptions) -> Path | None:
    """The store a command's options name: ``--db PATH``, the default, or None (``--no-db``)."""
    if options.get("no_db"):
        return None
    return Path(options.get("db") or DEFAULT_PATH)


def resume(session: Session, ref: str, path: Path | None) -> None:
    """Make ``session`` continue stored session ``ref``: same id, its finished trials kept.

    A finished trial is one the store holds, whatever its status; a trial whose params
    changed since is refused, as mixing two specs in one session would mislead.
    """
    if path is None:
        raise RunnerError("--resume needs the results store: drop --no-db")
    with Store(path, create=False) as store:
        info = store.resolve(ref)
        finished = store.trial_results(info.id)
    for trial in (t for e in session.experiments for t in e.trials):
        previous = finished.get(trial.id)
        if previous is not None and previous.params != trial.params:
            raise RunnerError(
                f"--resume {info.id}: trial {trial.id} ran with other params in that session; "
                "the spec has changed, so start a new session instead"
            )
    session.run_id, session.started = info.id, info.started
    session.resumed = {t.id: finished[t.id] for e in session.experiments for t in e.trials
                       if t.id in finished}  # fmt: skip
