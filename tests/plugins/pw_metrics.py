"""A model that returns well- or ill-formed metrics, as its `returns` param asks."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Literal

from msgspec import Meta

from runner import Metric, Model, Params, RunContext, hookimpl

__version__ = "2.5.1"


class MetricsParams(Params):
    returns: Annotated[
        Literal["ok", "numpy_like", "undeclared", "string", "bool", "list"],
        Meta(description="what run() returns"),
    ] = "ok"


class MetricsModel(Model):
    name = "pw_metrics"
    description = "Returns the metrics its params ask for"
    Params = MetricsParams
    metrics = (
        Metric("items", "items", True, "a count", key=True),
        Metric("ratio", "", True, "a ratio"),
    )

    def run(self, params: MetricsParams, ctx: RunContext) -> object:
        if params.returns == "ok":
            return {"items": 3, "ratio": 0.5}
        if params.returns == "numpy_like":  # a Real that is neither int nor float
            return {"items": 3, "ratio": Fraction(1, 2)}
        if params.returns == "undeclared":
            return {"items": 3, "itmes": 3}
        if params.returns == "string":
            return {"items": "3"}
        if params.returns == "bool":
            return {"items": True}
        return [3]


@hookimpl
def runner_models() -> list[Model]:
    return [MetricsModel()]
