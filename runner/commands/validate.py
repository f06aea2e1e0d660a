"""`runner validate`: check specs without running anything."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from runner import hookimpl
from runner.commands.common import add_spec_args, load_experiments

if TYPE_CHECKING:
    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate", help="check specs", description="Check specs: exit 0 if valid, 2 if not."
    )
    add_spec_args(p)
    p.set_defaults(func=validate)


def validate(args: argparse.Namespace, host: PluginHost) -> int:
    experiments = load_experiments(args, host)
    for exp in experiments:
        print(f"{exp.path}: {exp.name}: ok ({len(exp.trials)} trials, model {exp.model})")
    return 0
