"""A model whose run() forgets the ctx argument."""

from runner import Metric, Model, hookimpl


class NoCtx(Model):
    name = "pw_noctx"
    metrics = (Metric("x", "", None),)

    def run(self, params):
        return {"x": 1}


@hookimpl
def runner_models():
    return [NoCtx()]
