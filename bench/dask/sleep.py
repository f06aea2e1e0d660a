"""A model whose run sleeps: trials that cost the same whichever host runs them."""

from __future__ import annotations

import time
from typing import Annotated

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext


class SleepParams(Params):
    i: Annotated[int, Meta(ge=0, description="a label to sweep over")] = 0
    seconds: Annotated[float, Meta(ge=0, le=60)] = 1.0


class Sleep(Model):
    name = "sleep"
    description = "Sleeps: a trial of known length"
    Params = SleepParams
    metrics = (Metric("slept_s", "s", None),)

    def run(self, params: SleepParams, ctx: RunContext) -> dict[str, float]:
        time.sleep(params.seconds)
        return {"slept_s": params.seconds}


@hookimpl
def runner_models() -> list[Model]:
    return [Sleep()]
