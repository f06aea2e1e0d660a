"""A params field pydantic cannot validate: the class itself fails to build."""

import socket

from runner import Params


class SocketParams(Params):
    sock: socket.socket
