"""The UDP server: echoes ECHO datagrams, counts DATA datagrams per session, reports.

One socket, one loop.  Echo is stateless (RFC 862: the datagram goes back unchanged).
A one-way session is opened by START, which gives its datagram count; the server then
marks each sequence number it sees, so a REPORT says exactly how many distinct datagrams
arrived, how many came twice, how many came after a higher number, and the RFC 3550
jitter of their arrival.
"""

from __future__ import annotations

import array
import select
import socket
import threading
import time
from typing import Any

from . import udpproto as up
from .idle import kernel_timeouts

MAX_SESSIONS = 256
MAX_SESSION_BYTES = 256 << 20  # what all open sessions may hold (Session.cost)
MAX_COUNT = 10_000_000
PENDING_SLOTS = 1 << 18  # arrivals recorded before they must be counted
PENDING_BYTES_PER_SLOT = 24
BATCH = 4096  # datagrams read between two looks at ``stop``
WAKE_MS = 500  # an idle server still looks at ``stop`` this often


class Session:
    """One one-way session: what arrived, counted from sequence numbers.

    The receive loop only records each DATA datagram (sequence number, arrival, transit,
    size) into preallocated arrays; :meth:`settle` counts them, in arrival order, when a
    report is asked for or the arrays are full.  So the counting costs nothing while the
    datagrams stream in, and the arrival times (the pps window) are those of the recv.
    """

    __slots__ = (
        "addr",
        "arrivals",
        "bytes",
        "count",
        "duplicates",
        "first_ns",
        "id",
        "jitter",
        "last_ns",
        "last_transit",
        "max_seq",
        "pending",
        "received",
        "reordered",
        "seen",
        "seqs",
        "sizes",
        "transits",
    )

    def __init__(self, count: int, addr: Any = None, session_id: int = 0) -> None:
        self.addr, self.id = addr, session_id
        self.count = count
        self.seen = bytearray(count)
        self.received = self.duplicates = self.reordered = self.bytes = 0
        self.max_seq = -1
        self.jitter = 0.0
        self.last_transit: int | None = None
        self.first_ns = self.last_ns = 0
        slots = min(count, PENDING_SLOTS)
        self.seqs = array.array("I", bytes(4 * slots))
        self.sizes = array.array("I", bytes(4 * slots))
        self.arrivals = array.array("q", bytes(8 * slots))
        self.transits = array.array("q", bytes(8 * slots))
        self.pending = 0  # recorded, not yet counted

    @staticmethod
    def cost(count: int) -> int:
        """Bytes a session of ``count`` datagrams holds: its seen map and record arrays."""
        return count + PENDING_BYTES_PER_SLOT * min(count, PENDING_SLOTS)

    def settle(self) -> None:
        """Count the recorded arrivals, oldest first, and empty the record."""
        seen, seqs, sizes, arrivals, transits = (
            self.seen,
            self.seqs,
            self.sizes,
            self.arrivals,
            self.transits,
        )
        jitter, last_transit, max_seq = self.jitter, self.last_transit, self.max_seq
        for i in range(self.pending):
            seq = seqs[i]
            if seen[seq]:
                self.duplicates += 1
                continue
            seen[seq] = 1
            self.received += 1
            self.bytes += sizes[i]
            if seq < max_seq:
                self.reordered += 1
            else:
                max_seq = seq
            transit = transits[i]
            if last_transit is not None:
                jitter += (abs(transit - last_transit) - jitter) / 16.0
            last_transit = transit
            if not self.first_ns:
                self.first_ns = arrivals[i]
            self.last_ns = arrivals[i]
        self.jitter, self.last_transit, self.max_seq = jitter, last_transit, max_seq
        self.pending = 0

    def report(self) -> bytes:
        self.settle()
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
    """Serves RNU1 on ``sock`` until ``stop`` is set or the process is stopped.

    The socket blocks, with the kernel's receive timeout (SO_RCVTIMEO) of ``WAKE_MS`` to
    look at ``stop`` now and then: one system call per datagram.  A Python timeout on
    the socket would add a ``poll`` to every one.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sessions: dict[tuple[Any, int], Session] = {}
        self.counters = dict.fromkeys(("datagrams", "bytes", "echoed", "stray", "sessions"), 0)
        self.current: Session | None = None  # the session the last DATA datagram was for
        self._buf = bytearray(65536)

    def serve(self, stop: threading.Event | None = None) -> None:
        kernel_timeouts(self.sock, WAKE_MS / 1000)
        while stop is None or not stop.is_set():
            self._drain(BATCH)

    def _drain(self, budget: int) -> bool:
        """Serve up to ``budget`` datagrams; False when the wait for one timed out first.

        DATA for the current session and ECHO are handled inline, with the current
        session's arrays in locals; everything else goes through :meth:`_handle`.
        """
        buf = self._buf
        view = memoryview(buf)
        recv, sendto = self.sock.recvfrom_into, self.sock.sendto
        unpack, now = up.HEADER.unpack_from, time.monotonic_ns
        magic, echo, data, header_size = up.MAGIC, up.ECHO, up.DATA, up.HEADER_SIZE
        datagrams = nbytes = echoed = 0
        cur = self.current
        cur_id, cur_addr, cur_count, slots, i = self._locals(cur)
        seqs, sizes, arrivals, transits = self._arrays(cur)
        try:
            for _ in range(budget):
                try:
                    n, addr = recv(buf)
                except BlockingIOError:  # SO_RCVTIMEO: nothing came for WAKE_MS
                    return False
                except OSError:  # e.g. a late ICMP error for an earlier reply: not ours to fix
                    continue
                arrived = now()
                datagrams += 1
                nbytes += n
                if n >= header_size:
                    mark, kind, _, _, session, seq, stamp = unpack(buf)
                    if (
                        kind == data
                        and session == cur_id
                        and seq < cur_count
                        and i < slots
                        and mark == magic
                        and addr == cur_addr
                    ):
                        seqs[i] = seq
                        sizes[i] = n
                        arrivals[i] = arrived
                        transits[i] = arrived - stamp
                        i += 1
                        continue
                    if kind == echo and mark == magic:
                        try:
                            sendto(view[:n], addr)
                            echoed += 1
                        except OSError:  # a full send buffer drops it, as the network may
                            pass
                        continue
                if cur is not None:
                    cur.pending = i
                self._handle(n, addr, arrived)
                cur = self.current
                cur_id, cur_addr, cur_count, slots, i = self._locals(cur)
                seqs, sizes, arrivals, transits = self._arrays(cur)
            return True
        finally:
            if cur is not None:
                cur.pending = i
            counters = self.counters
            counters["datagrams"] += datagrams
            counters["bytes"] += nbytes
            counters["echoed"] += echoed

    @staticmethod
    def _locals(s: Session | None) -> tuple[int, Any, int, int, int]:
        if s is None:
            return -1, None, 0, 0, 0
        return s.id, s.addr, s.count, len(s.seqs), s.pending

    @staticmethod
    def _arrays(s: Session | None) -> tuple[Any, Any, Any, Any]:
        if s is None:
            return (), (), (), ()
        return s.seqs, s.sizes, s.arrivals, s.transits

    def _handle(self, n: int, addr: Any, arrived: int) -> None:
        """Off the inline path: a stray, DATA of another session or a full record, control."""
        if n < up.HEADER_SIZE:
            self.counters["stray"] += 1
            return
        mark, kind, _, _, session, seq, stamp = up.HEADER.unpack_from(self._buf)
        if mark != up.MAGIC:
            self.counters["stray"] += 1
        elif kind == up.DATA:
            s = self.sessions.get((addr, session))
            if s is None or seq >= s.count:
                self.counters["stray"] += 1
                return
            if s.pending >= len(s.seqs):
                s.settle()
            i = s.pending
            s.seqs[i], s.sizes[i], s.arrivals[i], s.transits[i] = seq, n, arrived, arrived - stamp
            s.pending = i + 1
            self.current = s
        else:
            self._control(kind, session, seq, addr)

    def _reply(self, message: bytes, addr: Any) -> None:
        # Control answers are few: wait (boundedly) for room rather than drop one.
        try:
            self.sock.sendto(message, addr)
        except BlockingIOError:
            poller = select.poll()
            poller.register(self.sock, select.POLLOUT)
            if poller.poll(WAKE_MS):
                self.sock.sendto(message, addr)

    def _control(self, kind: int, session: int, seq: int, addr: Any) -> None:
        key = (addr, session)
        if kind == up.START:
            if key not in self.sessions:  # a START sent again after a lost ACK keeps the count
                refusal = self._open(key, seq)
                if refusal:
                    self._reply(up.control(up.START_ACK, session, seq, 1, refusal.encode()), addr)
                    return
            self._reply(up.control(up.START_ACK, session, seq), addr)
        elif kind == up.REPORT_REQ:
            s = self.sessions.get(key)
            if s is None:
                self._reply(up.control(up.REPORT, session, status=1), addr)
            else:
                self._reply(up.control(up.REPORT, session, s.count) + s.report(), addr)
        else:
            self.counters["stray"] += 1

    def _open(self, key: tuple[Any, int], count: int) -> str:
        if count > MAX_COUNT:
            return f"a session holds at most {MAX_COUNT} datagrams"
        # Oldest sessions go first: a client that never asked for its report leaves no leak.
        while self.sessions and (
            len(self.sessions) >= MAX_SESSIONS
            or sum(Session.cost(s.count) for s in self.sessions.values()) + Session.cost(count)
            > MAX_SESSION_BYTES
        ):
            gone = self.sessions.pop(next(iter(self.sessions)))
            if gone is self.current:
                self.current = None
        self.sessions[key] = Session(count, *key)
        self.counters["sessions"] += 1
        return ""
