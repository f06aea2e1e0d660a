"""An out-of-tree model, loaded with -p or a spec's `plugins:` key."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext


class SquareParams(Params):
    n: Annotated[int, Meta(ge=0, le=1000)] = 3


class Square(Model):
    name = "square"
    description = "Squares n"
    Params = SquareParams
    metrics = (Metric("square", "", None, key=True),)

    def run(self, params: SquareParams, ctx: RunContext) -> dict[str, float]:
        return {"square": params.n * params.n}


@hookimpl
def runner_models() -> list[Model]:
    return [Square()]
