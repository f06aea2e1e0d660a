"""Pieces several subcommands share."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from runner import spec
from runner.errors import PluginError, SpecError

if TYPE_CHECKING:
    from runner.plugins import PluginHost


def add_spec_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs="+", type=Path, metavar="SPEC", help="experiment spec (YAML)"
    )
    parser.add_argument(
        "--max-trials", type=int, default=spec.DEFAULT_MAX_TRIALS, metavar="N",
        help=f"refuse matrices above N trials in all (default {spec.DEFAULT_MAX_TRIALS:,})",
    )  # fmt: skip


def load_spec_plugins(paths: list[Path], host: PluginHost) -> None:
    """Load the plugins that spec files name: they may define the models the specs use."""
    for path in paths:
        for item, where in spec.spec_plugins(path):
            try:
                host.load(item, "spec")
            except PluginError as exc:
                raise SpecError(f"{where}: {exc}") from None
    host.check()


def load_experiments(args: argparse.Namespace, host: PluginHost) -> list[spec.Experiment]:
    """Load the plugins the specs name, then validate and expand the specs."""
    load_spec_plugins(args.specs, host)
    return spec.load_all(args.specs, host, args.max_trials)
