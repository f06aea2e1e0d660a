"""A session's data: the experiments of one `runner run`, its options and its plugins.

The loop that runs a session lives in runner/execute.py; this module holds no loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.executors import DEFAULT_EXECUTOR

if TYPE_CHECKING:
    from runner.model import Model
    from runner.plugins import PluginHost
    from runner.results import TrialResult
    from runner.spec import Experiment, Trial


def now() -> str:
    """The current UTC time as results record it.

    To the millisecond: two short sessions often start within one second, and a report
    orders the sessions it is given by this time."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


@dataclasses.dataclass
class RunOptions:
    """The options of a session, each default written here once.

    ``plugin`` holds the options that plugins add to ``runner run`` (through
    ``runner_register_commands``); ``get`` reads either kind by name.
    """

    executor: str = DEFAULT_EXECUTOR  #: where trials run (``--executor``)
    quiet: bool = False  #: print nothing but errors (``-q``)
    no_color: bool = False  #: no colours (``--no-color``; ``NO_COLOR`` also works)
    output: Path | None = None  #: the JSON result file (``-o``)
    db: Path | None = None  #: the results store; None is the default store
    no_db: bool = False  #: do not store the session (``--no-db``)
    interleave: bool = False  #: run repeats in rounds across trials (``--interleave``)
    plugin: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_args(cls, args: argparse.Namespace | dict[str, Any]) -> RunOptions:
        """The options of a parsed command line; unknown names go to ``plugin``."""
        values = dict(vars(args) if isinstance(args, argparse.Namespace) else args)
        known = {f.name for f in dataclasses.fields(cls)} - {"plugin"}
        given = {k: values.pop(k) for k in list(values) if k in known and values[k] is not None}
        return cls(**given, plugin=values)

    def get(self, name: str, default: Any = None) -> Any:
        """An option by name, runner's own or a plugin's; ``default`` when not set."""
        if name != "plugin" and name in {f.name for f in dataclasses.fields(self)}:
            return getattr(self, name)
        return self.plugin.get(name, default)


@dataclasses.dataclass
class Session:
    """What plugins see of a session: its id, experiments, trials and options.

    ``resumed`` holds the results of trials a resumed session (``--resume``) already
    finished: they are not run again, and ``trials`` leaves them out.
    """

    experiments: list[Experiment]
    options: RunOptions
    host: PluginHost
    environment: dict[str, Any]
    argv: list[str]
    run_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: str = dataclasses.field(default_factory=now)
    resumed: dict[str, TrialResult] = dataclasses.field(default_factory=dict)

    @property
    def trials(self) -> list[Trial]:
        """The trials this session runs, in order (resumed ones left out)."""
        return [t for exp in self.experiments for t in exp.trials if t.id not in self.resumed]

    def experiment(self, name: str) -> Experiment:
        return next(e for e in self.experiments if e.name == name)


def experiment_metrics(exp: Experiment, model: Model) -> dict[str, dict[str, Any]]:
    """The ``metrics`` map of results: each metric's unit and direction, and the spec's
    ``regress`` threshold (percent) where it sets one."""
    metrics: dict[str, dict[str, Any]] = {
        m.name: {"unit": m.unit, "higher_is_better": m.higher_is_better,
                 "description": m.description, "key": m.key, "floor": m.floor}
        for m in model.metrics
    }  # fmt: skip
    for name, pct in exp.regress.items():
        if name in metrics:
            metrics[name]["regress"] = pct
    return metrics
