"""A second plugin that defines a model named `thread`."""

from runner import hookimpl
from runner.model import Metric, Model


class Thread2(Model):
    name = "thread"
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {}


@hookimpl
def runner_models():
    return [Thread2()]
