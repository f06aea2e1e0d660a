"""UDP clients: ``echo`` round trips (stop and wait) and ``oneway`` blasts with a report.

Each client has its own socket, connected to the server so the kernel drops datagrams
from anyone else and reports an unreachable port.  Every datagram carries a session id and
a sequence number; nothing is inferred from counts alone.
"""

from __future__ import annotations

import array
import dataclasses
import random
import select
import socket
import struct
import time
from typing import Any

from runner.errors import ModelError

from . import udpproto as up
from .idle import kernel_timeouts
from .stats import jitter_ns

_SEQ_STAMP = struct.Struct(">IQ")  # the header's seq and timestamp fields, at offset 12
_SEQ_OFFSET = 12
_TRIES = 8
_SEND_WAIT_MS = 1000
_MAX_READS_PER_WAIT = 1024  # stale replies are few; a flood of them ends the wait early


@dataclasses.dataclass
class UdpOutcome:
    sent: int = 0
    received: int = 0
    duplicates: int = 0
    reordered: int = 0
    late: int = 0  # echo: a reply that came after its wait had ended (the request counts lost)
    corrupt: int = 0
    bytes: int = 0
    jitter_ns: float = 0.0
    start_ns: int = 0  # sender's clock: first send
    end_ns: int = 0  # sender's clock: last send (oneway) or last reply (echo)
    first_arrival_ns: int = 0  # oneway: receiver's clock, from its report
    last_arrival_ns: int = 0
    rtts: array.array = dataclasses.field(default_factory=lambda: array.array("q"))


def client_socket(address: tuple[str, int], rcvbuf: int, timeout: float) -> socket.socket:
    """A UDP socket connected to ``address``; ``timeout`` bounds any wait until reset."""
    from .address import resolve

    family, sockaddr = resolve(address[0], address[1], socket.SOCK_DGRAM)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _where(sock: socket.socket) -> str:
    host, port = sock.getpeername()[:2]
    return f"{host}:{port}"


def echo(
    sock: socket.socket, messages: int, size: int, reply_timeout: float, deadline: float
) -> UdpOutcome:
    """Send ``messages`` ECHO datagrams one by one, each waiting ``reply_timeout`` for its echo.

    The loop only sends, receives, checks and records each round trip's time; the counts
    go into ``out`` and the jitter is computed from the recorded times after it.
    """
    out = UdpOutcome()
    session = random.getrandbits(32)
    request = up.datagram(up.ECHO, session, 0, 0, size)
    seen = bytearray(messages)
    buf = bytearray(65536)
    padding = up.padding(size)  # a reply with other bytes after its header is corrupt
    wait_ns = int(reply_timeout * 1e9)
    deadline_ns = int(deadline * 1e9)  # time.monotonic() and monotonic_ns share a clock
    now, pack, unpack = time.monotonic_ns, _SEQ_STAMP.pack_into, up.HEADER.unpack_from
    send, recv_into, record = sock.send, sock.recv_into, out.rtts.append
    header_size, magic, kind_echo = up.HEADER_SIZE, up.MAGIC, up.ECHO
    received = nbytes = 0
    # The kernel's timeout, set once: a Python one would poll before every send and receive.
    kernel_timeouts(sock, reply_timeout)
    out.start_ns = now()
    try:
        for seq in range(messages):
            stamp = now()
            pack(request, _SEQ_OFFSET, seq, stamp)
            send(request)
            until = stamp + wait_ns
            reads = 0
            while reads < _MAX_READS_PER_WAIT:
                if reads:  # after a stale reply, only what is left of this one's wait
                    left = until - now()
                    if left <= 0:
                        break
                    kernel_timeouts(sock, left / 1e9)
                reads += 1
                try:
                    n = recv_into(buf)
                except BlockingIOError:  # the kernel's timeout: this one is lost
                    break
                arrived = now()
                if n < header_size:
                    continue
                mark, kind, _, _, rsession, rseq, _ = unpack(buf)
                if mark != magic or kind != kind_echo or rsession != session:
                    continue
                if rseq >= messages or rseq > seq:
                    continue
                if seen[rseq]:
                    out.duplicates += 1
                elif rseq < seq:  # its wait is over: lost for the round trip, but seen
                    seen[rseq] = 1
                    out.late += 1
                elif n != size or buf[header_size:n] != padding:
                    out.corrupt += 1
                else:
                    seen[rseq] = 1
                    received += 1
                    nbytes += n
                    record(arrived - stamp)
                    break
            if reads > 1:
                kernel_timeouts(sock, reply_timeout)
            if now() > deadline_ns:
                raise ModelError(
                    f"udp echo: run deadline reached after {seq + 1} of {messages} messages"
                )
    except ConnectionRefusedError:
        raise ModelError(f"udp echo: {_where(sock)} refused (no server on that port)") from None
    out.end_ns = now()
    out.sent, out.received, out.bytes = messages, received, nbytes
    out.jitter_ns = jitter_ns(out.rtts)  # echo: one clock, so a round trip is the transit
    return out


