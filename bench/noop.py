"""A model that does nothing, so a session measures the runner alone."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext


class NoopParams(Params):
    i: Annotated[int, Meta(ge=0, description="a label to sweep over")] = 0


class Noop(Model):
    name = "noop"
    description = "Does nothing: the harness's own cost"
    Params = NoopParams
    metrics = (Metric("one", "", None),)

    def run(self, params: NoopParams, ctx: RunContext) -> dict[str, float]:
        return {"one": 1}


@hookimpl
def runner_models() -> list[Model]:
    return [Noop()]
