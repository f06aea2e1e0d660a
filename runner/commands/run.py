"""`runner run`: run experiments and report, store and check their results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from runner import hookimpl
from runner.commands.common import add_run_count_args, add_spec_args, load_experiments
from runner.commands.compare import add_compare_args, compare_options
from runner.errors import ExitCode, UsageError
from runner.executors import DEFAULT_EXECUTOR
from runner.limits import DEFAULT_BUDGET_S, DEFAULT_MAX_REPEAT

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
    p.add_argument("-q", "--quiet", action="store_true", help="errors only: a line per bad trial")
    p.add_argument("--no-color", action="store_true", help="no colours (also: NO_COLOR=1)")
    p.add_argument("--executor", help=f"where trials run (default: {DEFAULT_EXECUTOR})")
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
        action="append",
        help="compare with a JSON result file or a stored session (ID, latest, "
        "previous) at the end and list the regressions; repeat it to pool several "
        "sessions, whose drift then widens the threshold",
    )
    p.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when --baseline finds a regression, or a comparison stays inconclusive "
        "(unless --allow-inconclusive)",
    )
    p.add_argument(
        "--affinity", type=_cpus, metavar="CPUS",
        help="pin every trial's processes to these CPUs, e.g. 1 or 0-1,3 (overrides a "
        "spec's cpus:)",
    )  # fmt: skip
    p.add_argument(
        "--interleave", action="store_true",
        help="run the repeats of each experiment's trials in rounds (A1 B1 C1, A2 B2 C2, ...), "
        "each run in its own trial process, so that drift hits every trial alike",
    )  # fmt: skip
    add_compare_args(p)
    add_gate_args(p)
    p.set_defaults(func=run)


def add_gate_args(parser: argparse.ArgumentParser) -> None:
    """How far the gate may measure more before it calls a comparison inconclusive."""
    parser.add_argument(
        "--max-repeat", type=_whole, default=DEFAULT_MAX_REPEAT, metavar="N",
        help="--baseline: re-run a trial the comparison cannot decide until it has N "
        f"measured runs at most (default {DEFAULT_MAX_REPEAT})",
    )  # fmt: skip
    parser.add_argument(
        "--gate-budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
        help=f"--baseline: time the re-runs may take in all (default {DEFAULT_BUDGET_S:g})",
    )  # fmt: skip
    parser.add_argument(
        "--summary", type=Path, metavar="FILE.md",
        help="--baseline: append the comparison as Markdown, e.g. to $GITHUB_STEP_SUMMARY",
    )  # fmt: skip


def _cpus(text: str) -> list[int]:
    from runner.affinity import parse_cpus

    try:
        return parse_cpus(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


def run(args: argparse.Namespace, host: PluginHost) -> int:
    from runner import baseline, environment, interrupts, store
    from runner.execute import run_session
    from runner.results import OK, check_writable
    from runner.session import RunOptions, Session

    if args.fail_on_regression and not args.baseline:
        raise UsageError("--fail-on-regression needs --baseline FILE|ID to compare with")
    experiments = load_experiments(args, host)
    if args.affinity:
        for exp in experiments:
            exp.cpus = args.affinity
            for trial in exp.trials:
                trial.cpus = args.affinity
    options = RunOptions.from_args(args)
    if options.output:  # every output is checked before the first trial, and before the store
        check_writable(options.output)
    db = store.store_path(options)
    gate = None
    if args.baseline:  # resolved before this session is stored: `latest` is the last one
        base = baseline.load_baseline(args.baseline, db)
        gate = baseline.RegressionGate(base, baseline.GateOptions(
            compare_options(args), max_repeat=args.max_repeat, budget_s=args.gate_budget,
            allow_inconclusive=args.allow_inconclusive, quiet=args.quiet, summary=args.summary,
        ))  # fmt: skip
    session = Session(
        experiments=experiments,
        options=options,
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
        host.register(gate, "regression-gate")
        host.register(gate.printer, "regression-gate-list")
    with interrupts.stop_on_signals() as stopper:
        result = run_session(session, decider=gate)
    if result.interrupted:
        return stopper.exit_code
    if any(t.status != OK for t in result.trials()):
        return ExitCode.FAILED
    if gate is not None and args.fail_on_regression and gate.printer.fails():
        return ExitCode.FAILED
    return ExitCode.OK
