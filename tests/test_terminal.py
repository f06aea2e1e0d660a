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

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

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


def run_in_terminal(cli, *args: str, env: dict[str, str] | None = None, cols: int = 160) -> str:
    """Run ``runner ARGS`` with stdout and stderr on a pseudo-terminal ``cols`` wide; its
    whole output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    # The pseudo-terminal's size is the one to use: pytest-xdist gives its workers
    # COLUMNS and LINES, which would override it.
    environ = {k: v for k, v in cli.env.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
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


# Eight metrics with long names, two of them told apart only by their end (p50, p99).
UDP = """
name: udp_wide
model: udp
params: {workload: echo, messages: 300, reply_timeout: 0.5}
matrix:
  payload_bytes: [64, 1400]
repeat: 2
warmup: 0
"""


def screen_lines(out: str) -> list[str]:
    """The lines left on the screen once the output has been drawn: a little terminal that
    knows carriage returns, cursor up and erasing a line, as rich's transient bar uses."""
    lines, row, col = [""], 0, 0
    for token in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)", out):
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif token.startswith("\x1b["):
            if token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
            elif token in ("\x1b[2K", "\x1b[K"):
                lines[row] = lines[row][:col] if token == "\x1b[K" else ""
        elif token:
            text = lines[row].ljust(col)
            lines[row] = text[:col] + token + text[col + len(token) :]
            col += len(token)
    return lines


def header_names(lines: list[str]) -> list[list[str]]:
    """Each table's column names, a wrapped header's lines joined back together."""
    tables, i = [], 0
    while i < len(lines):
        if lines[i].startswith("┏"):
            rows = []
            i += 1
            while not lines[i].startswith("┡"):
                rows.append([c.strip() for c in lines[i].strip("┃").split("┃")])
                i += 1
            names = ["".join(parts).split("[")[0].strip() for parts in zip(*rows, strict=True)]
            tables.append(names)
        i += 1
    return tables


@pytest.fixture(scope="module")
def udp_terminals(tmp_path_factory):
    from runner.testing import RunnerCli

    cli = RunnerCli(tmp_path_factory.mktemp("wide"))
    spec = cli.write("udp_wide.yaml", UDP)
    return {c: run_in_terminal(cli, "run", str(spec), "--no-db", cols=c) for c in (80, 160)}


@pytest.mark.parametrize("cols", [80, 160])
def test_headers_are_never_cut_and_tables_fit_the_terminal(udp_terminals, cols):
    lines = screen_lines(udp_terminals[cols])
    tables = header_names(lines)
    metrics = [n for t in tables for n in t if n not in ("payload_bytes", "status")]
    assert metrics == [
        "loss_pct", "pps", "latency_p50_us", "latency_p99_us", "jitter_us", "lost",
        "duplicates", "corrupt",
    ][: len(metrics)] and {"latency_p50_us", "latency_p99_us"} <= set(metrics)  # fmt: skip
    assert all(t[:2] == ["payload_bytes", "status"] for t in tables), tables
    table_lines = [ln for ln in lines if ln[:1] in "┏┃┡│└"]
    assert not any("…" in ln for ln in table_lines)
    assert max(len(ln.rstrip()) for ln in table_lines) <= cols
    if cols == 160:  # room for every key metric, each header on one line
        assert len(tables) == 1 and any("latency_p50_us [us]" in ln for ln in table_lines)
    else:  # split: the rest of the metrics beside the same rows, under a second title
        assert len(tables) == 2 and any("udp_wide (udp), continued (2/2)" in ln for ln in lines)
        assert sum(ln.startswith("│ 64 ") for ln in lines) == 2
    assert "best and worst median of each metric" in "\n".join(lines)


@pytest.mark.parametrize("cols", [80, 160])
def test_progress_bar_uses_the_width_it_has(udp_terminals, cols):
    frames = [f for f in ANSI.sub("", udp_terminals[cols]).split("\r") if "elapsed," in f]
    assert frames, "no progress bar drawn"
    assert max(len(f.rstrip("\n")) for f in frames) <= cols
    last = frames[-1].rstrip("\n")
    assert len(last) >= cols - 2, f"the bar leaves the line's end blank: {last!r}"
    assert re.search(r"\d:\d\d:\d\d left$", last)


def test_time_left_comes_from_measured_run_durations():
    from types import SimpleNamespace

    from runner.report.progress import TimeLeft

    # Trial one: 4 runs of 2 s; then a trial of 4 runs, and one of 2 runs, still to come.
    trials = [SimpleNamespace(warmup=1, repeat=3), SimpleNamespace(warmup=1, repeat=3),
              SimpleNamespace(warmup=0, repeat=2)]  # fmt: skip
    left = TimeLeft(trials)
    left.trial_started()
    assert left.seconds() is None  # nothing measured yet: no guess
    left.run_done(2.0)
    now = left.since
    # 3 runs of this trial at 2 s, then 6 runs at the session's 2 s a run.
    assert left.seconds(now) == pytest.approx(3 * 2 + 6 * 2)
    assert left.seconds(now + 1.5) == pytest.approx(3 * 2 - 1.5 + 6 * 2)  # the run under way
    for _ in range(3):
        left.run_done(2.0)
    left.trial_done(9.0)  # one second outside its runs: start, setup, teardown
    assert left.seconds(left.since) == pytest.approx(6 * 2 + 2 * 1)
    left.trial_started()
    left.run_done(0.1)  # a much faster trial: its own runs say how long the rest take
    assert left.seconds(left.since) == pytest.approx(3 * 0.1 + 2 * (8.1 / 5) + 1)


def test_quiet_prints_one_line_per_trial_not_ok_on_stderr(runner_cli):
    res = runner_cli.run_spec(SPEC, "--no-db", "-q")
    assert res.code == 1
    assert res.stdout == ""
    assert res.stderr.splitlines() == [
        "TIMEOUT term[threads=1,task_seconds=2]: run 1 did not finish within the timeout of 1 s",
        "TIMEOUT term[threads=4,task_seconds=2]: run 1 did not finish within the timeout of 1 s",
    ]


def test_experiments_of_one_file_over_the_same_points_share_a_table(runner_cli):
    # Two models swept over the same points (as udp_vs_tcp.yaml does over a lossy link):
    # after each one's table, one table with both side by side.
    res = runner_cli.run_spec(
        """
        experiments:
          - name: j_thread
            model: thread
            params: {workload: sleep, task_seconds: 0.01, threads: 2}
            matrix: {tasks: [2, 4]}
            repeat: 2
            warmup: 0
          - name: j_coro
            model: coroutine
            params: {workload: sleep, impl: threads, task_seconds: 0.01}
            matrix: {tasks: [2, 4]}
            repeat: 2
            warmup: 0
        """,
        "--no-db",
    )
    assert res.code == 0, res.stderr
    joint = res.stdout.split("(thread vs coroutine)\n", 1)[1].splitlines()
    header = [c.strip() for c in joint[0].strip("|").split("|")]
    assert header[:2] == ["tasks", "status"]
    assert "thread.wall_s [s]" in header and "coroutine.wall_s [s]" in header
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in joint[2:4]]
    assert [r[0] for r in rows] == ["2", "4"] and all(r[1] == "ok" for r in rows)
    thread_wall = [t["summary"]["wall_s"]["median"] for t in res.trials[:2]]
    shown = [float(r[header.index("thread.wall_s [s]")].split()[0]) for r in rows]
    assert shown == pytest.approx(thread_wall, rel=1e-3)  # the thread experiment's medians
