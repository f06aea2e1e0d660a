"""TCP servers in three concurrency models, sharing one per-connection handler.

``sequential`` serves one connection at a time, as the classic demo does: every other
client waits in the listen backlog.  ``thread`` starts a thread per connection; ``gevent``
a greenlet per connection on gevent's own sockets (no monkey patching).  Every accepted
socket gets ``io_timeout``, so a client that connects and says nothing holds a sequential
server for that long at most.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

MODES = ("sequential", "thread", "gevent")
BACKLOG = 4096  # the kernel clamps it to net.core.somaxconn

Handler = Callable[[Any, "ServerStats"], None]


class ServerStats:
    """Counters a server keeps, in shared memory so the process that forked it can read them."""

    FIELDS = (
        "accepted",
        "active",
        "peak",
        "requests",
        "refused",
        "not_found",
        "bad_requests",
        "timeouts",
        "errors",
        "bytes",
    )

    def __init__(self) -> None:
        from multiprocessing.sharedctypes import RawArray

        self._values = RawArray("q", len(self.FIELDS))
        self._index = {name: i for i, name in enumerate(self.FIELDS)}
        # Orders the server's own threads; a reader in another process needs no lock to
        # see whole values (aligned 64-bit words), only a moment's staleness.
        self._lock = threading.Lock()

    def add(self, field: str, amount: int = 1) -> None:
        with self._lock:
            self._values[self._index[field]] += amount

    def opened(self) -> None:
        with self._lock:
            v, i = self._values, self._index
            v[i["accepted"]] += 1
            v[i["active"]] += 1
            v[i["peak"]] = max(v[i["peak"]], v[i["active"]])

    def closed(self) -> None:
        self.add("active", -1)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no connection is open (polling); False if some still are after ``timeout``."""
        end = time.monotonic() + timeout
        while self._values[self._index["active"]] > 0:
            if time.monotonic() >= end:
                return False
            time.sleep(0.01)
        return True

    def reset_peak(self) -> None:
        """Start a new peak measurement from the connections open now."""
        with self._lock:
            self._values[self._index["peak"]] = self._values[self._index["active"]]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {name: int(self._values[i]) for name, i in self._index.items()}


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: an ephemeral one)."""
    from .address import resolve

    family, sockaddr = resolve(host, port, socket.SOCK_STREAM)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def handle_one(conn: Any, handler: Handler, stats: ServerStats) -> None:
    """Run ``handler`` on one accepted connection, count the outcome, always close."""
    from .fileproto import ProtocolError, Truncated

    stats.opened()
    try:
        handler(conn, stats)
    except TimeoutError:
        stats.add("timeouts")
    except (OSError, ProtocolError, Truncated):
        stats.add("errors")
    finally:
        conn.close()
        stats.closed()


def serve_forever(
    listener: socket.socket,
    handler: Handler,
    mode: str,
    stats: ServerStats,
    io_timeout: float,
    *,
    stop: threading.Event | None = None,
) -> None:
    """Accept and serve connections until ``stop`` is set (or the process is stopped)."""
    if mode == "gevent":
        _serve_gevent(listener, handler, stats, io_timeout, stop)
        return
    if mode not in MODES:
        raise ValueError(f"unknown server mode {mode!r}")
    if mode == "thread":
        threading.stack_size(512 * 1024)  # thousands of connections: keep stacks small
    listener.settimeout(0.5)  # wake up now and then to see ``stop``
    while stop is None or not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:  # EMFILE and the like: count, breathe, go on
            stats.add("errors")
            time.sleep(0.05)
            continue
        conn.settimeout(io_timeout)
        if mode == "sequential":
            handle_one(conn, handler, stats)
        else:
            threading.Thread(target=handle_one, args=(conn, handler, stats), daemon=True).start()


def _serve_gevent(
    listener: socket.socket,
    handler: Handler,
    stats: ServerStats,
    io_timeout: float,
    stop: threading.Event | None,
) -> None:
    import gevent
    from gevent.server import StreamServer

    def handle(conn: Any, _address: Any) -> None:
        conn.settimeout(io_timeout)
        handle_one(conn, handler, stats)

    hub = gevent.get_hub()
    hub.NOT_ERROR = (*hub.NOT_ERROR, KeyboardInterrupt)  # still stops us; just not printed
    listener.setblocking(False)
    server = StreamServer(listener, handle)
    server.start()
    try:
        while stop is None or not stop.is_set():
            gevent.sleep(0.5)
    finally:
        server.stop(timeout=1)


def echo_handler(conn: Any, stats: ServerStats) -> None:
    """Send back every byte received, until the client closes (RFC 862 over TCP)."""
    # Small to start, as 10,000 idle connections x 64 KiB would be 640 MiB; it grows
    # when a read fills it, so bulk echo still moves in large pieces.
    buf = bytearray(2048)
    view = memoryview(buf)
    echoed = 0
    try:
        while True:
            n = conn.recv_into(buf)
            if not n:
                return
            conn.sendall(view[:n])
            echoed += n
            if n == len(buf) < 65536:
                buf = bytearray(len(buf) * 4)
                view = memoryview(buf)
    finally:  # counted once per connection: a lock per message would cost more than the echo
        stats.add("bytes", echoed)
