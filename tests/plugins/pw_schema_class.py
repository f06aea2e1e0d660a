"""A params field pydantic cannot validate: the validator cannot be built.

Params build their validator when first needed (``defer_build``), so the import succeeds
and the model check at load time is what refuses it.
"""

import socket

from runner import Metric, Model, Params, hookimpl


class SocketParams(Params):
    sock: socket.socket


class SocketClassModel(Model):
    name = "pw_socket_class"
    Params = SocketParams
    metrics = (Metric("x", "", None),)

    def run(self, params, ctx):
        return {}


@hookimpl
def runner_models():
    return [SocketClassModel()]
