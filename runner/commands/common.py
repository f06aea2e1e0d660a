"""Pieces several subcommands share."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import PluginError, SpecError
from runner.limits import DEFAULT_MAX_TRIALS

if TYPE_CHECKING:
    from runner import spec, yamlsrc
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
    parser.add_argument(
        "--max-memory", type=_size, metavar="SIZE",
        help="address-space cap per trial process, e.g. 4GiB, for every spec",
    )  # fmt: skip


def _size(text: str) -> int:
    from runner.envelope import parse_bytes

    try:
        return parse_bytes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(least: int) -> Any:
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < least:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= {least}")
        return int(text)

    return parse


def load_spec_plugins(
    specs: Sequence[Path | yamlsrc.Source], host: PluginHost
) -> list[yamlsrc.Source]:
    """Load the plugins that spec files name (they may define the models the specs use),
    and return the files as read, so that nothing reads them twice."""
    if not specs:
        return []  # `runner list` without --spec: no spec, no validation machinery
    from runner import spec, yamlsrc  # msgspec: only for the commands that read specs

    sources = [s if isinstance(s, yamlsrc.Source) else yamlsrc.load(s) for s in specs]
    for src in sources:
        for item, where in spec.spec_plugins(src):
            try:
                host.load(item, "spec")
            except PluginError as exc:
                raise SpecError(f"{where}: {exc}") from None
    return sources


def load_experiments(args: argparse.Namespace, host: PluginHost) -> list[spec.Experiment]:
    """Load the plugins the specs name, then validate and expand the specs."""
    from runner import spec

    sources = load_spec_plugins(args.specs, host)
    experiments = spec.load(sources, host.models(), args.max_trials)
    # --repeat/--warmup/--max-memory (run, show) override every spec: a quick smoke run.
    for exp in experiments:
        for attr in ("repeat", "warmup", "max_memory"):
            value = getattr(args, attr, None)
            if value is not None:
                setattr(exp, attr, value)
                for trial in exp.trials:
                    setattr(trial, attr, value)
    return experiments
