"""The twin of tests/plugins/pw_clash.py: defines the same model name."""

from runner import Metric, Model, hookimpl


class Twin(Model):
    name = "pw_twin"
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {"x": 1}


@hookimpl
def runner_models():
    return [Twin()]
