"""The UDP server: echoes ECHO datagrams, counts DATA datagrams per session, reports.

One socket, one loop.  Echo is stateless (RFC 862: the datagram goes back unchanged).
A one-way session is opened by START, which gives its datagram count; the server then
marks each sequence number it sees, so a REPORT says exactly how many distinct datagrams
arrived, how many came twice, how many came after a higher number, and the RFC 3550
jitter of their arrival.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from . import udpproto as up

MAX_SESSIONS = 256
MAX_SEEN_BYTES = 64 << 20  # one byte per expected datagram, over all open sessions
MAX_COUNT = 10_000_000


class Session:
    __slots__ = (
        "bytes",
        "count",
        "duplicates",
        "first_ns",
        "jitter",
        "last_ns",
        "last_transit",
        "max_seq",
        "received",
        "reordered",
        "seen",
    )

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = bytearray(count)
        self.received = self.duplicates = self.reordered = self.bytes = 0
        self.max_seq = -1
        self.jitter = 0.0
        self.last_transit: int | None = None
        self.first_ns = self.last_ns = 0

    def report(self) -> bytes:
        return up.REPORT_BODY.pack(
            self.received,
            self.duplicates,
            self.reordered,
            self.bytes,
            round(self.jitter),
            self.first_ns,
            self.last_ns,
        )


def udp_socket(host: str, port: int, rcvbuf: int = 0) -> socket.socket:
    """A UDP socket bound to ``host:port``, with SO_RCVBUF set when ``rcvbuf`` > 0."""
    from .address import resolve

    family, sockaddr = resolve(host, port, socket.SOCK_DGRAM)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


class UdpServer:
    """Serves RNU1 on ``sock`` until ``stop`` is set or the process is stopped."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sessions: dict[tuple[Any, int], Session] = {}
        self.counters = dict.fromkeys(("datagrams", "bytes", "echoed", "stray", "sessions"), 0)

    def serve(self, stop: threading.Event | None = None) -> None:
        sock = self.sock
        sock.settimeout(0.5)  # wake up now and then to see ``stop``
        buf = bytearray(65536)
        view = memoryview(buf)
        recv, sendto = sock.recvfrom_into, sock.sendto
        unpack, now = up.HEADER.unpack_from, time.monotonic_ns
        sessions, counters = self.sessions, self.counters
        magic, echo, data = up.MAGIC, up.ECHO, up.DATA
        while stop is None or not stop.is_set():
            try:
                n, addr = recv(buf)
            except TimeoutError:
                continue
            except OSError:  # e.g. a late ICMP error for an earlier reply: not ours to fix
                continue
            arrived = now()
            counters["datagrams"] += 1
            counters["bytes"] += n
            if n < up.HEADER_SIZE:
                counters["stray"] += 1
                continue
            mark, kind, _, _, session, seq, stamp = unpack(buf)
            if mark != magic:
                counters["stray"] += 1
            elif kind == echo:
                sendto(view[:n], addr)
                counters["echoed"] += 1
            elif kind == data:
                s = sessions.get((addr, session))
                if s is None or seq >= s.count:
                    counters["stray"] += 1
                elif s.seen[seq]:
                    s.duplicates += 1
                else:
                    s.seen[seq] = 1
                    s.received += 1
                    s.bytes += n
                    if seq < s.max_seq:
                        s.reordered += 1
                    else:
                        s.max_seq = seq
                    transit = arrived - stamp
                    if s.last_transit is not None:
                        s.jitter += (abs(transit - s.last_transit) - s.jitter) / 16.0
                    s.last_transit = transit
                    if not s.first_ns:
                        s.first_ns = arrived
                    s.last_ns = arrived
            else:
                self._control(kind, session, seq, addr)

    def _control(self, kind: int, session: int, seq: int, addr: Any) -> None:
        key = (addr, session)
        if kind == up.START:
            if key not in self.sessions:  # a START sent again after a lost ACK keeps the count
                refusal = self._open(key, seq)
                if refusal:
                    self.sock.sendto(
                        up.control(up.START_ACK, session, seq, 1, refusal.encode()), addr
                    )
                    return
            self.sock.sendto(up.control(up.START_ACK, session, seq), addr)
        elif kind == up.REPORT_REQ:
            s = self.sessions.get(key)
            if s is None:
                self.sock.sendto(up.control(up.REPORT, session, status=1), addr)
            else:
                self.sock.sendto(up.control(up.REPORT, session, s.count) + s.report(), addr)
        else:
            self.counters["stray"] += 1

    def _open(self, key: tuple[Any, int], count: int) -> str:
        if count > MAX_COUNT:
            return f"a session holds at most {MAX_COUNT} datagrams"
        # Oldest sessions go first: a client that never asked for its report leaves no leak.
        while self.sessions and (
            len(self.sessions) >= MAX_SESSIONS
            or sum(s.count for s in self.sessions.values()) + count > MAX_SEEN_BYTES
        ):
            del self.sessions[next(iter(self.sessions))]
        self.sessions[key] = Session(count)
        self.counters["sessions"] += 1
        return ""
