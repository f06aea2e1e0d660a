"""`runner export ID|FILE.json`: a session as JSON, CSV, markdown or JUnit XML.

The session is a stored one (an id, a unique prefix, ``latest`` or ``previous``) or a
result file of ``runner run -o``, read as ``runner compare`` and ``runner report`` read it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl

if TYPE_CHECKING:
    from runner.plugins import PluginHost

SUMMARY_COLUMNS = ("session", "experiment", "trial", "params", "status", "metric", "unit",
                   "higher_is_better", "n", "median", "mean", "stdev", "min", "max")  # fmt: skip
RUN_COLUMNS = ("session", "experiment", "trial", "params", "status", "run", "metric", "unit",
               "value")  # fmt: skip


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a session as JSON, CSV, markdown or JUnit XML",
        description="Write a stored session or a result file as JSON (the same format as "
        "`runner run -o`), CSV (one row per trial and metric, or per run with --runs), "
        "markdown tables or JUnit XML (a test case per trial, its medians and units as "
        "properties).",
    )
    p.add_argument(
        "session",
        metavar="ID|FILE.json",
        help="session id or unique prefix, latest, previous, or a result file",
    )
    p.add_argument("--format", choices=("csv", "json", "markdown", "junit"), default="json",
                   help="json (default), csv, markdown or junit")  # fmt: skip
    p.add_argument("--runs", action="store_true", help="csv: one row per measured run")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not to stdout")
    p.add_argument("--db", type=Path, metavar="PATH",
                   help="results store (default: .runner/results.db)")  # fmt: skip
    p.set_defaults(func=export)


def export(args: argparse.Namespace, host: PluginHost) -> int:
    from runner.baseline import load_side
    from runner.results import write_json
    from runner.store import DEFAULT_PATH

    data = load_side(args.session, args.db or DEFAULT_PATH).data
    if args.format == "json":
        if args.output:
            write_json(args.output, data)
            return 0
        text = json.dumps(data, indent=1) + "\n"
    elif args.format == "csv":
        text = to_csv(data, runs=args.runs)
    elif args.format == "junit":
        text = to_junit(data)
    else:
        text = to_markdown(data)
    if args.output:
        args.output.write_text(text)
    else:
        print(text, end="")
    return 0


def to_csv(data: dict[str, Any], runs: bool = False) -> str:
    """Long format, one value per row: easy to load in a spreadsheet or pandas."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(RUN_COLUMNS if runs else SUMMARY_COLUMNS)
    for exp in data["experiments"]:
        metrics = exp["metrics"]
        for t in exp["trials"]:
            head = [data["run_id"], exp["name"], t["id"], json.dumps(t["params"]), t["status"]]
            if runs:
                for run in t["runs"]:
                    for name, value in run["metrics"].items():
                        unit = metrics.get(name, {}).get("unit", "")
                        writer.writerow([*head, run["index"], name, unit, repr(value)])
                continue
            for name, s in t["summary"].items():
                info = metrics.get(name, {})
                direction = info.get("higher_is_better")
                stats = [repr(s[k]) for k in ("median", "mean", "stdev", "min", "max")]
                higher = "" if direction is None else str(direction).lower()
                writer.writerow([*head, name, info.get("unit", ""), higher, s["n"], *stats])
    return buf.getvalue()


def to_markdown(data: dict[str, Any]) -> str:
    """A table per experiment: swept params, status, and each metric's median ± spread."""
    env = data.get("environment", {})
    commit = env.get("git_commit") or "no git commit"
    lines = [f"# Session {data['run_id']}", "",
             f"Started {data['started']}, Python {env.get('python', '?')} on "
             f"{env.get('cpu', '?')} ({env.get('cpu_count', '?')} CPUs), {commit}."]  # fmt: skip
    for exp in data["experiments"]:
        lines += ["", f"## {exp['name']} ({exp['model']})", ""]
        if exp.get("description"):
            lines += [exp["description"], ""]
        trials = exp["trials"]
        if not trials:
            lines.append("No trial finished.")
            continue
        reported = [m for m in exp["metrics"] if any(m in t["summary"] for t in trials)]
        swept = list(trials[0]["swept"]) or ["trial"]
        header = [*swept, "status"] + [_metric_head(m, exp["metrics"][m]) for m in reported]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for t in trials:
            cells = [_cell(t["swept"][k]) for k in swept] if t["swept"] else [t["id"]]
            cells.append(t["status"])
            cells += [_stat(t["summary"].get(m)) for m in reported]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _metric_head(name: str, info: dict[str, Any]) -> str:
    direction = info.get("higher_is_better")
    arrow = "" if direction is None else (" ↑" if direction else " ↓")
    unit = f" [{info['unit']}]" if info.get("unit") else ""
    return f"{name}{unit}{arrow}"


def _stat(s: dict[str, Any] | None) -> str:
    if s is None:
        return "-"
    median = s["median"]
    text = f"{int(median):,}" if median == int(median) and abs(median) < 1e12 else f"{median:.4g}"
    if s["n"] > 1 and median:
        text += f" ±{100 * s['stdev'] / abs(median):.1f}%"
    return text


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def to_junit(data: dict[str, Any]) -> str:
    """JUnit XML, as CI servers show test results: a test suite per experiment, a test
    case per trial (a trial not ok is a failure, with its error and stderr tail), and per
    metric its median and unit as properties: ``wall_s.median`` and ``wall_s.unit``."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name=f"runner session {data['run_id']}")
    for exp in data["experiments"]:
        trials = exp["trials"]
        bad = [t for t in trials if t["status"] != "ok"]
        time = sum(t.get("duration_s", 0.0) for t in trials)
        suite = ET.SubElement(root, "testsuite", name=exp["name"], tests=str(len(trials)),
                              failures=str(len(bad)), errors="0", skipped="0",
                              time=f"{time:.3f}", timestamp=data["started"])  # fmt: skip
        for t in trials:
            case = ET.SubElement(suite, "testcase", classname=f"{exp['model']}.{exp['name']}",
                                 name=t["id"], time=f"{t.get('duration_s', 0.0):.3f}")  # fmt: skip
            props = ET.SubElement(case, "properties")
            for name, s in t["summary"].items():
                ET.SubElement(props, "property", name=f"{name}.median", value=repr(s["median"]))
                unit = exp["metrics"].get(name, {}).get("unit")
                if unit:
                    ET.SubElement(props, "property", name=f"{name}.unit", value=unit)
            if t["status"] != "ok":
                failure = ET.SubElement(case, "failure", type=t["status"],
                                        message=t.get("error") or t["status"])  # fmt: skip
                failure.text = t.get("stderr_tail") or ""
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"
