"""A model that reports what the trial's garbage collector has to look at.

``tracked`` is the objects in the collector's generations (what a full collection scans),
``frozen`` those it never looks at (gc.freeze): the harness's own, made before the trial
began.  ``fresh: true`` asks for a prelude, so the trial runs in a new interpreter.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Annotated

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext


class GcProbeParams(Params):
    fresh: Annotated[bool, Meta(description="run in a fresh interpreter (with a prelude)")] = False


class GcProbe(Model):
    name = "gc_probe"
    description = "The objects a trial's garbage collector scans, and those it never does"
    Params = GcProbeParams
    metrics = (
        Metric("tracked", "objects", None, "in the collector's generations", key=True),
        Metric("frozen", "objects", None, "in its permanent generation", key=True),
    )

    def prelude(self, params: GcProbeParams) -> Sequence[str]:
        return ["gc:collect"] if params.fresh else []

    def run(self, params: GcProbeParams, ctx: RunContext) -> dict[str, float]:
        return {"tracked": len(gc.get_objects()), "frozen": gc.get_freeze_count()}


@hookimpl
def runner_models() -> list[Model]:
    return [GcProbe()]
