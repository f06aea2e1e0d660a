"""A default outside its own bounds: every spec that leaves it out would be refused."""

from pydantic import Field

from runner import Metric, Model, Params, hookimpl


class CountParams(Params):
    count: int = Field(0, ge=1, description="at least one")


class CountModel(Model):
    name = "pw_count"
    Params = CountParams
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {"x": params.count}


@hookimpl
def runner_models():
    return [CountModel()]
