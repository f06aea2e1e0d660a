"""`runner validate`: check specs without running anything."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from runner import hookimpl
from runner.commands.common import add_spec_args, load_experiments

if TYPE_CHECKING:
    from runner.plugins import PluginHost
    from runner.spec import Experiment


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check specs",
        description="Check specs: exit 0 if valid, 2 if not. Warns (exit 0) when a spec's "
        "`repeat` is too small for any change to be significant in `runner compare`.",
    )
    add_spec_args(p)
    p.set_defaults(func=validate)


def validate(args: argparse.Namespace, host: PluginHost) -> int:
    experiments = load_experiments(args, host)
    for exp in experiments:
        print(f"{exp.path}: {exp.name}: ok ({len(exp.trials)} trials, model {exp.model})")
        warning = repeat_warning(exp)
        if warning:
            print(f"{exp.path}: {exp.name}: warning: {warning}", file=sys.stderr)
    return 0


def repeat_warning(exp: Experiment) -> str | None:
    """Why ``repeat`` can never give a significant comparison, or None."""
    from runner.stats import DEFAULT_ALPHA, TEST_NAME, runs_needed

    needed = runs_needed(DEFAULT_ALPHA)
    if exp.repeat >= needed:
        return None
    return (
        f"repeat: {exp.repeat} can never be significant at alpha {DEFAULT_ALPHA:g} "
        f"({TEST_NAME}: {needed} runs a side at least); `runner compare` calls its changes "
        "inconclusive and the gate must measure more: use repeat: 5 or more"
    )
