"""runner_models() returning a model instead of a list of models."""

from runner import Metric, Model, hookimpl


class One(Model):
    name = "pw_one"
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {"x": 1}


@hookimpl
def runner_models():
    return One()
