"""The results store's schema, as the migrations that build it (see runner.store).

One SQL script per schema version; ``PRAGMA user_version`` says how many a store has had.
Statements are separated by ``;`` and must not contain one in a literal.
"""

from __future__ import annotations

# MIGRATIONS[i] takes a store from schema version i to i + 1; append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT,                  -- NULL while running, or when the runner was killed
        interrupted INTEGER NOT NULL DEFAULT 0,
        argv TEXT NOT NULL,             -- JSON list
        specs TEXT NOT NULL,            -- JSON list of spec paths
        environment TEXT NOT NULL,      -- JSON object
        git_commit TEXT,
        planned INTEGER NOT NULL        -- trials in the session's specs
    );
    CREATE TABLE experiments (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        description TEXT NOT NULL,
        model TEXT NOT NULL,
        spec TEXT NOT NULL,
        repeat INTEGER NOT NULL,
        warmup INTEGER NOT NULL,
        metrics TEXT NOT NULL,          -- JSON: name -> unit, higher_is_better, ...
        PRIMARY KEY (session_id, name)
    );
    CREATE TABLE trials (
        session_id TEXT NOT NULL,
        id TEXT NOT NULL,
        experiment TEXT NOT NULL,
        position INTEGER NOT NULL,      -- order in the session
        model TEXT NOT NULL,
        params TEXT NOT NULL,
        swept TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        stderr_tail TEXT NOT NULL,
        summary TEXT NOT NULL,
        expect TEXT NOT NULL,
        duration_s REAL NOT NULL,
        max_rss_kib INTEGER,
        stored TEXT NOT NULL,
        PRIMARY KEY (session_id, id),
        FOREIGN KEY (session_id, experiment)
            REFERENCES experiments(session_id, name) ON DELETE CASCADE
    );
    CREATE TABLE runs (
        session_id TEXT NOT NULL,
        trial_id TEXT NOT NULL,
        warmup INTEGER NOT NULL,        -- warmup and measured runs each count from 0
        idx INTEGER NOT NULL,
        elapsed_s REAL NOT NULL,
        cpu_s REAL NOT NULL,
        PRIMARY KEY (session_id, trial_id, warmup, idx),
        FOREIGN KEY (session_id, trial_id) REFERENCES trials(session_id, id) ON DELETE CASCADE
    );
    CREATE TABLE run_metrics (
        session_id TEXT NOT NULL,
        trial_id TEXT NOT NULL,
        warmup INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        metric TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (session_id, trial_id, warmup, idx, metric),
        FOREIGN KEY (session_id, trial_id, warmup, idx)
            REFERENCES runs(session_id, trial_id, warmup, idx) ON DELETE CASCADE
    );
    """,
    # 2: where a trial ran under the dask executor (JSON: name, address, environment).
    """
    ALTER TABLE trials ADD COLUMN host TEXT
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
