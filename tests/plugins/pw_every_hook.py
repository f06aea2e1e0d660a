"""Implements every hook of runner/hookspecs.py and logs each call, to prove each is called.

Each call appends ``{"hook", "pid", ...}`` as a JSON line to the file named by the
environment variable PW_HOOK_LOG.  A hook added to the contract must be added here too:
tests/test_hook_contract.py fails until it is, and until a command calls it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from runner import hookimpl


def _log(hook: str, **details: Any) -> None:
    path = os.environ.get("PW_HOOK_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps({"hook": hook, "pid": os.getpid(), **details}) + "\n")


@hookimpl
def runner_models() -> list[Any]:
    _log("runner_models")
    return []


@hookimpl
def runner_register_commands(subparsers: Any) -> None:
    _log("runner_register_commands")
    p = subparsers.add_parser("pw-hello", help="a command added by a test plugin")
    p.add_argument("who")
    p.set_defaults(func=_hello)


def _hello(args: Any, host: Any) -> int:
    print(f"hello {args.who}")
    return 0


@hookimpl
def runner_session_start(session: Any) -> None:
    _log("runner_session_start", run_id=session.run_id, trials=len(session.trials))


@hookimpl
def runner_make_executor(name: str, session: Any) -> None:
    _log("runner_make_executor", name=name)
    return None  # not ours: the built-in local executor answers


@hookimpl
def runner_trial_start(session: Any, trial: Any) -> None:
    _log("runner_trial_start", trial=trial.id)


@hookimpl
def runner_run_done(session: Any, trial: Any, record: Any) -> None:
    _log("runner_run_done", trial=trial.id, warmup=record.warmup, metrics=sorted(record.metrics))


@hookimpl
def runner_trial_done(session: Any, trial: Any, result: Any) -> None:
    _log("runner_trial_done", trial=trial.id, status=result.status)


@hookimpl
def runner_session_finish(session: Any, result: Any) -> None:
    _log("runner_session_finish", run_id=result.run_id, interrupted=result.interrupted)
