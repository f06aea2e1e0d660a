"""`runner show`: the trials a spec expands to, nothing run."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from runner import hookimpl
from runner.commands.common import add_run_count_args, add_spec_args, load_experiments

if TYPE_CHECKING:
    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "show", help="show the trials of specs", description="Print the expanded trials."
    )
    add_spec_args(p)
    add_run_count_args(p)
    p.add_argument("--json", action="store_true", help="as JSON, with the full params")
    p.set_defaults(func=show)


def show(args: argparse.Namespace, host: PluginHost) -> int:
    experiments = load_experiments(args, host)
    if args.json:
        print(json.dumps([t.to_json() for e in experiments for t in e.trials], indent=1))
        return 0
    for exp in experiments:
        print(f"{exp.name}: model {exp.model}, {len(exp.trials)} trials x "
              f"({exp.warmup} warmup + {exp.repeat} runs), timeout {exp.timeout:g} s")  # fmt: skip
        if exp.description:
            print(f"  {exp.description}")
        for trial in exp.trials:
            params = " ".join(f"{k}={json.dumps(v)}" for k, v in trial.params.items())
            print(f"  {trial.id}: {params}")
    return 0
