"""`runner report`: one self-contained HTML page of charts and tables from results."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from runner import hookimpl
from runner.commands.compare import add_compare_args, compare_options
from runner.errors import UsageError
from runner.report import BANDS

if TYPE_CHECKING:
    from runner.plugins import PluginHost
    from runner.report.sessions import LoadedSession


def add_source_args(parser: argparse.ArgumentParser) -> None:
    """The results to read and how to draw their spread; shared with `runner plot`."""
    parser.add_argument(
        "results",
        nargs="+",
        metavar="RESULT",
        help="a result file (runner run -o FILE.json) or a stored session id",
    )
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="the results store to look session ids up in (default: .runner/results.db)",
    )
    parser.add_argument(
        "--band",
        choices=BANDS,
        default="minmax",
        help="spread drawn around each median: min to max over runs (default), the "
        "interquartile range, or none",
    )


def load(args: argparse.Namespace) -> list[LoadedSession]:
    from runner.report.plot import require_matplotlib
    from runner.report.sessions import load_sessions
    from runner.store import DEFAULT_PATH

    require_matplotlib()  # before any work: a missing extra is the likeliest failure
    return load_sessions(args.results, args.db or DEFAULT_PATH)


def _start_time(session: LoadedSession) -> datetime.datetime:
    """When the session started, as a time: older files record it to the second, newer to
    the millisecond, and a file without one sorts first."""
    try:
        time = datetime.datetime.fromisoformat(session.result.started)
    except ValueError:
        time = datetime.datetime.min
    return time if time.tzinfo else time.replace(tzinfo=datetime.timezone.utc)


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="write an HTML report of results",
        description="Write one self-contained HTML page (inline SVG charts, no script, "
        "nothing fetched) with each experiment's spec, environment, trials and a chart of "
        "every metric that varies. Given several results, they are taken in the order they "
        "ran and the oldest is the base: the others are drawn on the same axes and their "
        "regressions against it are marked, as `runner compare` finds them.",
    )
    add_source_args(p)
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("report.html"),
        metavar="FILE.html",
        help="where to write the page (default report.html)",
    )
    p.add_argument("--title", help="the page's title (default: the results' names)")
    add_compare_args(p)
    p.set_defaults(func=report)


def report(args: argparse.Namespace, host: PluginHost) -> int:
    from runner.report.html import build_report

    if args.output.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"{args.output}: a report is an HTML file; name it FILE.html")
    # In the order they ran, whatever the order given: the oldest is the base.
    sessions = sorted(load(args), key=_start_time)
    comparisons = []
    if len(sessions) > 1:
        from runner.report.comparison import compare_sessions

        comparisons = compare_sessions(sessions, compare_options(args))
    page, charts = build_report(sessions, band=args.band, comparisons=comparisons, title=args.title)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    experiments = len({e.name for s in sessions for e in s.result.experiments})
    size = len(page.encode()) / 1024
    print(
        f"wrote {args.output}: {experiments} experiments, {charts} charts, {size:.0f} KiB",
        file=sys.stderr,
    )
    return 0
