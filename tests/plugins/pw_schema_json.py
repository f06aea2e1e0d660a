"""A field type of its own that parses but has no JSON Schema, so editors cannot use it."""

from runner import Metric, Model, Params, hookimpl


class Host(str):
    @classmethod
    def parse(cls, value):
        return cls(value)


class HostParams(Params):
    host: Host | None = None


class HostModel(Model):
    name = "pw_host"
    Params = HostParams
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {}


@hookimpl
def runner_models():
    return [HostModel()]