def _ask(
    sock: socket.socket,
    message: bytes,
    answer: int,
    session: int,
    timeout: float,
    *,
    tries: int = _TRIES,
) -> bytes:
    """Send a control datagram until its answer comes; return the answer.

    Tries back off from 20 ms up to ``timeout``: a receive buffer still full from a blast
    drops the first request, and waiting the whole timeout for it would be time lost.
    """
    buf = bytearray(65536)
    for attempt in range(tries):
        sock.send(message)
        until = time.monotonic() + min(timeout, 0.02 * 2 ** min(attempt, 16))
        for _ in range(1000):  # skips stray datagrams, boundedly
            left = until - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                n = sock.recv_into(buf)
            except TimeoutError:
                break
            if n >= up.HEADER_SIZE:
                mark, kind, _, _, rsession, _, _ = up.HEADER.unpack_from(buf)
                if mark == up.MAGIC and kind == answer and rsession == session:
                    return bytes(buf[:n])
    raise ModelError(
        f"udp: no answer from {_where(sock)} after {tries} tries (reply_timeout {timeout:g} s)"
    )


def oneway(
    sock: socket.socket,
    *,
    messages: int,
    size: int,
    rate_pps: int,
    reply_timeout: float,
    deadline: float,
    control_tries: int = _TRIES,
) -> UdpOutcome:
    """Open a session, send ``messages`` DATA datagrams at ``rate_pps`` (0: flat out), report.

    :param control_tries: sends of each control datagram before giving up (more on a
        lossy link: see :func:`control_tries`).
    """
    out = UdpOutcome()
    session = random.getrandbits(32)
    try:
        start = up.control(up.START, session, messages)
        ack = _ask(sock, start, up.START_ACK, session, reply_timeout, tries=control_tries)
        if ack[5]:  # the status byte
            raise ModelError(
                f"udp: {_where(sock)} refused the session: {ack[up.HEADER_SIZE :].decode()}"
            )
        packet = up.datagram(up.DATA, session, 0, 0, size)
        _blast(sock, out, packet, messages=messages, rate=rate_pps, deadline=deadline)
        _collect_report(sock, out, session, reply_timeout, control_tries)
    except ConnectionRefusedError:
        raise ModelError(f"udp oneway: {_where(sock)} refused (no server on that port)") from None
    return out


def _blast(
    sock: socket.socket,
    out: UdpOutcome,
    packet: bytearray,
    *,
    messages: int,
    rate: int,
    deadline: float,
) -> None:
    send, pack, now = sock.send, _SEQ_STAMP.pack_into, time.monotonic_ns
    # Non-blocking, and a wait only when the kernel says the send buffer is full: a
    # timeout on the socket would poll before every datagram.
    sock.setblocking(False)
    start = out.start_ns = now()
    seq = 0
    while seq < messages:
        # Paced by schedule, not by sleeping per datagram: send what is due, then sleep
        # until the next one is, so the average rate holds whatever sleep's resolution.
        due = messages if not rate else min(messages, (now() - start) * rate // 1_000_000_000 + 1)
        if seq >= due:
            time.sleep(max(0.0, (seq * 1_000_000_000 // rate - (now() - start)) / 1e9))
            continue
        burst_end = min(due, seq + 4096)
        for i in range(seq, burst_end):
            pack(packet, _SEQ_OFFSET, i, now())
            try:
                send(packet)
            except BlockingIOError:
                _resend(sock, packet)
        seq = burst_end
        if time.monotonic() > deadline:
            out.sent = seq
            raise ModelError(
                f"udp oneway: run deadline reached after {seq} of {messages} datagrams"
            )
    out.end_ns = now()
    out.sent = messages


def _resend(sock: socket.socket, packet: bytearray) -> None:
    """Send ``packet`` once the socket has room, waiting 1 s at most: never for ever."""
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    if not poller.poll(_SEND_WAIT_MS):
        raise ModelError(f"udp oneway: could not send for {_SEND_WAIT_MS} ms (send buffer full)")
    sock.send(packet)


def _collect_report(
    sock: socket.socket, out: UdpOutcome, session: int, reply_timeout: float, tries: int = _TRIES
) -> None:
    # Datagrams may still be in flight (on a real network): ask again until two reports
    # agree or everything sent has arrived.
    previous: tuple[Any, ...] | None = None
    for attempt in range(8):
        question = up.control(up.REPORT_REQ, session)
        answer = _ask(sock, question, up.REPORT, session, reply_timeout, tries=tries)
        if answer[5]:
            raise ModelError(f"udp: {_where(sock)} lost the session (evicted or restarted)")
        report = up.REPORT_BODY.unpack_from(answer, up.HEADER_SIZE)
        if report[0] >= out.sent or report == previous:
            break
        previous = report
        time.sleep(0.01 * (attempt + 1))
    out.received, out.duplicates, out.reordered, out.bytes, jitter_ns = report[:5]
    out.first_arrival_ns, out.last_arrival_ns = report[5:]
    out.jitter_ns = float(jitter_ns)


def control_tries(loss_pct: float | None) -> int:
    """Sends of a control datagram so that, on a link losing ``loss_pct`` each way, every
    one of them (or its answer) is lost with a chance below one in a million."""
    import math

    fail = 1 - (1 - (loss_pct or 0) / 100) ** 2  # the request or its answer is dropped
    if fail <= 0:
        return _TRIES
    if fail >= 1:
        return 1  # nothing gets through: say so at once
    return max(_TRIES, min(1000, math.ceil(math.log(1e-6) / math.log(fail))))
