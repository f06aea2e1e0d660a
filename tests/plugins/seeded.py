"""A model whose runs draw from a seeded distribution with a known shift.

The comparison's statistics are tested through the CLI with it, exactly and without the
machine's noise: ``wall_s`` is normal around ``median * (1 + shift_pct / 100)`` with a
relative spread of ``sd_pct``; ``near_zero`` hovers around 0.005 (a loss rate); ``count``
never varies.  The draws continue across trial processes (a gate's re-runs): how many
were taken from a stream is kept in ``seeded-STREAM.count`` in the working directory.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Annotated

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext


class SeededParams(Params):
    seed: Annotated[int, Meta(description="the random stream; each session of a test its own")] = 0
    arm: Annotated[
        int, Meta(ge=0, le=1000, description="a label to sweep: each arm its own stream")
    ] = 0
    median: Annotated[float, Meta(gt=0, description="median of wall_s without a shift")] = 1.0
    sd_pct: Annotated[
        float,
        Meta(ge=0, le=100, description="standard deviation, % of median"),
    ] = 2.0
    shift_pct: Annotated[
        float,
        Meta(ge=-90, le=1000, description="the known change of wall_s"),
    ] = 0.0


class Seeded(Model):
    name = "seeded"
    description = "Values drawn from a seeded normal distribution with a known shift"
    Params = SeededParams
    metrics = (
        Metric("wall_s", "s", False, "normal(median * (1 + shift), sd)", key=True),
        Metric("near_zero", "%", False, "about 0.005, never below 0", key=True, floor=0.1),
        Metric("count", "items", False, "always 50", key=True),
        Metric("cpus", "cpus", None, "CPUs the trial may run on (its affinity)"),
        Metric("first_cpu", "", None, "the lowest of them"),
        Metric("clock", "s", None, "time.monotonic() at the run's start, to see the order"),
    )

    def run(self, params: SeededParams, ctx: RunContext) -> dict[str, float]:
        clock = time.monotonic()
        stream = params.seed * 1000 + params.arm
        counter = Path(f"seeded-{stream}.count")
        taken = int(counter.read_text()) if counter.exists() else 0
        rng = random.Random(stream)
        for _ in range(2 * taken):  # two draws a run
            rng.random()
        counter.write_text(str(taken + 1))
        centre = params.median * (1 + params.shift_pct / 100)
        wall = rng.gauss(centre, centre * params.sd_pct / 100)
        allowed = os.sched_getaffinity(0)
        return {"wall_s": wall, "near_zero": max(0.0, rng.gauss(0.005, 0.01)), "count": 50,
                "cpus": len(allowed), "first_cpu": min(allowed), "clock": clock}  # fmt: skip


@hookimpl
def runner_models() -> list[Model]:
    return [Seeded()]
