"""The comparison view: each later session against the first, judged by ``runner compare``.

The verdicts (threshold and significance over the runs) are ``runner.compare``'s own, so
a report marks exactly what ``runner compare BASE NEW`` calls a regression.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from runner.errors import RunnerError
from runner.report.markup import esc, table
from runner.report.terminal import median_with_interval

if TYPE_CHECKING:
    from runner.compare import CompareOptions, Comparison
    from runner.report.series import Chart
    from runner.report.sessions import LoadedSession


@dataclasses.dataclass
class SessionComparison:
    """``new`` against ``base`` (session labels); ``error`` when it could not be made."""

    base: str
    new: str
    result: Comparison | None
    error: str = ""

    def regressed(self) -> set[tuple[str, str]]:
        """(trial id, metric) pairs that regressed in ``new``."""
        return {(c.trial, c.metric) for c in self.result.regressions} if self.result else set()


def compare_sessions(
    sessions: Sequence[LoadedSession], options: CompareOptions
) -> list[SessionComparison]:
    """Compare every session after the first with the first."""
    from runner.compare import compare

    out = []
    for new in sessions[1:]:
        base = sessions[0]
        try:
            out.append(
                SessionComparison(base.label, new.label, compare(base.side, new.side, options))
            )
        except RunnerError as exc:  # e.g. the statistics library is missing: still draw both
            out.append(SessionComparison(base.label, new.label, None, str(exc)))
    return out


def mark_regressions(charts: Sequence[Chart], comparisons: Sequence[SessionComparison]) -> None:
    """Flag the points of each newer session whose metric regressed against the base."""
    regressed = {c.new: c.regressed() for c in comparisons}
    for chart in charts:
        if (
            chart.kind == "percentiles"
        ):  # its points are several metrics: their own charts mark them
            continue
        for series in chart.series:
            for point in series.points:
                point.regression = (point.trial_id, chart.metric) in regressed.get(
                    series.session, ()
                )


def comparison_html(comparisons: Sequence[SessionComparison]) -> str:
    """One block per comparison: its summary, then every change beyond noise and each trial
    whose status changed."""
    from runner.compare import format_pct

    parts = []
    for c in comparisons:
        parts.append(f"<h3>{esc(c.new)} against {esc(c.base)}</h3>")
        if c.result is None:
            parts.append(f'<p class="note">No regression marks: {esc(c.error)}</p>')
            continue
        r = c.result
        cls = "bad" if r.failed else "good"
        parts.append(
            f'<p class="verdict {cls}">{esc(r.counts())} (threshold '
            f"{r.options.threshold_pct:g}%, Mann-Whitney U, alpha {r.options.alpha:g}; "
            "medians with their 95% interval)</p>"
        )
        rows = [
            [esc(s.trial), "status", esc(s.base), esc(s.new), "", "", "", _verdict(s.verdict)]
            for s in r.status_changes
        ]
        order = {"regression": 0, "inconclusive": 1, "improvement": 2}
        for m in sorted(
            (m for m in r.changes if m.verdict in order), key=lambda m: order[m.verdict]
        ):
            unit = f" {m.unit}" if m.unit else ""
            rows.append(
                [
                    esc(m.trial),
                    esc(m.metric),
                    esc(median_with_interval(m.base_median, *m.base_ci, unit=unit)),
                    esc(median_with_interval(m.new_median, *m.new_ci, unit=unit)),
                    format_pct(m.change_pct),
                    f"{m.p_value:.2g}",
                    f"{m.base_n}/{m.new_n}",
                    _verdict(m.verdict, m.reason),
                ]
            )
        if rows:
            heads = ["trial", "metric", esc(c.base), esc(c.new), "change", "p", "runs",
                     "decision"]  # fmt: skip
            parts.append(table(heads, rows, cls="changes"))
        for m in r.inconclusive:
            parts.append(f'<p class="note">Inconclusive: {esc(m.trial)} {esc(m.metric)}: '
                         f"{esc(m.reason)}.</p>")  # fmt: skip
        if r.only_base or r.only_new:
            parts.append(
                f'<p class="note">Only in {esc(c.base)}: {esc(", ".join(r.only_base) or "-")}. '
                f"Only in {esc(c.new)}: {esc(', '.join(r.only_new) or '-')}.</p>"
            )
    return "\n".join(parts)


def _verdict(verdict: str, reason: str = "") -> str:
    cls = {"regression": "bad", "improvement": "good", "inconclusive": "warn"}.get(verdict, "")
    title = f' title="{esc(reason)}"' if reason else ""
    return f'<span class="badge {cls}"{title}>{esc(verdict)}</span>'
