"""`runner run`: run experiments and report, store and check their results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from runner import environment, hookimpl, interrupts
from runner.commands.common import add_run_count_args, add_spec_args, load_experiments
from runner.commands.compare import add_compare_args, compare_options
from runner.errors import ExitCode, UsageError
from runner.results import OK, check_writable
from runner.session import Session

if TYPE_CHECKING:
    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run experiments",
        description="Run each trial of each spec in a fresh worker process and report the "
        "results. Exit 0 when every trial is ok, 1 when one failed, 130 on Ctrl-C, "
        "143 on SIGTERM, 129 on SIGHUP.",
    )
    add_spec_args(p)
    add_run_count_args(p)
    p.add_argument("-o", "--output", type=Path, metavar="FILE.json", help="write results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--no-color", action="store_true", help="no colours (also: NO_COLOR=1)")
    p.add_argument("--executor", default="local", help="where trials run (default: local)")
    p.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="results store to add this session to (default: .runner/results.db)",
    )
    p.add_argument("--no-db", action="store_true", help="do not store this session")
    p.add_argument(
        "--resume",
        metavar="ID",
        help="continue stored session ID (or latest): run only its unfinished trials",
    )
    p.add_argument(
        "--baseline",
        metavar="FILE|ID",
        help="compare with a JSON result file or a stored session (ID, latest, "
        "previous) at the end and list the regressions",
    )
    p.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when --baseline finds a regression",
    )
    add_compare_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, host: PluginHost) -> int:
    from runner import baseline, store

    if args.fail_on_regression and not args.baseline:
        raise UsageError("--fail-on-regression needs --baseline FILE|ID to compare with")
    experiments = load_experiments(args, host)
    if args.output:  # every output is checked before the first trial, and before the store
        check_writable(args.output)
    db = store.store_path(vars(args))
    gate = None
    if args.baseline:  # resolved before this session is stored: `latest` is the last one
        base = baseline.load_side(args.baseline, db)
        gate = baseline.RegressionGate(base, compare_options(args), quiet=args.quiet)
    session = Session(
        experiments=experiments,
        options=vars(args),
        host=host,
        environment=environment.capture(),
        argv=sys.argv[1:],
    )
    if args.resume:
        store.resume(session, args.resume, db)
        if not args.quiet:
            total = sum(len(e.trials) for e in experiments)
            print(f"resuming session {session.run_id}: {len(session.resumed)} of {total} "
                  "trials already finished", file=sys.stderr)  # fmt: skip
    if gate is not None:
        host.pm.register(gate, name="regression-gate")
    with interrupts.stop_on_signals() as stopper:
        result = session.run()
    if result.interrupted:
        return stopper.exit_code
    if any(t.status != OK for t in result.trials()):
        return ExitCode.FAILED
    if gate is not None and args.fail_on_regression and gate.comparison and gate.comparison.failed:
        return ExitCode.FAILED
    return ExitCode.OK
