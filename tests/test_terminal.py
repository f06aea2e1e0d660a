"""The terminal reporter: progress and tables on a terminal, plain output in pipes and logs."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

# threads=4 finishes 4 sleeps of 0.01 s fastest, threads=1 slowest; task_seconds 2 times
# out, so the table has failures beside the best and the worst.
SPEC = """
name: term
model: thread
params: {workload: sleep, tasks: 4}
matrix:
  threads: [1, 4]
  task_seconds: [0.01, 2]
repeat: 3
warmup: 1
timeout: 1
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(cli, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``runner ARGS`` with stdout and stderr on a pseudo-terminal; its whole output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    environ = {k: v for k, v in cli.env.items() if k != "NO_COLOR"}
    environ.update(TERM="xterm-256color", **(env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", *args],
        cwd=cli.path,
        env=environ,
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal's other side closed: the run is over
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return out.decode("utf-8", "replace")


def row(text: str, *cells: str) -> str:
    """The table line whose first cells are ``cells`` (styles removed to find it)."""
    for line in text.splitlines():
        plain = [c.strip() for c in ANSI.sub("", line).strip("│|┃ ").split("│")]
        if plain[: len(cells)] == list(cells):
            return line
    raise AssertionError(f"no row {cells} in:\n{text}")


@pytest.fixture(scope="module")
def tty_run(tmp_path_factory):
    from runner.testing import RunnerCli

    cli = RunnerCli(tmp_path_factory.mktemp("tty"))
    spec = cli.write("term.yaml", SPEC)
    return cli, run_in_terminal(cli, "run", str(spec), "--no-db")


def test_progress_shows_experiment_params_run_and_times(tty_run):
    _, out = tty_run
    plain = ANSI.sub("", out)
    assert "trial 1/4 term threads=1 task_seconds=0.01" in plain
    assert "trial 4/4 term threads=4 task_seconds=2" in plain
    # The bar redraws ten times a second, so which run of a fast trial it shows varies.
    assert re.search(r"warmup 1/1|run [123]/3", plain)
    assert re.search(r"\d:\d\d:\d\d elapsed, [-\d]:[-\d]{2}:[-\d]{2} left", plain)


def test_table_marks_best_and_worst_in_colour(tty_run):
    _, out = tty_run
    best, worst = row(out, "4", "0.01"), row(out, "1", "0.01")
    # wall_s is lower-is-better and speedup higher-is-better: threads=4 wins both.
    assert best.count("\x1b[1;32m") == 2 and worst.count("\x1b[4;31m") == 2
    assert "\x1b[1;32m" not in row(out, "1", "2") and "timeout" in ANSI.sub("", row(out, "1", "2"))
    assert "best and worst median of each metric" in ANSI.sub("", out)
    # A trial id keeps its brackets: rich would take "[threads=1,...]" for a style.
    assert "TIMEOUT term[threads=1,task_seconds=2]: run 1 did not finish" in ANSI.sub("", out)


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color"])
def test_no_color_keeps_marks_as_bold_and_underline(runner_cli, how):
    spec = runner_cli.write("term.yaml", SPEC.replace("[0.01, 2]", "[0.01]"))
    args, env = (["--no-color"], None) if how == "--no-color" else ([], {"NO_COLOR": "1"})
    out = run_in_terminal(runner_cli, "run", str(spec), "--no-db", *args, env=env)
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", out), "a colour escape despite no colour"
    best, worst = row(out, "4", "0.01"), row(out, "1", "0.01")
    assert "\x1b[1m" in best and "\x1b[4m" in worst


def test_without_a_terminal_output_is_plain_and_parseable(runner_cli):
    res = runner_cli.run_spec(SPEC, "--no-db")
    assert res.code == 1
    assert "\x1b" not in res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "term (thread)"
    header = [c.strip() for c in lines[1].strip("|").split("|")]
    assert header == ["threads", "task_seconds", "status", "wall_s [s]", "speedup [x]"]
    assert set(lines[2]) <= {"|", "-", ":"}
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[3:]]
    assert [r[:3] for r in rows] == [
        ["1", "0.01", "ok"],
        ["1", "2", "timeout"],
        ["4", "0.01", "ok"],
        ["4", "2", "timeout"],
    ]
    assert all(line == line.rstrip() and line.count("|") == 6 for line in lines[1:])
    wall = {r[0]: r[3] for r in rows if r[2] == "ok"}
    assert float(wall["4"].split()[0]) < float(wall["1"].split()[0])
    progress = [ln for ln in res.stderr.splitlines() if ln.startswith("[")]
    assert progress[0].startswith("[1/4] term[threads=1,task_seconds=0.01] ok ")
    assert progress[1].startswith("[2/4] term[threads=1,task_seconds=2] timeout ")
