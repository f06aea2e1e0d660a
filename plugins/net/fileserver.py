"""The file server's per-connection handler: one RNF1 request, one response.

Transfers are ``chunked`` (read ``chunk_size`` bytes, send them, repeat: 1024 is the
classic demo) or ``sendfile`` (the kernel copies file to socket).  If the file turns out
shorter than the length announced, the server closes early and the client sees a
truncated transfer, never a silently short file.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from . import fileproto as proto
from .fileroot import FileRoot, NotFound, Refused
from .idle import kernel_timeouts
from .tcpserver import ServerStats

TRANSFERS = ("chunked", "sendfile")
_COUNTER = {
    proto.Status.NOT_FOUND: "not_found",
    proto.Status.REFUSED: "refused",
    proto.Status.BAD_REQUEST: "bad_requests",
    proto.Status.SERVER_ERROR: "errors",
}


class FileService:
    """Serves files under ``root`` over RNF1."""

    def __init__(
        self,
        root: FileRoot,
        manifest: list[tuple[str, int, str]],
        *,
        transfer: str = "chunked",
        chunk_size: int = 65536,
        io_timeout: float = 10.0,
        green: bool = False,
    ) -> None:
        if transfer not in TRANSFERS:
            raise ValueError(f"unknown transfer {transfer!r}")
        self.root = root
        self.listing = proto.format_manifest(manifest)
        self.transfer = transfer
        self.chunk_size = chunk_size
        self.io_timeout = io_timeout
        self._wait_writable = _green_wait_writable if green else _poll_wait_writable

    def __call__(self, conn: Any, stats: ServerStats) -> None:
        # The whole request must arrive within io_timeout: a client trickling bytes cannot
        # hold a sequential server longer than one that sends nothing.
        deadline = time.monotonic() + self.io_timeout
        try:
            op, raw = proto.read_request(conn, deadline)
        except proto.ProtocolError as exc:
            self._refuse(conn, stats, proto.Status.BAD_REQUEST, str(exc))
            return
        stats.add("requests")
        if op == proto.OP_LIST:
            conn.sendall(proto.encode_response(proto.Status.OK, len(self.listing)) + self.listing)
            return
        try:
            fd, size = self.root.open(raw)
        except Refused as exc:
            self._refuse(conn, stats, proto.Status.REFUSED, str(exc))
            return
        except NotFound:
            self._refuse(conn, stats, proto.Status.NOT_FOUND, "no such file")
            return
        except OSError as exc:
            self._refuse(conn, stats, proto.Status.SERVER_ERROR, exc.strerror or "cannot open")
            return
        try:
            conn.sendall(proto.encode_response(proto.Status.OK, size))
            if self.transfer == "sendfile":
                sent = self._sendfile(conn, fd, size)
            else:
                sent = self._chunked(conn, fd, size)
        finally:
            os.close(fd)
        stats.add("bytes", sent)
        if sent < size:
            stats.add("errors")  # the file shrank: closing now tells the client it is short

    def _chunked(self, conn: Any, fd: int, size: int) -> int:
        buf = bytearray(self.chunk_size)
        view = memoryview(buf)
        sent = 0
        while sent < size:
            n = os.readv(fd, [view[: min(self.chunk_size, size - sent)]])
            if n == 0:
                break
            conn.sendall(view[:n])
            sent += n
        return sent

    def _sendfile(self, conn: Any, fd: int, size: int) -> int:
        # socket.sendfile() would do for blocking sockets, but gevent's falls back to
        # send(): call os.sendfile() on both and wait for writability our own way.
        out = conn.fileno()
        if isinstance(conn, socket.socket) and conn.gettimeout() is not None:
            # Blocking, the kernel bounding each wait: a non-blocking sendfile stops at
            # every full send buffer for a poll, and a stream runs at two thirds the speed.
            # (serve_forever's connections are so from their accept.)
            kernel_timeouts(conn, self.io_timeout)
        sent = 0
        while sent < size:
            try:
                n = os.sendfile(out, fd, sent, min(size - sent, 1 << 30))
            except BlockingIOError:
                self._wait_writable(out, self.io_timeout)
                continue
            if n == 0:
                break
            sent += n
        return sent

    def _refuse(self, conn: Any, stats: ServerStats, status: proto.Status, reason: str) -> None:
        body = reason.encode()[: proto.MAX_ERROR_BODY]
        stats.add(_COUNTER[status])
        conn.sendall(proto.encode_response(status, len(body)) + body)
        _lingering_close(conn)


def _lingering_close(conn: Any) -> None:
    # Unread request bytes would make close() send a reset that can destroy the response
    # in flight; read what the client still sends first, for half a second at most.
    deadline = time.monotonic() + 0.5
    try:
        conn.shutdown(socket.SHUT_WR)
        for _ in range(64):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            conn.settimeout(remaining)
            if not conn.recv(65536):
                break
    except OSError:
        pass


def _poll_wait_writable(fd: int, timeout: float) -> None:
    import select

    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    if not poller.poll(timeout * 1000):
        raise TimeoutError(f"socket not writable within {timeout} s")


def _green_wait_writable(fd: int, timeout: float) -> None:
    from gevent.socket import wait_write

    wait_write(fd, timeout=timeout, timeout_exc=TimeoutError("socket not writable in time"))
