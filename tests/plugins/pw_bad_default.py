"""A default outside its own bounds: every spec that leaves it out would be refused."""

from typing import Annotated

from msgspec import Meta

from runner import Metric, Model, Params, hookimpl


class CountParams(Params):
    count: Annotated[int, Meta(ge=1, description="at least one")] = 0


class CountModel(Model):
    name = "pw_count"
    Params = CountParams
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {"x": params.count}


@hookimpl
def runner_models():
    return [CountModel()]
