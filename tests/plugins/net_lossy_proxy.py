"""A UDP proxy that damages RNU1 traffic in a fixed, countable way (tests only).

    python net_lossy_proxy.py --to HOST:PORT [--drop-every N] [--dup-every N]
                              [--swap-every N] [--flip-every N] [--seconds S]

Only client datagrams of kind D (one-way data) and E (echo request) are touched, by
sequence number: ``seq % N == N - 1`` is dropped (--drop-every), ``seq % N == 0`` is sent
twice (--dup-every), ``seq % N == N // 2`` is held back and sent just after the next one
(--swap-every); an echo request with ``seq % N == 1`` has its last byte flipped
(--flip-every).  Control datagrams and everything the server sends pass unchanged.  So a
test knows exactly how many datagrams were lost, duplicated, reordered and altered.
"""

from __future__ import annotations

import argparse
import contextlib
import selectors
import signal
import socket
import struct
import time

HEADER = struct.Struct(">4sBBHIIQ")
DAMAGEABLE = (ord("D"), ord("E"))


class Proxy:
    def __init__(self, target: tuple[str, int], drop: int, dup: int, swap: int, flip: int) -> None:
        self.target = target
        self.drop, self.dup, self.swap, self.flip = drop, dup, swap, flip
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.front.bind(("127.0.0.1", 0))
        self.front.settimeout(5)  # read only when ready; the timeout bounds a send
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.front, selectors.EVENT_READ, None)
        self.upstream: dict[tuple[str, int], socket.socket] = {}
        self.held: dict[tuple[str, int], bytes] = {}

    def _up(self, client: tuple[str, int]) -> socket.socket:
        sock = self.upstream.get(client)
        if sock is None:  # one upstream socket per client, so replies find their way back
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.settimeout(5)
            sock.connect(self.target)
            self.upstream[client] = sock
            self.sel.register(sock, selectors.EVENT_READ, client)
        return sock

    def from_client(self, data: bytes, client: tuple[str, int]) -> None:
        up = self._up(client)
        if len(data) < HEADER.size or data[4] not in DAMAGEABLE:
            self._flush(client, up)  # a report request must not overtake held data
            up.send(data)
            return
        seq = HEADER.unpack_from(data)[5]
        if self.drop and seq % self.drop == self.drop - 1:
            return
        if self.flip and data[4] == ord("E") and seq % self.flip == 1:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        if self.swap and seq % self.swap == self.swap // 2:
            self.held[client] = data
            return
        up.send(data)
        if self.dup and seq % self.dup == 0:
            up.send(data)
        self._flush(client, up)

    def _flush(self, client: tuple[str, int], up: socket.socket) -> None:
        data = self.held.pop(client, None)
        if data is not None:
            up.send(data)

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds  # never outlives a test that forgot it
        while time.monotonic() < deadline:
            for key, _ in self.sel.select(timeout=0.5):
                if key.data is None:
                    data, client = self.front.recvfrom(65536)
                    self.from_client(data, client)
                else:
                    try:
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    except ConnectionRefusedError:
                        continue
                    self.front.sendto(data, key.data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--to", required=True, metavar="HOST:PORT")
    parser.add_argument("--drop-every", type=int, default=0)
    parser.add_argument("--dup-every", type=int, default=0)
    parser.add_argument("--swap-every", type=int, default=0)
    parser.add_argument("--flip-every", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    host, port = args.to.rsplit(":", 1)
    proxy = Proxy(
        (host, int(port)), args.drop_every, args.dup_every, args.swap_every, args.flip_every
    )
    print(f"proxying on 127.0.0.1:{proxy.front.getsockname()[1]} to {args.to}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        proxy.run(args.seconds)


if __name__ == "__main__":
    main()
