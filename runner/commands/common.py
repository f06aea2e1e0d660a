"""Pieces several subcommands share."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import PluginError, SpecError
from runner.yamlsrc import DEFAULT_MAX_TRIALS

if TYPE_CHECKING:
    from runner import spec
    from runner.plugins import PluginHost


def add_spec_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs="+", type=Path, metavar="SPEC", help="experiment spec (YAML)"
    )
    parser.add_argument(
        "--max-trials", type=int, default=DEFAULT_MAX_TRIALS, metavar="N",
        help=f"refuse matrices above N trials in all (default {DEFAULT_MAX_TRIALS:,})",
    )  # fmt: skip


def add_run_count_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repeat", type=_count(1), metavar="N", help="measured runs per trial, for every spec"
    )
    parser.add_argument(
        "--warmup", type=_count(0), metavar="N", help="warmup runs per trial, for every spec"
    )


def _count(least: int) -> Any:
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < least:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= {least}")
        return int(text)

    return parse


def load_spec_plugins(paths: list[Path], host: PluginHost) -> None:
    """Load the plugins that spec files name: they may define the models the specs use."""
    if not paths:
        return  # `runner list` without --spec: no spec, no validation machinery
    from runner import spec

    for path in paths:
        for item, where in spec.spec_plugins(path):
            try:
                host.load(item, "spec")
            except PluginError as exc:
                raise SpecError(f"{where}: {exc}") from None


def load_experiments(args: argparse.Namespace, host: PluginHost) -> list[spec.Experiment]:
    """Load the plugins the specs name, then validate and expand the specs."""
    from runner import spec

    load_spec_plugins(args.specs, host)
    experiments = spec.load_all(args.specs, host, args.max_trials)
    # --repeat/--warmup (run, show) override every spec: a quick smoke run of an example.
    for exp in experiments:
        for attr in ("repeat", "warmup"):
            value = getattr(args, attr, None)
            if value is not None:
                setattr(exp, attr, value)
                for trial in exp.trials:
                    setattr(trial, attr, value)
    return experiments
