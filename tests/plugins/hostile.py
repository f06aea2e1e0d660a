"""A test model that tries to outlive its trial, on request.

Every process it starts reports its pid to ``pidfile`` (one line each) once it is up, so a
test can wait for the trial to be fully running, send its signal, and check that each
of them is gone afterwards.  ``hold`` names a file: runs block while it exists.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Literal

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext

ODD = {  # metric values a model may well return: each must be stored or refused clearly
    "huge": 1e308,
    "huge_both_signs": None,  # 1e308 in even runs, -1e308 in odd ones
    "int64_overflow": 2**63,
    "big_int": 10**30,
    "beyond_float": 10**400,
}


class HostileParams(Params):
    action: Literal[
        "ok",
        "children",
        "setsid",
        "daemon",
        "kill_worker",
        "hang_setup",
        "hang_teardown",
        "hang_run",
        "allocate",
        "odd_metric",
    ] = "ok"
    pidfile: str = ""
    hold: str = ""
    odd: str = "huge"
    allocate_mib: int = 0


def _report(params: HostileParams) -> None:
    if params.pidfile:
        with open(params.pidfile, "a") as fh:
            fh.write(f"{os.getpid()}\n")


def _sleeper(params: HostileParams, detach: str = "") -> None:
    """Fork a process that sleeps for an hour: in the group, in its own session, or daemonised."""
    pid = os.fork()
    if pid:
        if detach == "daemon":
            os.waitpid(pid, 0)  # the middle process exits at once; its child lives on
        return
    try:
        if detach in ("setsid", "daemon"):
            os.setsid()
        if detach == "daemon" and os.fork():
            os._exit(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL may end it
        _report(params)
        time.sleep(3600)
    finally:
        os._exit(0)


def _hold(params: HostileParams) -> None:
    while params.hold and os.path.exists(params.hold):
        time.sleep(0.05)


class Hostile(Model):
    name = "hostile"
    description = "Leaves processes behind, hangs in a phase, kills its worker, odd metrics"
    Params = HostileParams
    metrics = (Metric("value", "", True, key=True),)

    def setup(self, params: HostileParams, ctx: RunContext) -> None:
        (ctx.tmpdir / "scratch").write_bytes(b"x" * 100)
        if params.action == "hang_setup":
            _report(params)
            time.sleep(3600)

    def run(self, params: HostileParams, ctx: RunContext) -> dict:
        action = params.action
        if action == "children":
            _sleeper(params)
            _sleeper(params)
        elif action in ("setsid", "daemon"):
            _sleeper(params, action)
        elif action == "kill_worker":
            _sleeper(params, "setsid")
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(3600)
        elif action == "hang_run" and ctx.run_index == 1:
            _report(params)
            time.sleep(3600)
        elif action == "allocate":
            block = bytearray(params.allocate_mib * 2**20)
            return {"value": len(block)}
        elif action == "odd_metric":
            value = ODD[params.odd]
            if value is None:
                value = 1e308 if ctx.run_index % 2 == 0 else -1e308
            return {"value": value}
        if action in ("children", "setsid", "daemon"):
            _report(params)
        _hold(params)
        return {"value": 1.0}

    def teardown(self, params: HostileParams, ctx: RunContext) -> None:
        if params.action == "hang_teardown":
            _report(params)
            time.sleep(3600)


@hookimpl
def runner_models() -> list[Model]:
    return [Hostile()]


def pids(pidfile: str | Path) -> list[int]:
    try:
        return [int(x) for x in Path(pidfile).read_text().split()]
    except FileNotFoundError:
        return []
