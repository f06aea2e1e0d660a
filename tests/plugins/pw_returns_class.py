"""runner_models() returning the model class instead of an instance."""

from runner import Metric, Model, hookimpl


class Klass(Model):
    name = "pw_klass"
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {"x": 1}


@hookimpl
def runner_models():
    return [Klass]
