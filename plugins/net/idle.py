"""Socket timeouts that cost nothing per operation.

A timeout set with ``settimeout`` is paid on every call: CPython polls before each send
and receive, gevent starts and cancels a timer for each wait.  On an echo of 64 bytes
that is a third of the work.  The same guarantee (no socket waits for ever) costs
nothing per operation when it is set once:

- :func:`kernel_timeouts`: on a blocking standard socket, SO_RCVTIMEO and SO_SNDTIMEO,
  so the kernel ends a wait that lasts ``seconds``.  The call then fails with EAGAIN,
  which :func:`is_kernel_timeout` tells from other errors.
- :class:`IdleReaper`: for gevent sockets (non-blocking underneath, so the kernel
  options do not apply), one greenlet that looks at every watched connection each
  half timeout and stops the handler of one that has neither received data nor an
  acknowledgement for ``seconds`` (Linux ``TCP_INFO``), counting from when it was
  watched at the earliest, so a connect that gets no answer is ended too.
"""

from __future__ import annotations

import errno
import socket
import struct
import time
from typing import Any

_TIMEVAL = struct.Struct("ll")
# struct tcp_info: 8 one-byte fields, then u32s; tcpi_last_data_recv and tcpi_last_ack_recv
# (milliseconds since) are the 12th and 13th of those.
_TCP_INFO = struct.Struct("8x11I2I")


def kernel_timeouts(sock: socket.socket, seconds: float) -> None:
    """Make ``sock`` blocking, with the kernel ending any one send or receive after ``seconds``."""
    sock.settimeout(None)
    seconds = max(seconds, 1e-6)  # a zero timeval would mean no timeout at all
    whole = int(seconds)
    micros = int((seconds - whole) * 1e6)
    value = _TIMEVAL.pack(whole, micros if whole else max(1, micros))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def is_kernel_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a wait ended by :func:`kernel_timeouts`."""
    return isinstance(exc, OSError) and exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)


def idle_ms(sock: Any) -> int | None:
    """Milliseconds since ``sock`` last received data or an acknowledgement; None if unknown."""
    if not hasattr(socket, "TCP_INFO"):
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
    except OSError:
        return None
    if len(raw) < _TCP_INFO.size:
        return None
    last_data_recv, last_ack_recv = _TCP_INFO.unpack_from(raw)[-2:]
    return int(min(last_data_recv, last_ack_recv))


class IdleReaper:
    """Stops the greenlet serving a connection idle for ``seconds``: one timer for all."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.watched: dict[Any, tuple[Any, float]] = {}  # greenlet -> its socket, since when
        self._loop: Any = None

    @staticmethod
    def available() -> bool:
        return hasattr(socket, "TCP_INFO")

    def watch(self, glet: Any, sock: Any) -> None:
        import gevent

        self.watched[glet] = (sock, time.monotonic())
        if self._loop is None:
            self._loop = gevent.spawn(self._run)

    def unwatch(self, glet: Any) -> None:
        self.watched.pop(glet, None)

    def _run(self) -> None:
        import gevent

        limit_ms = self.seconds * 1000
        while True:
            gevent.sleep(self.seconds / 2)
            now = time.monotonic()
            for glet, (sock, since) in list(self.watched.items()):
                idle = idle_ms(sock)  # before the handshake ends: since boot, or nothing
                if idle is not None and min(idle, (now - since) * 1000) >= limit_ms:
                    self.watched.pop(glet, None)
                    glet.kill(TimeoutError(f"idle for {self.seconds:g} s"), block=False)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
            self._loop = None
