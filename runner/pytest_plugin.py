"""Experiment specs as pytest tests: each spec file a collector, each trial a test item.

Active only when asked, so no other YAML file is ever taken for a spec::

    pytest --runner experiments/            # the specs under experiments/, nothing else
    pytest tests/ --runner experiments/     # the unit tests and the specs
    pytest --runner experiments/ --runner-baseline baseline.json   # regressions fail too

or, in the ini file, ``runner_specs = experiments`` (collected along with ``testpaths``
when pytest is run without arguments, and whenever a path under it is given).

A trial fails when it does not end ``ok`` (a crash, a timeout, an error or a missed
``expect:``) or, with ``--runner-baseline``, when a metric regressed against the baseline
or stayed undecided: the gate of ``runner run --baseline``, which measures an undecided
trial more (``--runner-max-repeat``, ``--runner-gate-budget``) before it calls it
inconclusive, a failure unless ``--runner-allow-inconclusive``.  Trials run through the
same session and executor as ``runner run``: one worker process per pytest process, a
fresh child per trial.  So
``-k``, ``-x``, ``--junitxml`` and ``-n`` (pytest-xdist) work as for any test; with
``-n``, trials measure a machine shared with the others running at the same time.

Imported by every pytest run once installed (``pytest11``): keep module-level imports to
pytest and the standard library.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from runner.baseline import RegressionGate
    from runner.compare import CompareOptions
    from runner.execute import SessionLoop
    from runner.plugins import PluginHost
    from runner.results import TrialResult
    from runner.spec import Experiment, Trial

SPEC_SUFFIXES = (".yaml", ".yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runner", "runner experiment specs as tests")
    group.addoption(
        "--runner", action="append", default=[], metavar="PATH", dest="runner_paths",
        help="collect the experiment specs (YAML) under PATH, one test per trial; repeatable",
    )  # fmt: skip
    group.addoption(
        "--runner-baseline", metavar="FILE|ID", dest="runner_baseline", action="append",
        help="also fail trials that regress against this JSON result file or stored "
        "session; repeat it to pool several sessions, whose drift then widens the threshold",
    )  # fmt: skip
    group.addoption(
        "--runner-db", metavar="PATH", dest="runner_db",
        help="store the session in this results store; session ids of --runner-baseline "
        "are looked up here (default: not stored, ids from .runner/results.db)",
    )  # fmt: skip
    group.addoption(
        "--runner-threshold", metavar="PCT", dest="runner_threshold", default="5%",
        help="smallest change of a median that counts as a regression (default 5%%)",
    )  # fmt: skip
    group.addoption(
        "--runner-alpha", metavar="P", dest="runner_alpha", default="0.05",
        help="significance level of the Mann-Whitney U test (default 0.05)",
    )  # fmt: skip
    group.addoption(
        "--runner-max-repeat", metavar="N", dest="runner_max_repeat", type=int, default=None,
        help="measure an undecided trial up to N runs in all (default: as `runner run`)",
    )  # fmt: skip
    group.addoption(
        "--runner-gate-budget", metavar="SECONDS", dest="runner_gate_budget", type=float,
        default=None, help="time the re-runs may take in all (default: as `runner run`)",
    )  # fmt: skip
    group.addoption(
        "--runner-allow-inconclusive", action="store_true", dest="runner_allow_inconclusive",
        help="pass a trial whose comparison stays undecided (it is listed still)",
    )  # fmt: skip
    parser.addini("runner_specs", type="paths", default=[],
                  help="folders or files of experiment specs to collect as tests")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    cli = [Path(p).resolve() for p in config.getoption("runner_paths")]
    ini = [Path(p).resolve() for p in config.getini("runner_specs")]
    if not cli and not ini:
        return
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    if cli and not explicit:  # `pytest --runner DIR` collects DIR only, not the testpaths
        config.args[:] = []
    extra = cli if cli else ([] if explicit else ini)
    for root in extra:
        if not any(_within(root, Path(arg).resolve()) for arg in config.args):
            config.args.append(str(root))
    config.pluginmanager.register(RunnerSpecs(config, [*cli, *ini]), "runner-specs")


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class RunnerSpecs:
    """The plugin's state for one pytest process: host, session, executor, baseline."""

    def __init__(self, config: pytest.Config, roots: list[Path]) -> None:
        self.config = config
        self.roots = roots
        self.host: PluginHost | None = None
        self.names: dict[str, Path] = {}
        self.experiments: list[Experiment] = []
        self.loop: SessionLoop | None = None
        self.gate = self._gate(config)

    def _gate(self, config: pytest.Config) -> RegressionGate | None:
        from runner.baseline import GateOptions, RegressionGate, load_baseline
        from runner.errors import RunnerError
        from runner.store import DEFAULT_PATH

        compare = self._compare_options(config)
        refs = config.getoption("runner_baseline")
        if not refs:
            return None
        db = Path(config.getoption("runner_db") or DEFAULT_PATH)
        try:
            baseline = load_baseline(refs, db)
        except RunnerError as exc:
            raise pytest.UsageError(f"--runner-baseline: {exc}") from None
        allow = config.getoption("runner_allow_inconclusive")
        options = GateOptions(compare, quiet=True, allow_inconclusive=allow)
        for name, attr in (("runner_max_repeat", "max_repeat"), ("runner_gate_budget", "budget_s")):
            value = config.getoption(name)
            if value is not None:
                if value <= 0:
                    raise pytest.UsageError(f"--{name.replace('_', '-')}: must be above 0")
                setattr(options, attr, value)
        return RegressionGate(baseline, options)

    @staticmethod
    def _compare_options(config: pytest.Config) -> CompareOptions:
        from runner.compare import CompareOptions, parse_percent

        try:
            threshold = parse_percent(config.getoption("runner_threshold"))
            alpha = float(config.getoption("runner_alpha"))
            if not 0 < alpha < 1:
                raise ValueError(f"alpha {alpha:g} is not between 0 and 1")
        except ValueError as exc:
            raise pytest.UsageError(f"--runner-threshold/--runner-alpha: {exc}") from None
        return CompareOptions(threshold_pct=threshold, alpha=alpha)

    # -- collection ----------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> Any:
        if file_path.suffix in SPEC_SUFFIXES and any(_within(file_path, r) for r in self.roots):
            return SpecFile.from_parent(parent, path=file_path)
        return None

    def load(self, path: Path) -> list[Experiment]:
        """Load one spec file with the plugins it names, as ``runner run`` does."""
        from runner.commands.common import load_experiments
        from runner.limits import DEFAULT_MAX_TRIALS
        from runner.plugins import PluginConfig, build

        if self.host is None:
            self.host = build(PluginConfig.from_args([]))
        args = argparse.Namespace(specs=[path], max_trials=DEFAULT_MAX_TRIALS)
        experiments = load_experiments(args, self.host)
        for exp in experiments:
            if exp.name in self.names:
                raise SpecFile.CollectError(
                    f"{path}: experiment {exp.name!r} is also in {self.names[exp.name]}; "
                    "names must be unique across the collected specs"
                )
            self.names[exp.name] = path
        self.experiments.extend(experiments)
        return experiments

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        import dataclasses

        # The session holds the selected trials only (-k, deselection), in test order.
        chosen = {i.trial.id for i in items if isinstance(i, TrialItem)}
        self.experiments = [
            dataclasses.replace(e, trials=[t for t in e.trials if t.id in chosen])
            for e in self.experiments
        ]
        self.experiments = [e for e in self.experiments if e.trials]

    # -- running -------------------------------------------------------------------------

    def run(self, trial: Trial) -> TrialResult:
        """Run ``trial``; against a baseline, measure it more while it is undecided."""
        if self.loop is None:
            self.loop = self._start()
        result = self.loop.run_trial(trial)
        # Earlier trials are decided or given up: the gate names this one or none.
        self.loop.measure_more()
        return result

    def _start(self) -> SessionLoop:
        from runner import environment
        from runner.execute import SessionLoop
        from runner.session import RunOptions, Session

        assert self.host is not None
        db = self.config.getoption("runner_db")
        options = RunOptions(quiet=True, no_color=True, db=Path(db) if db else None, no_db=not db)
        argv = ["pytest", *self.config.invocation_params.args]
        session = Session(self.experiments, options, self.host, environment.capture(), argv)
        loop = SessionLoop(session, decider=self.gate)
        loop.start()
        return loop

    def verdicts(self, trial: Trial) -> list[str]:
        """What fails ``trial`` against the baseline, as lines: its regressed metrics, and
        those left undecided (unless allowed) with the gate's notes on them."""
        if self.gate is None or self.loop is None:
            return []
        from runner.compare import INCONCLUSIVE, REGRESSION

        # The gate judged the session once the trial's re-runs were in (``run``).
        comparison = self.gate.comparison
        assert comparison is not None
        mine = [c for c in comparison.changes if c.trial == trial.id]
        label = self.gate.baseline.label
        lines = []
        regressed = [c.describe() for c in mine if c.verdict == REGRESSION]
        if regressed:
            lines += [f"regression against {label}:", *(f"    {d}" for d in regressed)]
        undecided = [c.describe() for c in mine if c.verdict == INCONCLUSIVE]
        if undecided and not self.gate.options.allow_inconclusive:
            notes = [n for n in self.gate.notes if n.startswith(f"{trial.id}: ")]
            lines.append(f"inconclusive against {label} (--runner-allow-inconclusive passes it):")
            lines += [f"    {d}" for d in undecided] + [f"    note: {n}" for n in notes]
        return lines

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.loop is None:
            return
        loop, self.loop = self.loop, None
        loop.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)


