"""Experiment specs as pytest tests: each spec file a collector, each trial a test item.

Active only when asked, so no other YAML file is ever taken for a spec::

    pytest --runner experiments/            # the specs under experiments/, nothing else
    pytest tests/ --runner experiments/     # the unit tests and the specs
    pytest --runner experiments/ --runner-baseline baseline.json   # regressions fail too

or, in the ini file, ``runner_specs = experiments`` (collected along with ``testpaths``
when pytest is run without arguments, and whenever a path under it is given).

A trial fails when it does not end ``ok`` (a crash, a timeout, an error or a missed
``expect:``) or, with ``--runner-baseline``, when a metric regressed against the baseline
(the same test as ``runner compare``).  Trials run through the same session and executor
as ``runner run``: one worker process per pytest process, a fresh child per trial.  So
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
    from runner.compare import CompareOptions, Side
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
        "--runner-baseline", metavar="FILE|ID", dest="runner_baseline",
        help="also fail trials that regress against this JSON result file or stored session",
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
        self.options, self.baseline = self._baseline(config)

    def _baseline(self, config: pytest.Config) -> tuple[CompareOptions, Side | None]:
        from runner.baseline import load_side
        from runner.compare import CompareOptions, parse_percent
        from runner.errors import RunnerError
        from runner.store import DEFAULT_PATH

        try:
            threshold = parse_percent(config.getoption("runner_threshold"))
            alpha = float(config.getoption("runner_alpha"))
            if not 0 < alpha < 1:
                raise ValueError(f"alpha {alpha:g} is not between 0 and 1")
        except ValueError as exc:
            raise pytest.UsageError(f"--runner-threshold/--runner-alpha: {exc}") from None
        options = CompareOptions(threshold_pct=threshold, alpha=alpha)
        ref = config.getoption("runner_baseline")
        if not ref:
            return options, None
        db = Path(config.getoption("runner_db") or DEFAULT_PATH)
        try:
            return options, load_side(ref, db)
        except RunnerError as exc:
            raise pytest.UsageError(f"--runner-baseline: {exc}") from None

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
        if self.loop is None:
            self.loop = self._start()
        return self.loop.run_trial(trial)

    def _start(self) -> SessionLoop:
        from runner import environment
        from runner.execute import SessionLoop
        from runner.session import RunOptions, Session

        assert self.host is not None
        db = self.config.getoption("runner_db")
        options = RunOptions(quiet=True, no_color=True, db=Path(db) if db else None, no_db=not db)
        argv = ["pytest", *self.config.invocation_params.args]
        session = Session(self.experiments, options, self.host, environment.capture(), argv)
        loop = SessionLoop(session)
        loop.start()
        return loop

    def regressions(self, trial: Trial, result: TrialResult) -> list[str]:
        """Each regressed metric of ``trial`` against the baseline, one line each."""
        if self.baseline is None or self.loop is None:
            return []
        from runner.compare import REGRESSION, compare_trial
        from runner.session import experiment_metrics

        found = self.baseline.trials().get(trial.id)
        if found is None:
            return []
        base, base_metrics = found
        exp = self.loop.session.experiment(trial.experiment)
        assert self.host is not None
        metrics = {**base_metrics, **experiment_metrics(exp, self.host.models()[exp.model])}
        changes = compare_trial(trial.id, base, result.to_json(), metrics, self.options)
        return [c.describe() for c in changes if c.verdict == REGRESSION]

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
        regressed = plugin.regressions(self.trial, result)
        if regressed and plugin.baseline is not None:
            problems.append(f"regression against {plugin.baseline.label}:")
            problems += [f"    {line}" for line in regressed]
        if problems:
            raise TrialFailed("\n".join(problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, TrialFailed):
            return f"{self.trial.id}: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"trial {self.trial.id}"
