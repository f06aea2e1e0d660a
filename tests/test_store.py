"""The SQLite results store: history, export, resume, kill -9 and bad database files."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.storeschema import SCHEMA_VERSION

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

WORK = Path(__file__).parent / "plugins" / "ci_work.py"
QUICK = """
name: quick
model: thread
params: {workload: sleep, threads: 2, task_seconds: 0.01}
matrix: {tasks: [2, 4]}
repeat: 3
warmup: 1
expect:
  - {where: {tasks: 4}, metric: wall_s, max: 0.001}
"""


def test_store_keeps_what_the_json_file_has(runner_cli):
    res = runner_cli.run_spec(QUICK)
    assert res.code == 1  # the expectation on tasks=4 fails: stored as `failed`
    assert (runner_cli.path / ".runner" / "results.db").exists()
    history = runner_cli.run("history", "--json")
    assert history.code == 0
    [session] = json.loads(history.stdout)
    assert session["id"] == res.results["run_id"]
    assert (session["trials"], session["planned"], session["failures"]) == (2, 2, 1)
    assert session["state"] == "finished" and session["specs"] == [
        res.results["experiments"][0]["spec"]
    ]
    assert session["git_commit"] == res.results["environment"]["git_commit"]
    # The export rebuilds the very same result document: params, runs, summary, metrics.
    exported = runner_cli.run("export", session["id"][:6], "--format", "json")
    assert exported.code == 0, exported.stderr
    assert json.loads(exported.stdout) == res.results
    table = runner_cli.run("history")
    assert table.stdout.splitlines()[0].split() == [
        "ID", "STARTED", "TRIALS", "FAILED", "STATE", "COMMIT", "SPECS"
    ]  # fmt: skip
    assert table.stdout.splitlines()[1].split()[3:6] == ["2/2", "1", "finished"]
    # Stored to the millisecond, shown to the second.
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", " ".join(table.stdout.splitlines()[1].split()[1:3])
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", session["started"])


def test_export_csv_and_markdown(runner_cli):
    res = runner_cli.run_spec(QUICK)
    summary = runner_cli.run("export", "latest", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(summary.stdout)))
    metrics = {name for t in res.trials for name in t["summary"]}
    assert len(rows) == 2 * len(metrics)
    row = next(r for r in rows if r["trial"] == "quick[tasks=2]" and r["metric"] == "wall_s")
    assert float(row["median"]) == res.trials[0]["summary"]["wall_s"]["median"]
    assert (row["unit"], row["higher_is_better"], row["n"], row["status"]) == (
        "s",
        "false",
        "3",
        "ok",
    )
    assert json.loads(row["params"])["tasks"] == 2
    runs = runner_cli.run("export", "latest", "--format", "csv", "--runs", "-o", "runs.csv")
    assert runs.code == 0
    run_rows = list(csv.DictReader((runner_cli.path / "runs.csv").open()))
    assert len(run_rows) == 2 * 3 * len(metrics)  # trials x measured runs x metrics
    md = runner_cli.run("export", "latest", "--format", "markdown")
    assert "## quick (thread)" in md.stdout
    assert "| tasks | status | wall_s [s] ↓ |" in md.stdout
    assert "| 4 | failed |" in md.stdout


def test_no_db_and_db_path(runner_cli):
    assert runner_cli.run_spec(QUICK, "--no-db").results is not None
    assert not (runner_cli.path / ".runner").exists()
    runner_cli.run_spec(QUICK, "--db", "elsewhere/r.db")
    res = runner_cli.run("history", "--db", "elsewhere/r.db", "--json")
    assert len(json.loads(res.stdout)) == 1
    res = runner_cli.run("history")
    assert res.code == 2
    assert res.stderr.strip() == (
        "runner: error: .runner/results.db: no results store here "
        "(run `runner run` first or pass --db)"
    )


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_kill_9_leaves_a_readable_store_and_resume_completes_it(runner_cli):
    spec = runner_cli.write(
        "slow.yaml",
        f"name: slow\nmodel: ci_work\nplugins: [{WORK}]\nrepeat: 1\nwarmup: 0\n"
        "params: {mode: sleep}\nmatrix: {seconds: [0.3, 0.31, 0.32, 0.33, 0.34, 0.35]}\n",
    )
    db = runner_cli.path / ".runner" / "results.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", str(spec)], cwd=runner_cli.path,
        env=runner_cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    stored, deadline = 0, time.monotonic() + 120
    try:
        while stored < 2 and time.monotonic() < deadline:  # read while it writes: WAL
            time.sleep(0.05)
            if db.exists():
                with sqlite3.connect(db) as con:
                    with_trials = "SELECT name FROM sqlite_master WHERE name = 'trials'"
                    if con.execute(with_trials).fetchone():
                        stored = con.execute("SELECT count(*) FROM trials").fetchone()[0]
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        for pid in _children(proc.pid) or workers:
            # The worker leads its own process group: end it and its trial.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    assert 2 <= stored < 6, "the session ended before it could be killed half-way"
    history = runner_cli.run("history", "--json")
    assert history.code == 0, history.stderr
    [session] = json.loads(history.stdout)
    assert session["state"] == "incomplete" and session["planned"] == 6
    done = session["trials"]
    assert stored <= done < 6
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = dict(con.execute("SELECT id, stored FROM trials"))

    res = runner_cli.run_spec(spec, "--resume", session["id"])
    assert res.code == 0, res.stderr
    assert res.results["run_id"] == session["id"] and len(res.trials) == 6
    assert [t["params"]["seconds"] for t in res.trials] == [0.3, 0.31, 0.32, 0.33, 0.34, 0.35]
    ran = [ln.split()[1] for ln in res.stderr.splitlines() if ln.startswith("[")]
    assert set(ran) == {t["id"] for t in res.trials} - set(kept)  # only the unfinished ones
    assert all(ln.startswith(f"[{i + 1}/{6 - done}]") for i, ln in
               enumerate(ln for ln in res.stderr.splitlines() if ln.startswith("[")))  # fmt: skip
    [session] = json.loads(runner_cli.run("history", "--json").stdout)
    assert (session["state"], session["trials"]) == ("finished", 6)
    with sqlite3.connect(db) as con:
        again = dict(con.execute("SELECT id, stored FROM trials"))
    assert {k: again[k] for k in kept} == kept  # the finished trials were not written again


def test_resume_refuses_what_it_cannot_continue(runner_cli):
    res = runner_cli.run_spec(QUICK)
    run_id = res.results["run_id"]
    changed = runner_cli.write("changed.yaml", QUICK.replace("threads: 2", "threads: 3"))
    res = runner_cli.run("run", changed, "--resume", run_id)
    assert res.code == 2
    assert f"--resume {run_id}: trial quick[tasks=2] ran with other params" in res.stderr
    res = runner_cli.run("run", "spec1.yaml", "--resume", "feedbeef")
    assert res.code == 2 and "no session 'feedbeef'; `runner history` lists them" in res.stderr
    res = runner_cli.run("run", "spec1.yaml", "--resume", run_id, "--no-db")
    assert res.code == 2 and "--resume needs the results store" in res.stderr
    # Resuming a finished session runs nothing and keeps every trial.
    res = runner_cli.run_spec("spec1.yaml", "--resume", "latest")
    assert res.code == 1 and len(res.trials) == 2
    assert not [ln for ln in res.stderr.splitlines() if ln.startswith("[")]


def _corrupt(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(8192))


def _foreign(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE users (name TEXT)")


def _truncated(path: Path) -> None:
    # A real store whose pages were overwritten, as a bad copy or a failing disk leaves it.
    from runner.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    Store(path).close()
    data = path.read_bytes()
    path.write_bytes(data[:100] + bytes(range(256)) * ((len(data) - 100) // 256 + 1))


def _newer(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA application_id = 1381322322")
        con.execute("PRAGMA user_version = 99")
        con.execute("CREATE TABLE sessions (id TEXT)")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_corrupt, "not a readable results store (file is not a database); move it away"),
        (_foreign, "a SQLite database, but not a runner results store (tables: users)"),
        (_truncated, "not a readable results store (database disk image is malformed)"),
        (_newer, f"store schema version 99 is newer than this runner knows ({SCHEMA_VERSION})"),
    ],
)
def test_bad_database_files_are_one_line_errors(runner_cli, damage, message):
    runner_cli.write("spec1.yaml", QUICK)
    damage(runner_cli.path / ".runner" / "results.db")
    for args in (["run", "spec1.yaml"], ["history"], ["compare", "latest", "previous"]):
        res = runner_cli.run(*args)
        assert res.code == 2, (args, res.stderr)
        assert res.stderr.startswith("runner: error: .runner/results.db: "), res.stderr
        assert message in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
        # Only `runner run` has --no-db: no other command suggests it.
        assert "--no-db" not in res.stderr or args[0] == "run", res.stderr


def test_migrations_run_in_order_and_keep_data(tmp_path, monkeypatch):
    from runner import store

    path = tmp_path / "r.db"
    with store.Store(path) as st:
        st.db.execute("INSERT INTO sessions (id, started, argv, specs, environment, planned)"
                      " VALUES ('s1', 'now', '[]', '[]', '{}', 0)")  # fmt: skip
    extra = "ALTER TABLE sessions ADD COLUMN note TEXT; UPDATE sessions SET note = 'migrated'"
    monkeypatch.setattr(store, "MIGRATIONS", (*store.MIGRATIONS, extra))
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(store.MIGRATIONS))
    with store.Store(path) as st:
        assert st.db.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS)
        rows = st.db.execute("SELECT id, note FROM sessions").fetchall()
        assert [tuple(r) for r in rows] == [("s1", "migrated")]
        assert [s.id for s in st.sessions()] == ["s1"]


def test_export_reads_a_result_file_and_writes_junit_with_units(runner_cli):
    import xml.etree.ElementTree as ET

    res = runner_cli.run_spec(QUICK, "--no-db")  # no store: the file is the only copy
    assert not (runner_cli.path / ".runner").exists()
    md = runner_cli.run("export", "results1.json", "--format", "markdown")
    assert md.code == 0, md.stderr
    assert "| 4 | failed |" in md.stdout
    junit = runner_cli.run("export", "results1.json", "--format", "junit", "-o", "junit.xml")
    assert junit.code == 0, junit.stderr
    suite = ET.parse(runner_cli.path / "junit.xml").getroot().find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("quick", "2", "1")
    ok, failed = suite.findall("testcase")
    props = {p.get("name"): p.get("value") for p in ok.iter("property")}
    assert float(props["wall_s.median"]) == res.trials[0]["summary"]["wall_s"]["median"]
    assert props["wall_s.unit"] == "s"
    assert failed.get("name") == "quick[tasks=4]" and ok.find("failure") is None
    assert failed.find("failure").get("message").startswith("wall_s should be at most 0.001")
    missing = runner_cli.run("export", "nope.json")
    assert missing.code == 2 and "nope.json: no such result file" in missing.stderr
