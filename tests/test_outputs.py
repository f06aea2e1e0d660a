"""Outputs and inputs checked before the first trial; bad result files; the store under load."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Runs real sessions: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

QUICK = "model: hostile\nplugins: [HOSTILE]\nrepeat: 1\nwarmup: 0\n"


def one_line_error(code: int, err: str, *names: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], (name, err)


def read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores mode bits: /sys then)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        tempfile.mkstemp(dir=folder)
    except OSError:
        return folder
    return Path("/sys")


@pytest.mark.parametrize("case", ["directory", "read_only", "baseline", "executor"])
def test_an_unusable_output_or_option_is_refused_before_any_trial_or_store(launch, case):
    spec = launch.spec(QUICK)
    args: list[str | Path] = ["run", spec, "--db", launch.db]
    if case == "directory":
        (launch.dir / "outdir").mkdir()
        args += ["-o", launch.dir / "outdir"]
        named = "outdir"
    elif case == "read_only":
        target = read_only_folder(launch.dir) / "results.json"
        args += ["-o", target]
        named = str(target)
    elif case == "baseline":
        (launch.dir / "base.json").write_text("this is not JSON")
        args += ["--baseline", launch.dir / "base.json"]
        named = "base.json"
    else:
        args += ["--executor", "nowhere"]
        named = "nowhere"
    code, err = launch.run(*args)
    one_line_error(code, err, named)
    assert not launch.db.exists()  # no store session was opened
    assert launch.temp_files() == []  # no trial ran


def _deep(depth: int) -> str:
    return (
        '{"schema": "runner.results", "schema_version": 1, "x": ' + "[" * depth + "]" * depth + "}"
    )


BAD_FILES = {
    "missing_model": {"experiments": [{"name": "e", "trials": []}]},
    "trial_not_a_mapping": {"experiments": [{"name": "e", "model": "m", "trials": [3]}]},
    "summary_string": {
        "experiments": [
            {
                "name": "e",
                "model": "m",
                "trials": [
                    {
                        "id": "t",
                        "experiment": "e",
                        "model": "m",
                        "params": {},
                        "swept": {},
                        "status": "ok",
                        "summary": {
                            "wall_s": {
                                "n": 1,
                                "median": "fast",
                                "mean": 1,
                                "stdev": 0,
                                "min": 1,
                                "max": 1,
                            }
                        },
                    }
                ],
            }
        ]
    },
    "experiments_not_a_list": {"experiments": 7},
}


@pytest.mark.parametrize("bad", [*BAD_FILES, "deep"])
@pytest.mark.parametrize("command", ["compare", "report", "run --baseline"])
def test_a_bad_result_file_is_one_line_naming_it(launch, bad, command):
    path = launch.dir / f"{bad}.json"
    if bad == "deep":
        path.write_text(_deep(100_000))
    else:
        path.write_text(json.dumps({"schema": "runner.results", "schema_version": 1,
                                    **BAD_FILES[bad]}))  # fmt: skip
    if command == "compare":
        code, err = launch.run("compare", path, path)
    elif command == "report":
        code, err = launch.run("report", path, "-o", launch.dir / "r.html")
    else:
        code, err = launch.run("run", launch.spec(QUICK), "--baseline", path, "--db", launch.db)
        assert not launch.db.exists()
    one_line_error(code, err, str(path))


def test_a_spec_nested_100000_deep_is_one_line(launch):
    spec = launch.dir / "deep.yaml"
    spec.write_text("model: hostile\nparams: {x: " + "[" * 100_000 + "]" * 100_000 + "}\n")
    code, err = launch.run("validate", spec)
    one_line_error(code, err, str(spec))


@pytest.mark.slow
def test_six_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    opener = (
        "import sys; from pathlib import Path; from runner.store import Store\n"
        "sys.stdin.readline()\n"  # the starting gun: every opener is up and waiting
        "Store(Path(sys.argv[1])).close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    failures = []
    for round_ in range(40):  # 240 opens: the old race failed 7-16 of them
        db = tmp_path / f"round{round_}" / "results.db"
        procs = [
            subprocess.Popen([sys.executable, "-c", opener, str(db)], env=env, text=True,
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(6)
        ]  # fmt: skip
        for proc in procs:
            proc.stdin.write("go\n")
        for proc in procs:
            proc.stdin.flush()
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            if proc.returncode:
                failures.append(err.strip().splitlines()[-1])
    assert failures == []


def test_result_and_export_files_follow_the_umask(launch):
    previous = os.umask(0o022)
    try:
        code, err = launch.run("run", launch.spec(QUICK), "-o", launch.out, "--db", launch.db)
        assert code == 0, err
        export = launch.dir / "export.json"
        code, err = launch.run("export", "latest", "--db", launch.db, "-o", export)
        assert code == 0, err
    finally:
        os.umask(previous)
    for path in (launch.out, export):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def _small_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (256, 256))  # the JSON will not fit


def test_a_result_file_that_cannot_be_written_at_the_end_is_one_line(launch):
    spec = launch.spec(QUICK)
    code, err = launch.run("run", spec, "-o", launch.out, "--no-db", "-q", preexec_fn=_small_files)
    one_line_error(code, err, str(launch.out), "File too large", "not stored")


def _store_fills_up() -> None:
    # Each trial's commit adds several 4 KiB pages to the store's log; the JSON of twelve
    # quick trials is about 11 KiB.
    resource.setrlimit(resource.RLIMIT_FSIZE, (120 << 10, 120 << 10))


def test_a_store_that_fills_up_mid_session_warns_once_and_the_json_holds_every_trial(launch):
    spec = launch.spec(QUICK + "matrix: {odd: [a, b, c, d, e, f, g, h, i, j, k, l]}\n")
    code, err = launch.run("run", spec, "-o", launch.out, "--db", launch.db, "-q",
                           preexec_fn=_store_fills_up)  # fmt: skip
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("runner: warning: "), err
    assert str(launch.db) in lines[0] and str(launch.out) in lines[0]
    assert len(launch.results()["experiments"][0]["trials"]) == 12
