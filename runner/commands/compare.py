"""`runner compare BASE NEW`: what changed between two sessions, and was it significant.

Each side is a JSON result file, a stored session id (or a unique prefix of one), or
``latest`` / ``previous``.  Exit 1 when something got worse (a regression, or a trial that
was ok and no longer is) or could not be decided (``inconclusive``, unless
``--allow-inconclusive``).  ``--format markdown`` suits a CI job summary.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.errors import ExitCode

if TYPE_CHECKING:
    from runner.compare import CompareOptions, Comparison, MetricChange
    from runner.plugins import PluginHost

TEST_NAME = "two-sided Mann-Whitney U test"
VERDICT_STYLE = {"regression": "bold red", "improvement": "green", "unchanged": "dim",
                 "inconclusive": "yellow"}  # fmt: skip


def _percent(text: str) -> float:
    from runner.compare import parse_percent

    try:
        return parse_percent(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: alpha is a probability between 0 and 1")
    return value


def add_compare_args(parser: argparse.ArgumentParser) -> None:
    """``--threshold`` and ``--alpha``, shared by ``compare`` and ``run --baseline``."""
    parser.add_argument(
        "--threshold", type=_percent, default=5.0, metavar="PCT",
        help="smallest change of a median that counts, e.g. 5%% (default); "
        "a spec's `regress: {metric: PCT}` overrides it for that metric",
    )  # fmt: skip
    parser.add_argument(
        "--alpha", type=_alpha, default=0.05, metavar="P",
        help=f"significance level of the {TEST_NAME} over the runs (default 0.05)",
    )  # fmt: skip
    parser.add_argument(
        "--allow-inconclusive", action="store_true",
        help="do not fail when a comparison stays inconclusive (beyond the threshold but "
        "not significant with the runs there are)",
    )  # fmt: skip


def compare_options(args: argparse.Namespace) -> CompareOptions:
    from runner.compare import CompareOptions

    return CompareOptions(threshold_pct=args.threshold, alpha=args.alpha)


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare two sessions: regressions, improvements, unchanged, inconclusive",
        description="Compare the medians of every trial and metric of BASE and NEW. Within "
        "the threshold a metric is unchanged; beyond it, a regression or an improvement when "
        f"the {TEST_NAME} over the runs gives p < alpha, inconclusive otherwise. Exit 1 on a "
        "regression, or on an inconclusive comparison unless --allow-inconclusive.",
    )
    p.add_argument("base", metavar="BASE", nargs="+",
                   help="JSON result file, session id, latest or previous; several are "
                   "pooled, and their drift widens the threshold")  # fmt: skip
    p.add_argument("new", metavar="NEW", help="JSON result file, session id, latest or previous")
    p.add_argument("--db", type=Path, metavar="PATH",
                   help="results store for session ids (default: .runner/results.db)")  # fmt: skip
    p.add_argument("--format", choices=("table", "markdown", "json"), default="table",
                   help="table (default), markdown (for a CI job summary) or json")  # fmt: skip
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not to stdout")
    p.add_argument("--all", action="store_true", help="table: also list the unchanged metrics")
    add_compare_args(p)
    p.set_defaults(func=compare_command)


def compare_command(args: argparse.Namespace, host: PluginHost) -> int:
    from runner.baseline import load_baseline, load_side
    from runner.compare import compare
    from runner.store import DEFAULT_PATH

    db = args.db or DEFAULT_PATH
    base, new = load_baseline(args.base, db), load_side(args.new, db)
    comparison = compare(base, new, compare_options(args))
    if args.format == "json":
        text = json.dumps(comparison.to_json(), indent=1) + "\n"
    elif args.format == "markdown":
        text = markdown(comparison)
    else:
        text = table(comparison, show_all=args.all, color=args.output is None)
    if args.output:
        args.output.write_text(text)
    else:
        print(text, end="")
    failed = comparison.fails_gate(args.allow_inconclusive)
    return ExitCode.FAILED if failed else ExitCode.OK


# -- formats ---------------------------------------------------------------------------


def _cells(c: MetricChange) -> list[str]:
    from runner.compare import format_pct
    from runner.report.terminal import median_with_interval

    unit = f" {c.unit}" if c.unit else ""
    better = "higher" if c.higher_is_better else "lower"
    return [c.trial, f"{c.metric} ({better} is better)",
            median_with_interval(c.base_median, *c.base_ci, unit=unit),
            median_with_interval(c.new_median, *c.new_ci, unit=unit), format_pct(c.change_pct),
            f"{c.threshold_pct:.3g}%", f"{c.p_value:.3g}", f"{c.base_n}/{c.new_n}",
            c.verdict]  # fmt: skip


HEADERS = ["trial", "metric", "base median", "new median", "change", "threshold", "p", "runs",
           "decision"]  # fmt: skip
INTERVAL_NOTE = "medians with their 95% interval"


def table(comparison: Comparison, show_all: bool = False, color: bool = True) -> str:
    """Rich table text: what changed or could not be decided, and status changes (all with
    --all)."""
    import io
    import os
    import sys

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    rows = [c for c in comparison.changes if show_all or c.verdict != "unchanged"]
    t = Table(title=f"{comparison.base.label} -> {comparison.new.label}", title_justify="left",
              caption=INTERVAL_NOTE, caption_justify="left")  # fmt: skip
    for name in HEADERS:
        t.add_column(name, justify="left" if name in ("trial", "metric", "decision") else "right")
    for c in rows:
        cells = [escape(x) for x in _cells(c)]
        style = VERDICT_STYLE[c.verdict]
        cells[-1] = f"[{style}]{c.verdict}[/]"
        t.add_row(*cells)
    for s in comparison.status_changes:
        t.add_row(escape(s.trial), "status", s.base, s.new, "", "", "", "",
                  f"[{VERDICT_STYLE[s.verdict]}]{s.verdict}[/]")  # fmt: skip
    buf = io.StringIO()
    # Rendered into a buffer, so say whether stdout takes colours; pipes and CI logs don't.
    styled = color and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    console = Console(file=buf, width=200 if not styled else None, force_terminal=styled,
                      no_color=not styled, highlight=False)  # fmt: skip
    if rows or comparison.status_changes:
        console.print(t)
    for line in _notes(comparison):
        console.print(line, markup=False)
    console.print(f"{comparison.counts()} ({TEST_NAME}, alpha {comparison.options.alpha:g}, "
                  f"threshold {comparison.options.threshold_pct:g}%)", markup=False)  # fmt: skip
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


def _notes(comparison: Comparison) -> list[str]:
    notes = [f"inconclusive: {c.trial} {c.metric}: {c.reason}" for c in comparison.inconclusive]
    if comparison.only_base:
        notes.append(f"only in base: {', '.join(comparison.only_base)}")
    if comparison.only_new:
        notes.append(f"only in new: {', '.join(comparison.only_new)}")
    if comparison.too_few_runs:
        notes.append(
            f"too few runs to be significant at alpha {comparison.options.alpha:g}: "
            f"{', '.join(comparison.too_few_runs)} (use more repeats, or let the gate of "
            "`runner run --baseline` measure more)"
        )
    return notes + comparison.machine_notes()


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|")


def _md_table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(_md(x) for x in row) + " |" for row in rows]
    return lines


def markdown(comparison: Comparison) -> str:
    """GitHub-flavoured markdown: the verdict first, what changed, then every metric folded."""
    regressions = comparison.regressions
    icon = (":x:" if comparison.failed else ":warning:" if comparison.inconclusive
            else ":white_check_mark:")  # fmt: skip
    lines = [
        f"## {icon} runner compare",
        "",
        f"**{_md(comparison.base.label)}** → **{_md(comparison.new.label)}**: "
        f"{comparison.counts()}.",
        "",
        f"A change counts when the median moved beyond the threshold "
        f"({comparison.options.threshold_pct:g}% unless the spec sets one) and the {TEST_NAME} "
        f"over the runs gives p < {comparison.options.alpha:g}; beyond the threshold without "
        f"that, it is inconclusive. Medians with their 95% interval; runs: base/new.",
        "",
    ]
    broken = [[s.trial, "status", s.base, s.new, "", "", "", "", f"**{s.verdict}**"]
              for s in comparison.status_changes]  # fmt: skip
    changed = [_cells(c) for c in regressions + comparison.inconclusive + comparison.improvements]
    for row in changed:
        row[-1] = f"**{row[-1]}**"
    if broken or changed:
        lines += ["### Changed", "", *_md_table(broken + changed), ""]
    lines += _not_ok(comparison)
    for note in _notes(comparison):
        lines += [f"- {_md(note)}"]
    if comparison.changes:
        every = _md_table([_cells(c) for c in comparison.changes])
        lines += ["", "<details><summary>All metrics</summary>", "", *every, "", "</details>"]
    return "\n".join(lines) + "\n"


def _not_ok(comparison: Comparison) -> list[str]:
    """Why each trial of the new side that is not ok failed: its error and, folded, the
    end of what it printed."""
    from html import escape

    lines = []
    for exp in comparison.new.data.get("experiments", []):
        for t in exp.get("trials", []):
            if t.get("status") == "ok":
                continue
            lines += ["", f"- **{_md(t['id'])}** {_md(t['status'])}: {_md(t.get('error') or '')}"]
            tail = [ln for ln in (t.get("stderr_tail") or "").strip().splitlines() if ln.strip()]
            if tail:
                lines += ["", "  <details><summary>its last output</summary>", "", "  <pre>",
                          *(f"  {escape(ln)}" for ln in tail[-10:]), "  </pre>", "",
                          "  </details>"]  # fmt: skip
    return ["### Trials not ok", *lines, ""] if lines else []
