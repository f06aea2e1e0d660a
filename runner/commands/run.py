"""`runner run`: run experiments and report, store and check their results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from runner import environment, hookimpl
from runner.commands.common import add_spec_args, load_experiments
from runner.errors import ExitCode
from runner.results import OK
from runner.session import Session

if TYPE_CHECKING:
    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run experiments",
        description="Run each trial of each spec in a fresh worker process and report the "
        "results. Exit 0 when every trial is ok, 1 when one failed, 130 on Ctrl-C.",
    )
    add_spec_args(p)
    p.add_argument("-o", "--output", type=Path, metavar="FILE.json", help="write results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--no-color", action="store_true", help="no colours (also: NO_COLOR=1)")
    p.add_argument("--executor", default="local", help="where trials run (default: local)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, host: PluginHost) -> int:
    experiments = load_experiments(args, host)
    session = Session(
        experiments=experiments,
        options=vars(args),
        host=host,
        environment=environment.capture(),
        argv=sys.argv[1:],
    )
    result = session.run()
    if result.interrupted:
        return ExitCode.INTERRUPTED
    if any(t.status != OK for t in result.trials()):
        return ExitCode.FAILED
    return ExitCode.OK
