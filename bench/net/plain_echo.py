"""Plain-script twin of specs/echo_KIND.yaml: 100 clients, 64-byte round trips.

    python plain_echo.py thread|gevent [--clients 100] [--messages 200] [--repeat 3] [--warmup 1]
                         [--timeouts] [--connect]

The server is a forked process of the same kind (a thread or a greenlet per connection),
the clients threads or greenlets (gevent's own sockets, no monkey patching), each
checking that the echo is what it sent.  Bare sockets: no timeout unless ``--timeouts``,
which sets one on every socket, as a careful hand-written script would.  Prints the
median round trips/s (all clients, first round trip to last), as JSON; with
``--connect`` (the c10k item), the seconds until every client was connected.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

PAYLOAD = 64


def serve(kind: str, listener: socket.socket, timeout: float | None) -> None:
    signal.alarm(120)  # never outlive the bench

    def handle(conn, *_):
        conn.settimeout(timeout)
        buf = bytearray(2048)
        view = memoryview(buf)
        try:
            while True:
                n = conn.recv_into(buf)
                if not n:
                    break
                conn.sendall(view[:n])
        except OSError:
            pass
        finally:
            conn.close()

    if kind == "gevent":
        from gevent.server import StreamServer

        listener.setblocking(False)
        StreamServer(listener, handle).serve_forever()
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def client(sockmod, address, messages, timeout, gate, spans, i) -> None:  # noqa: PLR0917
    sock = sockmod.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(address)
    connected = time.monotonic_ns()
    gate()
    payload = bytearray(bytes(range(PAYLOAD)))
    reply = bytearray(PAYLOAD)
    view = memoryview(reply)
    t0 = time.monotonic_ns()
    for m in range(messages):
        payload[0:8] = m.to_bytes(8, "big")
        sock.sendall(payload)
        got = 0
        while got < PAYLOAD:
            n = sock.recv_into(view[got:])
            if not n:
                raise ConnectionError("closed")
            got += n
        if reply != payload:
            raise ValueError("echo differs")
    spans[i] = (t0, time.monotonic_ns(), connected)
    gate()  # hold every connection until all are done
    sock.close()


def once(kind: str, clients: int, messages: int, timeout: float | None, connect: bool) -> float:
    started = time.monotonic_ns()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    address = listener.getsockname()
    pid = os.fork()
    if pid == 0:
        try:
            serve(kind, listener, timeout)
        finally:
            os._exit(0)
    listener.close()
    spans: list = [None] * clients
    try:
        if kind == "gevent":
            import gevent
            from gevent import socket as gsocket
            from gevent.event import Event

            arrived, events = [0], [Event(), Event()]

            def ggate():
                event = events[arrived[0] // clients]
                arrived[0] += 1
                if arrived[0] % clients == 0:
                    event.set()
                event.wait()

            glets = [gevent.spawn(client, gsocket, address, messages, timeout, ggate, spans, i)
                     for i in range(clients)]  # fmt: skip
            gevent.joinall(glets, raise_error=True)
        else:
            barrier = threading.Barrier(clients)
            threads = [threading.Thread(target=client, args=(socket, address, messages, timeout,
                                                             barrier.wait, spans, i))
                       for i in range(clients)]  # fmt: skip
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if connect:
        return (max(s[2] for s in spans) - started) / 1e9
    start = min(s[0] for s in spans)
    end = max(s[1] for s in spans)
    return clients * messages / ((end - start) / 1e9)


def main() -> None:
    import argparse
    import json
    import statistics

    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=("thread", "gevent"))
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--timeouts", action="store_true", help="a timeout on every socket")
    ap.add_argument("--connect", action="store_true", help="report seconds until all are up")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    timeout = 10.0 if args.timeouts else None
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # c10k: both ends, two processes
    runs = [once(args.kind, args.clients, args.messages, timeout, args.connect)
            for _ in range(args.warmup + args.repeat)][args.warmup:]  # fmt: skip
    print(json.dumps({"value": statistics.median(runs), "runs": runs}))


if __name__ == "__main__":
    main()
