"""Plain-script twin of specs/udp_oneway.yaml: one sender, one receiver process, 1400 B.

    python plain_udp.py oneway|bare|echo [--messages N] [--size B] [--repeat 5] [--warmup 1]

``oneway`` keeps the same sequence bookkeeping as runner's receiver (distinct, duplicate
and reordered datagrams, RFC 3550 jitter, first and last arrival), written inline in the
loop as one would by hand; ``bare`` only counts datagrams and takes the first and last
arrival.  Prints the median received datagrams/s (first to last arrival), as JSON.
``echo``: stop-and-wait round trips against a forked echo server, each reply checked
against its request (sequence number and padding); prints round trips/s.
"""

from __future__ import annotations

import os
import socket
import struct
import time

HEADER = struct.Struct(">4sBBHIIQ")  # runner's RNU1 header: the same bytes on the wire
DATA, END = ord("D"), ord("Z")


def receiver(sock: socket.socket, bare: bool, messages: int, pipe: int) -> None:
    buf = bytearray(65536)
    recv, now, unpack = sock.recv_into, time.monotonic_ns, HEADER.unpack_from
    seen = bytearray(messages)
    received = duplicates = reordered = 0
    max_seq, last_transit, jitter, first = -1, None, 0.0, 0
    last = 0
    while True:
        recv(buf)
        arrived = now()
        if bare:
            if buf[4] == END:
                break
            received += 1
            if not first:
                first = arrived
            last = arrived
            continue
        mark, kind, _, _, _, seq, stamp = unpack(buf)
        if kind == END:
            break
        if kind != DATA or mark != b"RNU1" or seq >= messages:
            continue
        if seen[seq]:
            duplicates += 1
            continue
        seen[seq] = 1
        received += 1
        if seq < max_seq:
            reordered += 1
        else:
            max_seq = seq
        transit = arrived - stamp
        if last_transit is not None:
            jitter += (abs(transit - last_transit) - jitter) / 16.0
        last_transit = transit
        if not first:
            first = arrived
        last = arrived
    os.write(pipe, struct.pack(">QQQ", received, first, last))


def once(bare: bool, messages: int, size: int) -> float:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        signal_alarm(60)
        receiver(rx, bare, messages, w)
        os._exit(0)
    os.close(w)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.connect(rx.getsockname())
    packet = bytearray(size)
    HEADER.pack_into(packet, 0, b"RNU1", DATA, 0, 0, 1, 0, 0)
    send, pack, now = tx.send, struct.Struct(">IQ").pack_into, time.monotonic_ns
    for i in range(messages):
        pack(packet, 12, i, now())
        send(packet)
    end = HEADER.pack(b"RNU1", END, 0, 0, 1, 0, 0)
    result = b""
    for _ in range(200):  # the end marker may be dropped too: repeat until the receiver reports
        tx.send(end)
        time.sleep(0.005)
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
    result = os.read(r, 24)
    os.close(r)
    tx.close()
    rx.close()
    received, first, last = struct.unpack(">QQQ", result)
    return received / (max(1, last - first) / 1e9)


def echo_once(messages: int, size: int) -> float:
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    pid = os.fork()
    if pid == 0:
        signal_alarm(120)
        buf = bytearray(65536)
        view = memoryview(buf)
        while True:
            n, addr = srv.recvfrom_into(buf)
            srv.sendto(view[:n], addr)
    cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cli.settimeout(0.5)  # a lost datagram must not stop the loop
    cli.connect(srv.getsockname())
    request = bytearray(size)
    reply = bytearray(65536)
    pack, now = struct.Struct(">IQ").pack_into, time.monotonic_ns
    done = 0
    t0 = now()
    for i in range(messages):
        pack(request, 12, i, now())
        cli.send(request)
        try:
            n = cli.recv_into(reply)
        except TimeoutError:
            continue
        done += n == size and reply[:size] == request
    elapsed = now() - t0
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    cli.close()
    srv.close()
    return done / (elapsed / 1e9)


def signal_alarm(seconds: int) -> None:
    import signal

    signal.alarm(seconds)  # a receiver that never sees the end marker dies, never hangs


def main() -> None:
    import argparse
    import json
    import statistics

    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("oneway", "bare", "echo"))
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=1400)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    if args.mode == "echo":
        runs = [echo_once(args.messages, args.size)
                for _ in range(args.warmup + args.repeat)][args.warmup:]  # fmt: skip
    else:
        runs = [once(args.mode == "bare", args.messages, args.size)
                for _ in range(args.warmup + args.repeat)][args.warmup:]  # fmt: skip
    print(json.dumps({"value": statistics.median(runs), "runs": runs}))


if __name__ == "__main__":
    main()
