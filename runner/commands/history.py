"""`runner history`: the sessions in the results store, newest first."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from runner import hookimpl

if TYPE_CHECKING:
    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "history",
        help="list stored sessions",
        description="List the sessions in the results store, newest first: id, start time, "
        "specs, trials finished of planned, failures, git commit and state (finished, "
        "interrupted, or incomplete: still running or killed; `runner run --resume ID`).",
    )
    p.add_argument("--db", type=Path, metavar="PATH",
                   help="results store (default: .runner/results.db)")  # fmt: skip
    p.add_argument("-n", "--limit", type=int, default=20, metavar="N",
                   help="show the N newest sessions (default 20; 0: all)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=history)


def history(args: argparse.Namespace, host: PluginHost) -> int:
    from runner.store import DEFAULT_PATH, Store

    with Store(args.db or DEFAULT_PATH, create=False) as store:
        sessions = store.sessions(limit=args.limit or None)
    if args.json:
        rows = [{**dataclasses.asdict(s), "state": s.state} for s in sessions]
        print(json.dumps(rows, indent=1))
        return 0
    header = ("ID", "STARTED", "TRIALS", "FAILED", "STATE", "COMMIT", "SPECS")
    rows_text = [
        (s.id, s.started[:19].replace("T", " ") + "Z", f"{s.trials}/{s.planned}",
         str(s.failures), s.state, _commit(s.git_commit), " ".join(s.specs))
        for s in sessions
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows_text]) for i in range(len(header) - 1)]
    for row in [header, *rows_text]:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
    return 0


def _commit(commit: str | None) -> str:
    if not commit:
        return "-"
    return commit[:10] + ("+dirty" if commit.endswith("+dirty") else "")
