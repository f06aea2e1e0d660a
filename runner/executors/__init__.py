"""The built-in executors' hooks: ``local`` (runner/executors/local.py) and ``dask``
(runner/executors/dask.py).

The hooks live apart from the executors' code, which is imported when a session asks for
its executor: commands that run nothing (`runner list`, `validate`, `show`) start
without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner import hookimpl
from runner.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from runner.hookspecs import Executor
    from runner.session import Session

DEFAULT_EXECUTOR = "local"
SCHEDULER_ENV = "RUNNER_DASK_SCHEDULER"


@hookimpl(trylast=True)
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    subparsers.choices["run"].add_argument(
        "--scheduler", metavar="tcp://HOST:PORT",
        help=f"the Dask scheduler for --executor dask (default: ${SCHEDULER_ENV})",
    )  # fmt: skip


@hookimpl(tryfirst=True)
def runner_session_start(session: Session) -> None:
    if session.options.get("scheduler") and session.options.get("executor") != "dask":
        raise UsageError("--scheduler is for --executor dask")


@hookimpl
def runner_make_executor(name: str, session: Session) -> Executor | None:
    if name == "local":
        from runner.executors.local import LocalExecutor

        return LocalExecutor(session)
    if name == "dask":
        from runner.executors.dask import connect

        # Called before the session starts: connecting and checking here refuses an
        # unreachable scheduler or a mismatched host before anything is recorded.
        return connect(session)
    return None
