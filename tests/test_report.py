"""`runner report` and `runner plot`: the HTML page, its charts, and single charts."""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from runner.testing import RunnerCli

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

SWEEP = """
name: sweep
description: sleep vs cpu over threads
model: thread
params: {tasks: 4, task_seconds: 0.01, cpu_iterations: 2000}
matrix:
  threads: [1, 2, 4]
  workload: [sleep, cpu]
repeat: 3
warmup: 0
"""

# A model whose runs carry latency percentiles, for the percentile chart.
LATENCY_PLUGIN = """
from typing import Annotated

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params


class LatencyParams(Params):
    clients: Annotated[int, Meta(ge=1)] = 1


class Latency(Model):
    name = "latency"
    description = "made-up latency percentiles that grow with clients"
    Params = LatencyParams
    metrics = (
        Metric("rtt_p50_us", "us", False), Metric("rtt_p90_us", "us", False),
        Metric("rtt_p99_us", "us", False, key=True), Metric("rtt_max_us", "us", False),
        Metric("dropped", "packets", False),
    )

    def run(self, params, ctx):
        base = 10.0 * params.clients + ctx.run_index
        return {"rtt_p50_us": base, "rtt_p90_us": 2 * base, "rtt_p99_us": 5 * base,
                "rtt_max_us": 9 * base, "dropped": 0}


@hookimpl
def runner_models():
    return [Latency()]
"""

VOID = {"meta", "link", "br", "hr", "img", "input", "col", "wbr", "area", "base", "source"}