def _state(config: pytest.Config) -> RunnerSpecs:
    plugin = config.pluginmanager.get_plugin("runner-specs")
    assert isinstance(plugin, RunnerSpecs)
    return plugin


class SpecFile(pytest.File):
    """One experiment spec: collects a test item per trial."""

    def collect(self) -> Iterator[pytest.Item]:
        from runner.errors import RunnerError

        plugin = _state(self.config)
        try:
            experiments = plugin.load(self.path)
        except RunnerError as exc:
            raise self.CollectError(str(exc)) from None
        for exp in experiments:
            for trial in exp.trials:
                yield TrialItem.from_parent(self, name=trial.id, trial=trial)


class TrialFailed(Exception):
    """A trial that did not pass; the message says why, with no traceback."""


class TrialItem(pytest.Item):
    """One trial of a spec, run in a worker process like ``runner run`` runs it."""

    def __init__(self, *, trial: Trial, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trial = trial

    def runtest(self) -> None:
        plugin = _state(self.config)
        result = plugin.run(self.trial)
        assert plugin.host is not None
        units = {m.name: m.unit for m in plugin.host.models()[self.trial.model].metrics}
        for name, s in result.summary.items():  # shown by --junitxml as <property>
            self.user_properties.append((f"{name}.median", s.median))
            if units.get(name):
                self.user_properties.append((f"{name}.unit", units[name]))
        problems = []
        if result.status != "ok":
            problems.append(f"{result.status}: {result.error}")
            tail = [ln for ln in result.stderr_tail.strip().splitlines() if ln.strip()][-10:]
            problems += [f"    {ln}" for ln in tail]
        problems += plugin.verdicts(self.trial)
        if problems:
            raise TrialFailed("\n".join(problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, TrialFailed):
            return f"{self.trial.id}: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"trial {self.trial.id}"
