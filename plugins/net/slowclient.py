"""Slow download clients: a pause before each request, reads paced by a token bucket.

Real clients are slower than loopback: people and programs think before they ask, and
links deliver at their own rate.  :func:`slow_sockmod` wraps a socket module (the
standard one or gevent's) so that the sockets it makes behave so, without the download
code knowing: ``sendall`` (the request) waits ``think_s`` first, on the open connection;
``recv_into`` reads no faster than the bucket allows.  A rate-limited socket also keeps
a slow link's small receive window and Ethernet's segment size, so what it has not read
holds the server's send (TCP's flow control) instead of piling up in megabytes of
loopback buffers: a one-at-a-time server is held by every slow client in turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from socket import IPPROTO_TCP, SO_RCVBUF, SOL_SOCKET, TCP_MAXSEG
from typing import Any

WINDOW_S = 0.005  # a slow link's window: 5 ms of its rate (Linux doubles SO_RCVBUF)
MIN_RCVBUF = 16384
SLOW_MSS = 1460  # Ethernet's
BURST_S = 0.01  # the bucket holds 10 ms of tokens: reads come in small, even steps
MIN_BURST = 1024


class TokenBucket:
    """``rate`` bytes/s at most, in bursts of at most ``burst`` bytes.

    It starts empty, so over any span ``t`` from its creation at most ``rate * t`` bytes
    (plus one burst after an idle spell) are let through.
    """

    def __init__(self, rate: float, sleep: Callable[[float], None], burst: int = 0) -> None:
        self.rate = rate
        self.burst = burst or max(MIN_BURST, int(rate * BURST_S))
        self.sleep = sleep
        self.tokens = 0.0
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, n: int) -> int:
        """Wait until some of ``n`` bytes may be read; return how many (at most ``n``).

        It waits for half a burst (or ``n`` if less), never for a full bucket: tokens that
        come while a full bucket waits would be thrown away, and the rate fall short.
        """
        n = min(n, self.burst)
        need = min(n, self.burst // 2)
        self._refill()
        for _ in range(1000):  # sleep may wake early; bounded all the same
            if self.tokens >= need:
                break
            self.sleep((need - self.tokens) / self.rate)
            self._refill()
        return max(1, min(n, int(self.tokens)))

    def spend(self, n: int) -> None:
        self.tokens -= n


class SlowSocket:
    """A client socket that thinks before its request and reads at the bucket's pace."""

    def __init__(
        self, sock: Any, bucket: TokenBucket | None, think_s: float, sleep: Callable[[float], None]
    ) -> None:
        self._sock = sock
        self._bucket = bucket
        self._think_s = think_s
        self._sleep = sleep

    def sendall(self, data: bytes) -> None:
        if self._think_s:
            self._sleep(self._think_s)
        self._sock.sendall(data)

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        bucket = self._bucket
        want = nbytes or len(buffer)
        if bucket is None:
            return int(self._sock.recv_into(buffer, want))
        allowed = bucket.wait(want)
        n = int(self._sock.recv_into(buffer, allowed))
        bucket.spend(n)
        return n

    def __getattr__(self, name: str) -> Any:  # settimeout, connect, close ... as they are
        return getattr(self._sock, name)


class SlowSockmod:
    """Stands in for a socket module: ``socket()`` makes :class:`SlowSocket` s.

    One bucket for every socket made, so a client that fetches file after file keeps one
    rate across them, as one slow link would.
    """

    def __init__(
        self,
        sockmod: Any,
        rate_bytes_s: float | None,
        think_s: float,
        sleep: Callable[[float], None],
    ) -> None:
        self._sockmod = sockmod
        self._bucket = TokenBucket(rate_bytes_s, sleep) if rate_bytes_s else None
        self._rcvbuf = max(MIN_RCVBUF, int((rate_bytes_s or 0) * WINDOW_S))
        self._think_s = think_s
        self._sleep = sleep

    def socket(self, *args: Any) -> SlowSocket:
        sock = self._sockmod.socket(*args)
        if self._bucket is not None:
            # A slow link's window and segments, not loopback's autotuned megabytes and
            # 64 KiB segments (from which the server would size a send buffer of a few MiB):
            # what the client has not read yet holds the server back, as on a real link.
            sock.setsockopt(SOL_SOCKET, SO_RCVBUF, self._rcvbuf)
            sock.setsockopt(IPPROTO_TCP, TCP_MAXSEG, SLOW_MSS)
        return SlowSocket(sock, self._bucket, self._think_s, self._sleep)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sockmod, name)


def slow_sockmod(
    sockmod: Any, rate_mib_s: float | None, think_ms: float, sleep: Callable[[float], None]
) -> Any:
    """``sockmod`` itself for a client at full speed, else one whose sockets are slow."""
    if not rate_mib_s and not think_ms:
        return sockmod
    return SlowSockmod(
        sockmod, rate_mib_s * (1 << 20) if rate_mib_s else None, think_ms / 1e3, sleep
    )