class StrictHTML(HTMLParser):
    """Parses a page and fails on any unclosed or mismatched element; collects what a
    self-contained page must not have."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.ids: list[str] = []
        self.figures: list[dict[str, str]] = []
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        self._element(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def _element(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        attrs = dict(attrs)
        if tag == "figure":
            self.figures.append(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for name, raw in attrs.items():
            value = raw or ""
            linked = name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data")
            if (linked and not value.startswith(("#", "data:"))) or re.search(r"url\((?!#)", value):
                self.outside.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style" and ("@import" in data or "url(" in data):
            self.outside.append("a stylesheet that imports or loads a url")


def parse(page: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(page)
    parser.close()
    assert not parser.errors, parser.errors[:5]
    assert parser.stack == [], f"unclosed: {parser.stack}"
    return parser


def varying_metrics(results: dict) -> set[str]:
    """Metrics with two or more values over every run of every trial: the charted ones."""
    values: dict[str, set[float]] = {}
    for exp in results["experiments"]:
        for t in exp["trials"]:
            for r in t["runs"]:
                for m, v in r["metrics"].items():
                    values.setdefault(m, set()).add(v)
    return {m for m, seen in values.items() if len(seen) > 1}


def reported_metrics(results: dict) -> set[str]:
    return {
        m
        for exp in results["experiments"]
        for t in exp["trials"]
        for r in t["runs"]
        for m in r["metrics"]
    }


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> tuple[RunnerCli, Path, dict]:
    """One real run of a two-param sweep, shared by the tests that only read it."""
    cli = RunnerCli(tmp_path_factory.mktemp("sweep"))
    res = cli.run_spec(SWEEP, "--no-db")
    assert res.code == 0, res.stderr
    return cli, cli.path / "results1.json", res.results


def test_report_of_a_sweep_has_a_chart_per_metric_and_param(sweep):
    cli, results_file, results = sweep
    res = cli.run("report", results_file, "-o", "sweep.html")
    assert res.code == 0, res.stderr
    page = (cli.path / "sweep.html").read_text()
    html = parse(page)
    charts = [
        (f["data-metric"], f["data-x"]) for f in html.figures if f.get("data-kind") == "sweep"
    ]
    varying = varying_metrics(results)
    expected = {(m, p) for m in varying for p in ("threads", "workload")}
    assert sorted(charts) == sorted(expected)  # each pair once, no more
    # Each key metric's runs, a strip per trial, before any other chart.
    keys = {n for n, m in results["experiments"][0]["metrics"].items() if m["key"]} & varying
    kinds = [(f["data-kind"], f["data-metric"]) for f in html.figures]
    assert {m for k, m in kinds if k == "distribution"} == keys
    assert {m for _, m in kinds[: 2 * len(keys)]} == keys
    assert html.tags["svg"] == len(html.figures)
    # The spec as run, the environment and a row per trial in the key metrics' table and
    # in the folded table of every metric.
    assert "matrix:" in page and "threads: [1, 2, 4]" in page
    assert results["environment"]["python"] in page
    assert page.count('<span class="badge ok">ok</span>') == 2 * 6
    assert f"wrote sweep.html: 1 experiments, {len(html.figures)} charts" in res.stderr


def test_report_references_nothing_outside_the_file(sweep):
    cli, results_file, _ = sweep
    assert cli.run("report", results_file, "-o", "alone.html").code == 0
    page = (cli.path / "alone.html").read_text()
    html = parse(page)
    assert html.outside == []
    assert "script" not in html.tags and "link" not in html.tags and "img" not in html.tags
    assert len(html.ids) == len(set(html.ids)), "two inline charts share an id"
    # Every in-page reference points at an element of the page.
    refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', page))
    assert refs and refs <= set(html.ids)


def test_report_of_a_single_trial_charts_each_run(runner_cli):
    res = runner_cli.run_spec(
        "model: thread\nparams: {workload: sleep, threads: 2, task_seconds: 0.01}\n"
        "repeat: 4\nwarmup: 0\n",
        "--no-db",
    )
    assert res.code == 0, res.stderr
    out = runner_cli.run("report", runner_cli.path / "results1.json", "-o", "one.html")
    assert out.code == 0, out.stderr
    html = parse((runner_cli.path / "one.html").read_text())
    kinds = {(f["data-kind"], f["data-metric"]) for f in html.figures if f["data-kind"] == "runs"}
    assert kinds == {("runs", m) for m in varying_metrics(res.results)}


def test_failed_and_timed_out_trials_are_shown_not_dropped(runner_cli):
    res = runner_cli.run_spec(
        """
        name: broken
        model: thread
        params: {workload: sleep, threads: 2}
        matrix: {task_seconds: [0.01, 0.02, 5]}
        repeat: 3
        warmup: 0
        timeout: 1
        expect:
          - {where: {task_seconds: 0.02}, metric: wall_s, max: 0.001}
        """,
        "--no-db",
    )
    assert res.code == 1
    assert [t["status"] for t in res.trials] == ["ok", "failed", "timeout"]
    out = runner_cli.run("report", runner_cli.path / "results1.json", "-o", "broken.html")
    assert out.code == 0, out.stderr
    page = (runner_cli.path / "broken.html").read_text()
    html = parse(page)
    assert '<span class="badge warn">timeout</span>' in page
    assert '<span class="badge bad">failed</span>' in page
    assert "did not finish within the timeout of 1 s" in page
    assert "wall_s should be at most 0.001" in page
    wall = re.search(
        r'<figure class="chart" data-kind="sweep" data-metric="wall_s".*?</figure>', page, re.S
    ).group(0)
    # Both bad trials stay on the chart: the legend says so and the caption names them.
    assert "trial not ok" in wall
    assert (
        "broken[task_seconds=0.02] (failed)" in wall and "broken[task_seconds=5] (timeout)" in wall
    )
    assert len([f for f in html.figures if f["data-kind"] == "sweep"]) == len(
        reported_metrics(res.results)
    )


def test_two_sessions_share_the_axes_and_regressions_are_marked(runner_cli):
    spec = """
    name: cmp
    model: thread
    params: {{workload: sleep, task_seconds: {}}}
    matrix: {{threads: [1, 2]}}
    repeat: 5
    warmup: 0
    """
    base = runner_cli.run_spec(spec.format(0.01), "--no-db")
    new = runner_cli.run_spec(spec.format(0.04), "--no-db")  # every sleep four times longer
    assert base.code == 0 and new.code == 0, base.stderr + new.stderr
    (runner_cli.path / "results1.json").rename(runner_cli.path / "base.json")
    (runner_cli.path / "results2.json").rename(runner_cli.path / "new.json")
    # Given newest first, still taken in the order they ran: the older is the base.
    out = runner_cli.run("report", "new.json", "base.json", "-o", "cmp.html")
    assert out.code == 0, out.stderr
    page = (runner_cli.path / "cmp.html").read_text()
    parse(page)
    section = re.search(r'<section id="comparison">.*?</section>', page, re.S).group(0)
    assert "new against base" in section
    assert re.search(r"<td>cmp\[threads=1\]</td><td>wall_s</td>.*?regression", section)
    assert "task_seconds: 0.01 in base; 0.04 in new" in page
    wall = re.search(
        r'<figure class="chart" data-kind="sweep" data-metric="wall_s".*?</figure>', page, re.S
    ).group(0)
    assert ">base<" in wall and ">new<" in wall and ">regression<" in wall  # legend entries
    assert page.count('class="num regression"') >= 2  # wall_s of both trials in the table
    # The verdict comes first: the counts at the top, each trial's own in its table.
    top = page[: page.index('<section class="experiment"')]
    assert "new against base: " in top and "regression" in top
    assert re.search(r'<td>new</td><td>1</td>.*?<span class="badge bad">regression</span>', page)


def test_percentile_chart_where_runs_carry_percentiles(runner_cli):
    runner_cli.write("latency_model.py", LATENCY_PLUGIN)
    res = runner_cli.run_spec(
        "model: latency\nmatrix: {clients: [1, 4]}\nrepeat: 3\nwarmup: 0\n",
        "-p",
        "latency_model.py",
        "--no-db",
    )
    assert res.code == 0, res.stderr
    out = runner_cli.run("report", "results1.json", "-o", "lat.html")
    assert out.code == 0, out.stderr
    html = parse((runner_cli.path / "lat.html").read_text())
    pct = [f for f in html.figures if f["data-kind"] == "percentiles"]
    assert [f["data-metric"] for f in pct] == ["rtt_us"]
    page = (runner_cli.path / "lat.html").read_text()
    figure = page[page.index('data-kind="percentiles"') :]
    for label in ("p50", "p90", "p99", "max", "clients"):  # ticks, and the legend's title
        assert f">{label}<" in figure
    # A metric with one value in every run is a line, not a flat chart.
    assert "dropped" not in {f["data-metric"] for f in html.figures}
    assert "<li><code>dropped</code>: 0 packets in every run</li>" in page
    # The key metric (rtt_p99_us) and its percentile set come first, unfolded.
    first = page[: page.index("<details class='more'>")]
    assert 'data-metric="rtt_p99_us"' in first and 'data-kind="percentiles"' in first
    assert 'data-metric="rtt_p50_us"' not in first


def test_a_report_of_several_sessions_stays_small(runner_cli):
    """The same chart data is not copied per session: three sessions of bar charts (one
    hatch pattern per session) cost little more than one."""
    spec = "name: small\nmodel: pool\nparams: {task: noop, tasks: 10}\n"
    spec += "matrix: {mode: [apply, map]}\n"
    for _ in range(3):
        assert runner_cli.run_spec(spec + "repeat: 3\nwarmup: 0\n", "--no-db").code == 0
    assert runner_cli.run("report", "results1.json", "-o", "one.html").code == 0
    files = ("results1.json", "results2.json", "results3.json")
    assert runner_cli.run("report", *files, "-o", "three.html").code == 0
    one, three = ((runner_cli.path / f).stat().st_size for f in ("one.html", "three.html"))
    assert three < 2.5 * one, (one, three)
    page = (runner_cli.path / "three.html").read_text()
    parse(page)
    patterns = re.findall(r'<pattern id="([^"]+)"', page)
    assert patterns and len(patterns) == len(set(patterns))


def test_plot_writes_png_and_svg(sweep):
    from PIL import Image

    cli, results_file, _ = sweep
    res = cli.run(
        "plot",
        results_file,
        *shlex.split("--metric wall_s --x threads --by workload --size 5x3 --dpi 80 -o wall.png"),
    )
    assert res.code == 0, res.stderr
    assert "sweep: wall_s by threads, 2 lines" in res.stderr
    with Image.open(cli.path / "wall.png") as img:
        assert img.format == "PNG" and img.size == (400, 240)
    res = cli.run(
        "plot",
        results_file,
        *shlex.split("--metric speedup --x workload --where threads=4 --by threads -o speedup.svg"),
    )
    assert res.code == 0, res.stderr
    svg = ET.parse(cli.path / "speedup.svg").getroot()
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"sweep: speedup by workload", "sleep", "cpu"} <= texts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "nope", "--x", "threads"], "no experiment reports 'nope'"),
        (["--metric", "wall_s", "--x", "tasks"], "'tasks' is not a swept param of sweep"),
        (["--metric", "wall_s", "--x", "threads", "--by", "threads"], "--by threads"),
        (["--metric", "wall_s", "--x", "threads", "--where", "threads"], "write PARAM=VALUE"),
        (["--metric", "wall_s", "--x", "threads", "--size", "big"], "--size big"),
    ],
)
def test_plot_usage_errors_are_one_line(sweep, args, message):
    cli, results_file, _ = sweep
    res = cli.run("plot", results_file, *args, "-o", "x.png")
    assert res.code == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr, res.stderr
    assert not (cli.path / "x.png").exists()


def test_plot_asks_to_pin_a_param_left_free(runner_cli):
    spec = SWEEP.replace("[1, 2, 4]", "[1, 2]").replace("repeat: 3", "repeat: 1")
    res = runner_cli.run_spec(
        spec.replace("workload: [sleep, cpu]", "workload: [sleep, cpu]\n  tasks: [2, 4]"), "--no-db"
    )
    assert res.code == 0, res.stderr
    out = runner_cli.run(
        *shlex.split("plot results1.json --metric wall_s --x threads --by workload -o x.svg")
    )
    assert out.code == 2 and "tasks also varies in sweep" in out.stderr
    assert "--where tasks=VALUE" in out.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"experiments": []}', "not a runner result file"),
        ('{"schema": "runner.results", "schema_version": 99}', "newer than this runner reads"),
        ('{"schema": "runner.results",\n  "schema_version": 1,', "bad.json:2: not valid JSON"),
    ],
)
def test_bad_result_files_are_usage_errors(runner_cli, content, message):
    runner_cli.write("bad.json", content)
    res = runner_cli.run("report", "bad.json")
    assert res.code == 2 and message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and not (runner_cli.path / "report.html").exists()


def test_missing_file_and_unknown_session_id(runner_cli):
    res = runner_cli.run("plot", "missing.json", "--metric", "m", "--x", "p", "-o", "x.png")
    assert res.code == 2 and "missing.json: no such result file" in res.stderr
    res = runner_cli.run("report", "abc123")
    assert res.code == 2 and "abc123" in res.stderr and "Traceback" not in res.stderr


def test_report_reads_stored_sessions_by_id(runner_cli):
    res = runner_cli.run_spec(
        "model: pool\nparams: {task: noop, tasks: 10, workers: 1}\nmatrix: {workers: [1, 2]}\n"
        "repeat: 3\nwarmup: 0\n",
        "--db",
        "store.db",
    )
    assert res.code == 0, res.stderr
    out = runner_cli.run("report", res.results["run_id"], "--db", "store.db", "-o", "db.html")
    assert out.code == 0, out.stderr
    page = (runner_cli.path / "db.html").read_text()
    assert res.results["run_id"] in page and 'data-metric="tasks_per_s"' in page


def test_run_does_not_import_the_plotting_library(runner_cli):
    spec = runner_cli.write(
        "s.yaml", "model: pool\nparams: {task: noop, tasks: 10, workers: 1}\nrepeat: 1\nwarmup: 0\n"
    )
    code = (
        "import sys; from runner.cli import main; "
        f"assert main(['run', {str(spec)!r}, '--no-db', '-q']) == 0; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=runner_cli.env,
        cwd=runner_cli.path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("[]")


# -- the page in a real browser ----------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
    "--window-size=1280,1600",
]


class DevTools:
    """The Chrome DevTools Protocol over --remote-debugging-pipe: fd 3 in, fd 4 out."""

    def __init__(self, profile: Path) -> None:
        to_chrome, self._out = os.pipe()
        self._in, from_chrome = os.pipe()
        # Moved above 10 first, so placing them at 3 and 4 in the child clobbers neither.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome, from_chrome)]
        for fd in (to_chrome, from_chrome):
            os.close(fd)

        def place() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=place,  # noqa: PLW1509 (only dup2 runs there, before exec)
            pass_fds=(3, 4),
        )
        for fd in high:
            os.close(fd)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._next(deadline)
            if reply.get("id") == self._id:
                assert "error" not in reply, reply
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events if e.get("method") == method]
            if found:
                return found[0]
            self.events.append(self._next(deadline))

    def _next(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            assert left > 0 and select.select([self._in], [], [], left)[0], "chromium timed out"
            chunk = os.read(self._in, 1 << 20)
            assert chunk, "chromium closed the pipe"
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        try:
            os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        os.close(self._out)
        os.close(self._in)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(sweep, tmp_path):
    cli, results_file, _ = sweep
    assert cli.run("report", results_file, "-o", "browser.html").code == 0
    page = (cli.path / "browser.html").resolve()
    chrome = DevTools(tmp_path / "profile")
    try:
        target = chrome.send("Target.createTarget", url="about:blank")["targetId"]
        session = chrome.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            chrome.send(f"{domain}.enable", session)
        chrome.send("Page.navigate", session, url=page.as_uri())
        chrome.wait_for("Page.loadEventFired")
        drawn = chrome.send(
            "Runtime.evaluate",
            session,
            returnByValue=True,
            expression=(
                "Array.from(document.querySelectorAll('figure.chart svg'))"
                ".filter(s => s.getBoundingClientRect().width > 200).length"
            ),
        )["result"]["value"]
        box = chrome.send(
            "Runtime.evaluate",
            session,
            returnByValue=True,
            expression=(
                "(() => { const r = document.querySelector('figure.chart')"
                ".getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY,"
                " width: r.width, height: r.height}; })()"
            ),
        )["result"]["value"]
        page_shot = chrome.send("Page.captureScreenshot", session, format="png")["data"]
        chart_shot = chrome.send(
            "Page.captureScreenshot",
            session,
            format="png",
            captureBeyondViewport=True,
            clip={**box, "scale": 1},
        )["data"]
    finally:
        chrome.close()
    problems = [
        e
        for e in chrome.events
        if e.get("method") in ("Runtime.exceptionThrown", "Network.loadingFailed")
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert problems == []
    requested = [
        e["params"]["request"]["url"]
        for e in chrome.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requested == [page.as_uri()]  # the page itself and nothing else
    assert drawn == len(parse(page.read_text()).figures)
    page_colors, page_inked, _ = ink(page_shot)
    assert page_colors > 50 and page_inked > 0.01, ("the page looks blank", page_colors, page_inked)
    # The first chart, cut out: drawn at its size, with its coloured lines and bands.  How
    # much of it is coloured depends on the measured spread; a blank chart has none.
    assert box["height"] > 200
    chart_colors, chart_inked, chart_colored = ink(chart_shot)
    assert chart_colors > 50 and chart_inked > 0.01 and chart_colored > 0.005, (
        "the chart looks blank",
        chart_colors,
        chart_inked,
        chart_colored,
    )


def ink(png_base64: str) -> tuple[int, float, float]:
    """A screenshot's distinct colours, and the shares of its pixels that are dark, and
    that are coloured (not a shade of grey, as text and axes are)."""
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(png_base64))) as img:
        rgb = img.convert("RGB")
        counts = rgb.getcolors(maxcolors=rgb.width * rgb.height)
    total = sum(n for n, _ in counts)
    dark = sum(n for n, c in counts if sum(c) < 600) / total
    colored = sum(n for n, c in counts if max(c) - min(c) > 25) / total
    return len(counts), dark, colored


def evaluate(chrome: DevTools, session: str, expression: str):
    return chrome.send("Runtime.evaluate", session, returnByValue=True, expression=expression)[
        "result"
    ]["value"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_first_screen_shows_the_verdict_and_a_chart(sweep, tmp_path):
    """On a laptop's first screen (1280 x 800, nothing scrolled): the verdict, and a key
    metric's chart drawn in full, found both in the page and in the pixels."""
    cli, results_file, _ = sweep
    assert cli.run("report", results_file, "-o", "first.html").code == 0
    page = (cli.path / "first.html").resolve()
    chrome = DevTools(tmp_path / "profile")
    try:
        target = chrome.send("Target.createTarget", url="about:blank")["targetId"]
        session = chrome.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        chrome.send("Page.enable", session)
        chrome.send("Emulation.setDeviceMetricsOverride", session, width=1280, height=800,
                    deviceScaleFactor=1, mobile=False)  # fmt: skip
        chrome.send("Page.navigate", session, url=page.as_uri())
        chrome.wait_for("Page.loadEventFired")
        seen = evaluate(
            chrome,
            session,
            "(() => { const box = e => { const r = e.getBoundingClientRect();"
            " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };"
            " const v = document.querySelector('#verdict .verdict');"
            " const f = document.querySelector('figure.chart');"
            " return {height: innerHeight, verdict: v.textContent, vbox: box(v),"
            " kind: f.dataset.kind, metric: f.dataset.metric,"
            " chart: box(f.querySelector('svg'))}; })()",
        )
        shot = chrome.send("Page.captureScreenshot", session, format="png")["data"]
    finally:
        chrome.close()
    (tmp_path / "first-screen.png").write_bytes(base64.b64decode(shot))
    assert seen["verdict"] == "6 trials, 6 ok, 0 not ok"
    assert seen["vbox"]["top"] >= 0 and seen["vbox"]["bottom"] <= seen["height"]
    chart = seen["chart"]
    assert seen["kind"] == "sweep" and seen["metric"] in ("wall_s", "speedup")  # key metrics
    assert chart["top"] >= 0 and chart["bottom"] <= seen["height"], ("not all on screen", seen)
    # The pixels: the verdict's line is written in green, the chart has coloured lines.
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(shot))) as img:
        assert img.size == (1280, 800)
        verdict = img.crop((int(seen["vbox"]["left"]), int(seen["vbox"]["top"]),
                            int(seen["vbox"]["right"]), int(seen["vbox"]["bottom"])))  # fmt: skip
        greens = [c for _, c in verdict.convert("RGB").getcolors(1 << 20) if c[1] > c[0] + 40]
        assert greens, "the verdict is not written in green"
        drawn = img.crop((int(chart["left"]), int(chart["top"]), int(chart["right"]),
                          int(chart["bottom"])))  # fmt: skip
        buf = io.BytesIO()
        drawn.save(buf, format="PNG")
    colors, inked, colored = ink(base64.b64encode(buf.getvalue()).decode())
    assert colors > 50 and inked > 0.01 and colored > 0.005, ("a blank chart", colors, inked)
