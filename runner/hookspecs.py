"""The whole plugin contract, in the order the hooks are called.

Every hook starts with ``runner_``.  The lifecycle hooks are named
``runner_<phase>_<event>`` (phase: session, trial or run; event: start, done or finish);
the three that give runner something are named for what they give: ``runner_models``,
``runner_register_commands`` and ``runner_make_executor``.  Implementations take the
subset of the arguments they need, so new keyword arguments can be added without
breaking plugins.
Mark implementations with ``runner.hookimpl``.  docs/writing-plugins.md explains each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pluggy

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from runner.model import Model
    from runner.results import RunRecord, SessionResult, TrialResult
    from runner.session import Session
    from runner.spec import Trial

hookspec = pluggy.HookspecMarker("runner")

# -- registration ---------------------------------------------------------------------


@hookspec
def runner_models() -> Sequence[Model]:
    """Return the models this plugin provides.

    Called once per process, when the models are first needed: in the CLI to validate
    specs and list models, and in each worker before its first trial.  Collected from
    every plugin; each model is checked (``runner.modelcheck``), and two models with the
    same name are an error that names both plugins.

    :return: a list of model instances (see ``runner.model.Model``); an empty list is fine.
    """


@hookspec
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add subcommands to the ``runner`` command line.

    Called once, before the command line is parsed.  Add a parser with
    ``subparsers.add_parser(NAME, help=...)`` and set its default ``func`` to a callable
    taking ``(args, host)`` (the parsed arguments and the ``runner.plugins.PluginHost``)
    and returning an exit code.

    To add an option to an existing command instead, implement this hook with
    ``trylast=True`` (so the command exists) and call
    ``subparsers.choices["run"].add_argument(...)``; hooks read the value from
    ``session.options``.

    :param subparsers: the argparse sub-parser collection of the ``runner`` command.
    """


# -- session ---------------------------------------------------------------------------


@hookspec
def runner_session_start(session: Session) -> None:
    """Called once after every spec is loaded and validated, before the first trial.

    :param session: the session: its ``run_id``, ``experiments``, ``trials``, ``options``.
    """


@hookspec
def runner_trial_start(session: Session, trial: Trial) -> None:
    """Called in the CLI process just before a trial's worker is started.

    :param session: the running session.
    :param trial: the trial about to run (``trial.id``, ``trial.params``, ...).
    """


@hookspec
def runner_run_done(session: Session, trial: Trial, record: RunRecord) -> None:
    """Called when one run of a trial (warmup or measured) has finished in the worker.

    :param session: the running session.
    :param trial: the trial the run belongs to.
    :param record: the run: ``index``, ``warmup``, ``elapsed_s`` and ``metrics``.
    """


@hookspec
def runner_trial_done(session: Session, trial: Trial, result: TrialResult) -> None:
    """Called when a trial has ended, whatever its status, with its summary computed.

    Stores save the trial here, so a session killed later keeps it.

    :param session: the running session.
    :param trial: the trial that ended.
    :param result: status, runs, summary statistics and expectation checks.
    """


@hookspec
def runner_session_finish(session: Session, result: SessionResult) -> None:
    """Called once at the end of a session, also after Ctrl-C (``result.interrupted``).

    Reporters print their tables and writers write their files here.

    :param session: the session that ended.
    :param result: every finished trial, grouped by experiment, and the environment.
    """


# -- execution -------------------------------------------------------------------------


class Executor(Protocol):
    """Where trials run: what ``runner_make_executor`` returns (``runner.executors.local``).

    The session loop enters it once, runs trials on it one after another, and exits it
    when the session ends, also on Ctrl-C: nothing a trial started may outlive the exit.
    """

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def run_trial(self, trial: Trial, on_run: Callable[[RunRecord], None]) -> TrialResult:
        """Run ``trial`` to its end, call ``on_run(record)`` as each run finishes, and
        return its result; never raise for what the trial did (that is its status)."""
        ...


class ManyTrialsExecutor(Executor, Protocol):
    """An executor that runs several trials at once, on several hosts (``runner.executors.dask``).

    The session loop calls ``run_trials`` instead of ``run_trial`` when an executor has it.
    """

    def run_trials(
        self,
        trials: Sequence[Trial],
        on_run: Callable[[Trial, RunRecord], None],
        on_done: Callable[[Trial, TrialResult], None],
        on_start: Callable[[Trial], None] | None = None,
    ) -> None:
        """Run every trial of ``trials``, as many at once as there is room for, and return
        when all have ended.  Calls, in the caller's thread and in the order things happen
        (not the order of ``trials``): ``on_start(trial)`` as a trial starts on its host,
        ``on_run(trial, record)`` after each of its runs, ``on_done(trial, result)`` as it
        ends.  KeyboardInterrupt cancels the trials not started, kills the running ones
        and is raised again; what ended before it was given to ``on_done``."""
        ...


@hookspec(firstresult=True)
def runner_make_executor(name: str, session: Session) -> Executor | None:
    """Return an :class:`Executor` for ``name`` (``--executor``), or None if it is not yours.

    Called once per session, just before ``runner_session_start``, so that an unknown
    name stops the session before anything is recorded; the first non-None answer is
    used, and it should start nothing before its first trial (an executor of remote hosts
    connects and checks them here, so that one it cannot use is refused as early).

    :param name: the executor asked for, e.g. ``local``.
    :param session: the session it will run.
    :return: an executor, or None.
    """
