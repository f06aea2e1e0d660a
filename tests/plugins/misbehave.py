"""A test model that fails in every way a plugin can, on request."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Annotated, Literal

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext


class MisbehaveParams(Params):
    action: Literal[
        "ok", "raise", "exit", "signal", "hang", "print", "undeclared", "string", "nan", "orphan"
    ] = "ok"
    seconds: Annotated[float, Meta(ge=0, le=3600)] = 0.0
    value: float = 1.0
    pidfile: str = ""


class Misbehave(Model):
    name = "misbehave"
    description = "Fails on request: raise, exit, signal, hang, bad metrics"
    Params = MisbehaveParams
    metrics = (Metric("value", "", True, key=True), Metric("pid", "", None))

    def run(self, params: MisbehaveParams, ctx: RunContext) -> dict:
        time.sleep(params.seconds)
        action = params.action
        if action == "raise":
            raise ValueError("the plugin raised on purpose")
        if action == "exit":
            sys.stderr.write("about to exit with 3\n")
            sys.stderr.flush()
            os._exit(3)
        if action == "signal":
            os.kill(os.getpid(), signal.SIGSEGV)
        if action == "hang":
            time.sleep(3600)
        if action == "orphan":
            # A grandchild that would outlive the trial if the group were not killed.
            pid = os.fork()
            if pid == 0:
                time.sleep(3600)
                os._exit(0)
            with open(params.pidfile, "a") as fh:
                fh.write(f"{pid} {os.getpid()}\n")
            time.sleep(3600)
        if action == "print":
            print("hello from the plugin on stdout")
        if action == "undeclared":
            return {"value": params.value, "bogus": 1}
        if action == "string":
            return {"value": "fast"}
        if action == "nan":
            return {"value": float("nan")}
        return {"value": params.value, "pid": os.getpid()}


@hookimpl
def runner_models() -> list[Model]:
    return [Misbehave()]
