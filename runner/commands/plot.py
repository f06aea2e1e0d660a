"""`runner plot`: one chart of one metric against one param, as PNG, SVG or PDF."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.commands.report import add_source_args, load
from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.plugins import PluginHost
    from runner.report.series import Chart, ExperimentView

RUN_AXIS = "run"  # --x run: the metric in each run, for an experiment that sweeps nothing


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plot",
        help="draw one chart of a metric against a param",
        description="Draw one chart, for a paper or a pull request: the median of METRIC "
        "over runs against PARAM, with its spread, one line per value of the --by params "
        "(default: every other swept param). Several results share the axes.",
    )
    add_source_args(p)
    p.add_argument("--metric", required=True, metavar="METRIC", help="the metric to draw")
    p.add_argument(
        "--x",
        required=True,
        metavar="PARAM",
        help=f"the swept param on the x axis ('{RUN_AXIS}': each run of a single trial)",
    )
    p.add_argument(
        "--by",
        action="append",
        metavar="PARAM",
        help="one line per value of this param; repeatable or comma-separated",
    )
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="only trials with this param value (a YAML scalar); repeatable",
    )
    p.add_argument("--experiment", metavar="NAME", help="the experiment, when results hold several")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.png|svg|pdf")
    p.add_argument("--title", help="the chart's title (default: experiment: metric by param)")
    p.add_argument(
        "--size",
        default="6.4x4",
        metavar="WxH",
        help="size in inches (default 6.4x4)",
    )
    p.add_argument("--dpi", type=int, default=150, help="PNG resolution (default 150)")
    p.set_defaults(func=plot)


def plot(args: argparse.Namespace, host: PluginHost) -> int:
    from runner.report.plot import FORMATS, render
    from runner.report.series import experiment_views

    fmt = args.output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"{args.output}: name the file .png, .svg or .pdf")
    size = _size(args.size)
    if not 10 <= args.dpi <= 1200:
        raise UsageError(f"--dpi {args.dpi}: give a resolution between 10 and 1200")
    sessions = load(args)
    source = ", ".join(args.results)
    view = _pick(experiment_views(sessions), args.metric, args.experiment, source)
    chart = _chart(view, args, source)
    if not any(p.values or not p.ok for s in chart.series for p in s.points):
        raise UsageError(f"{source}: no trial of {view.name} left to draw; check --where")
    data = render(chart, fmt, size=size, dpi=args.dpi, title=args.title)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    lines = len(chart.series)
    print(f"wrote {args.output}: {chart.title}, {lines} line{'s' * (lines != 1)}", file=sys.stderr)
    return 0


def _size(text: str) -> tuple[float, float]:
    try:
        width, height = (float(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {text}: give width x height in inches, e.g. 6.4x4") from None
    if not (1 <= width <= 50 and 1 <= height <= 50):
        raise UsageError(f"--size {text}: each side must be 1 to 50 inches")
    return width, height


def _pick(
    views: list[ExperimentView], metric: str, name: str | None, source: str
) -> ExperimentView:
    """The experiment to draw: the one named, else the only one that reports ``metric``."""
    if name is not None:
        named = [v for v in views if v.name == name]
        if not named:
            known = ", ".join(v.name for v in views) or "none"
            raise UsageError(f"{source}: no experiment {name!r} (experiments: {known})")
        view = named[0]
        if metric not in view.reported():
            have = ", ".join(view.reported()) or "none"
            raise UsageError(f"{source}: {view.name} has no metric {metric!r} (it reports: {have})")
        return view
    having = [v for v in views if metric in v.reported()]
    if len(having) == 1:
        return having[0]
    if not having:
        known = ", ".join(sorted({m for v in views for m in v.reported()}))
        raise UsageError(f"{source}: no experiment reports {metric!r} (metrics: {known})")
    names = ", ".join(v.name for v in having)
    raise UsageError(
        f"{source}: {len(having)} experiments report {metric!r} ({names}); "
        "choose one with --experiment NAME"
    )


def _where(items: list[str]) -> dict[str, Any]:
    import yaml

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--where {item}: write PARAM=VALUE, e.g. --where threads=4")
        try:
            out[name] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[name] = value
    return out


def _chart(view: ExperimentView, args: argparse.Namespace, source: str) -> Chart:
    from runner.report.series import runs_chart, sweep_chart

    swept = view.swept()
    listed = ", ".join(swept) or "none"
    if args.x == RUN_AXIS and RUN_AXIS not in swept:
        if swept:
            raise UsageError(
                f"{source}: --x {RUN_AXIS} draws a single trial, but {view.name} "
                f"sweeps {listed}; pick one with --x"
            )
        return runs_chart(view, args.metric, args.band)
    if args.x not in swept:
        hint = f" (use --x {RUN_AXIS} to draw each run)" if not swept else ""
        raise UsageError(
            f"{source}: {args.x!r} is not a swept param of {view.name} (swept: {listed}){hint}"
        )
    where = _where(args.where)
    by: list[str] | None = None
    if args.by:
        by = [p.strip() for item in args.by for p in item.split(",") if p.strip()]
        for p in by:
            if p == args.x or p not in swept:
                raise UsageError(
                    f"{source}: --by {p}: give a swept param other than --x (swept: {listed})"
                )
        free = [p for p in swept if p not in (args.x, *by, *where)]
        if free:
            raise UsageError(
                f"{source}: {', '.join(free)} also varies in {view.name}; add it to --by or "
                f"pin it with --where {free[0]}=VALUE"
            )
    return sweep_chart(view, args.metric, args.x, by=by, band=args.band, where=where)
