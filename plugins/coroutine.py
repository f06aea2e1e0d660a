"""Model ``coroutine``: greenlets, gevent, asyncio and threads on the same small jobs.

Workloads:

- ``switch``: two tasks hand control to each other ``switches`` times in all (greenlet
  ``switch()``, ``gevent.sleep(0)``, ``asyncio.sleep(0)``, or two threads and semaphores).
- ``sleep``: ``tasks`` tasks each call ``time.sleep(task_seconds)`` (``asyncio.sleep``
  for asyncio).  Under gevent without monkey patching each sleep blocks the one thread,
  so the run takes about tasks x task_seconds; patched, about task_seconds.
- ``spawn``: create ``tasks`` no-op tasks and wait for them all.

``impl: gevent`` means monkey patched: the prelude ``gevent.monkey:patch_all`` runs first in
a fresh interpreter, so the patching never reaches another trial.  Every run reports
``patched``, read from the modules themselves, which shows whether it did.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Literal

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext

_PATCHABLE = ("time", "socket", "threading", "select", "os", "ssl", "subprocess", "signal")


class CoroutineParams(Params):
    workload: Annotated[
        Literal["switch", "sleep", "spawn"],
        Meta(description="what the run does (see the model description)"),
    ] = "sleep"
    impl: Annotated[
        Literal["greenlet", "gevent", "gevent_unpatched", "asyncio", "threads"],
        Meta(description="gevent = monkey patched first; greenlet = raw greenlets (no hub)"),
    ] = "gevent"
    tasks: Annotated[int, Meta(ge=1, le=100_000, description="sleep, spawn: tasks started")] = 100
    task_seconds: Annotated[
        float, Meta(ge=0, le=600, description="sleep: seconds each task sleeps")
    ] = 0.1
    switches: Annotated[
        int,
        Meta(ge=2, le=1_000_000_000, description="switch: handoffs in all (two per round trip)"),
    ] = 200_000

    def __post_init__(self) -> None:
        if self.workload == "sleep" and self.impl == "greenlet":
            raise ValueError(
                "raw greenlets have no hub to sleep on: use gevent or gevent_unpatched"
            )


def is_patched() -> bool:
    """Whether gevent's monkey patching is in effect in this process.

    Asks gevent only if gevent.monkey was imported (patching needs it), and also looks at
    time.sleep itself, so a patch made by other means is seen too.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and any(monkey.is_module_patched(m) for m in _PATCHABLE):
        return True
    return getattr(time.sleep, "__module__", "time") != "time"


class CoroutineModel(Model):
    name = "coroutine"
    description = "Greenlet switches; gevent (patched or not), asyncio, threads: sleep, spawn"
    Params = CoroutineParams
    metrics = (
        Metric("switches_per_s", "switches/s", True, "switch: handoffs per second", key=True),
        Metric("switch_ns", "ns", False, "switch: time per handoff"),
        Metric("wall_s", "s", False, "sleep, spawn: first start to last task done", key=True),
        Metric("speedup", "x", True, "sleep: tasks x task_seconds / wall_s", key=True),
        Metric("spawn_us", "us", False, "spawn: wall_s per task (create, run, join)", key=True),
        Metric("unfinished", "tasks", False, "tasks that did not run to the end (must be 0)"),
        Metric("patched", "bool", None, "gevent monkey patching in effect in the trial", key=True),
    )

    def prelude(self, params: CoroutineParams) -> list[str]:
        return ["gevent.monkey:patch_all"] if params.impl == "gevent" else []

    def run(self, params: CoroutineParams, ctx: RunContext) -> dict[str, float]:
        from .coro import runs

        out: dict[str, float] = {"patched": float(is_patched())}
        if params.workload == "switch":
            timed = runs.switch(params.impl, params.switches, ctx.timeout)
            out["switches_per_s"] = timed.n / (timed.ns / 1e9)
            out["switch_ns"] = timed.ns / timed.n
            return out
        if params.workload == "sleep":
            timed = runs.sleep(params.impl, params.tasks, params.task_seconds, ctx.timeout)
            if params.task_seconds > 0:
                out["speedup"] = params.tasks * params.task_seconds / (timed.ns / 1e9)
        else:
            timed = runs.spawn(params.impl, params.tasks, ctx.timeout)
            out["spawn_us"] = timed.ns / 1e3 / params.tasks
        out["wall_s"] = timed.ns / 1e9
        out["unfinished"] = params.tasks - timed.n
        return out


@hookimpl
def runner_models() -> list[Model]:
    return [CoroutineModel()]
