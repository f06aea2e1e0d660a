"""Defines the model `pw_twin`, as tests/plugins/pw_clash_twin.py does: a name clash."""

from runner import Metric, Model, hookimpl


class Twin(Model):
    name = "pw_twin"
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {"x": 1}


@hookimpl
def runner_models():
    return [Twin()]
