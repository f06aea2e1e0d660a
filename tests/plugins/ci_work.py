"""A model whose `extra_work_pct` knob adds work: the synthetic regression of the CI tests.

``ops_per_s`` counts the nominal work only (``iterations``), so extra work lowers it as a
slower implementation of the same job would.  ``mode: sleep`` waits instead of computing:
steadier on a busy machine.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext


class WorkParams(Params):
    mode: Annotated[Literal["cpu", "sleep"], Meta(description="compute, or sleep")] = "cpu"
    iterations: Annotated[int, Meta(ge=1, le=10**9, description="cpu: loop length")] = 200_000
    seconds: Annotated[float, Meta(ge=0, le=60, description="sleep: seconds per run")] = 0.01
    extra_work_pct: Annotated[float, Meta(ge=0, le=1000, description="adds this much work")] = 0.0


class Work(Model):
    name = "ci_work"
    description = "A loop or a sleep, with a knob that adds a share of extra work"
    Params = WorkParams
    metrics = (
        Metric("wall_s", "s", False, "time for the work", key=True),
        Metric("ops_per_s", "ops/s", True, "nominal iterations (or sleeps) per second", key=True),
        Metric("checksum", "", None, "cpu: the loop's sum, so it cannot be skipped"),
    )

    def run(self, params: WorkParams, ctx: RunContext) -> dict[str, float]:
        scale = 1 + params.extra_work_pct / 100
        if params.mode == "sleep":
            t0 = time.perf_counter()
            time.sleep(params.seconds * scale)
            wall = time.perf_counter() - t0
            return {"wall_s": wall, "ops_per_s": 1 / wall}
        n = round(params.iterations * scale)
        t0 = time.perf_counter()
        total = 0
        for i in range(n):
            total += i
        wall = time.perf_counter() - t0
        return {"wall_s": wall, "ops_per_s": params.iterations / wall, "checksum": total % 1000}


@hookimpl
def runner_models() -> list[Model]:
    return [Work()]
