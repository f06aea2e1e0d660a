"""A params field of a type specs cannot hold: its schema cannot be built.

Params are checked when first used, so the import succeeds
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
