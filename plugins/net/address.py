"""``HOST:PORT`` parsing, and what counts as loopback."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, ClassVar

DEFAULT_BIND = "127.0.0.1:0"


def parse_hostport(text: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6addr]:PORT`` for IPv6) and check the port.

    :raises ValueError: with a message fit to show a user.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, as [::1]:PORT")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: port must be a number from 0 to 65535")
    return host, int(port_text)


class ServerAddress(str):
    """The models' ``server`` param: a HOST:PORT to connect to (not port 0)."""

    json_schema: ClassVar[dict[str, Any]] = {"type": "string"}

    @classmethod
    def parse(cls, value: object) -> ServerAddress:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not HOST:PORT")
        if parse_hostport(value)[1] == 0:
            raise ValueError("server port must not be 0")
        return cls(value)


def format_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve(host: str, port: int, kind: socket.SocketKind) -> tuple[socket.AddressFamily, tuple]:
    """The family and socket address of the first result for ``host``."""
    try:
        infos = socket.getaddrinfo(host, port, type=kind)
    except socket.gaierror as exc:
        raise ValueError(f"cannot resolve {host!r}: {exc.strerror}") from exc
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)
