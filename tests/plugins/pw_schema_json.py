"""A params schema that validates but has no JSON Schema, so specs and editors cannot use it."""

import socket

from pydantic import ConfigDict

from runner import Metric, Model, Params, hookimpl


class SocketParams(Params):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    sock: socket.socket | None = None


class SocketModel(Model):
    name = "pw_socket"
    Params = SocketParams
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {}


@hookimpl
def runner_models():
    return [SocketModel()]
