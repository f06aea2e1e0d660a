"""Plain-script twin of specs/download_KIND.yaml: 50 files x 1 MiB to 8 clients.

    python plain_download.py thread|process|gevent [--files 50] [--size 1048576]
                             [--clients 8] [--chunk 65536] [--after]
                             [--repeat 3] [--warmup 1]

A thread-per-connection server in a forked process sends each file with sendfile after an
8-byte length; each client takes the next file, one connection per file, receives it into
a 64 KiB buffer and checks its sha256 as the bytes arrive, inside the timed window.
With ``--after`` (thread and gevent clients), the twin of ``verify: after`` without
saving: every file is received into one memory arena, made and touched before the first
run, and checked once the last transfer is over, outside the timed window.
Prints the median MiB/s of verified files (first request to last file received), as JSON.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import signal
import socket
import struct
import tempfile
import threading
import time

CHUNK = 65536


def serve(listener: socket.socket, paths: list[str]) -> None:
    signal.alarm(300)  # never outlive the bench

    def handle(conn: socket.socket) -> None:
        with conn:
            (index,) = struct.unpack(">I", conn.recv(4))
            with open(paths[index], "rb") as f:
                size = os.fstat(f.fileno()).st_size
                conn.sendall(struct.pack(">Q", size))
                conn.sendfile(f)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def fetch(sockmod, address, index: int, digest: str, *, chunk: int = CHUNK,
          keep: memoryview | None = None) -> bool:  # fmt: skip
    """One file; True when it is whole and, unless kept for later, its sha256 matches."""
    sock = sockmod.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    with sock:
        sock.connect(address)
        sock.sendall(struct.pack(">I", index))
        head = b""
        while len(head) < 8:
            head += sock.recv(8 - len(head))
        (size,) = struct.unpack(">Q", head)
        if keep is not None:
            return _receive_into(sock, keep, size, chunk)
        h = hashlib.sha256()
        buf = bytearray(chunk)
        view = memoryview(buf)
        got = 0
        while got < size:
            n = sock.recv_into(view[: min(chunk, size - got)])
            if not n:
                return False
            h.update(view[:n])
            got += n
    return h.hexdigest() == digest


def _receive_into(sock, keep: memoryview, size: int, chunk: int) -> bool:
    got = 0
    while got < size:
        n = sock.recv_into(keep[got : got + chunk])
        if not n:
            return False
        got += n
    return got == len(keep)


def arena(files: int, size: int) -> list[memoryview]:
    """A view per file into one private mapping, in huge pages where allowed, touched now
    so that no page fault falls inside the timed window."""
    whole = mmap.mmap(-1, max(files * size, 1), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        whole.madvise(mmap.MADV_HUGEPAGE)
    zeros = bytes(1 << 20)
    for at in range(0, files * size, len(zeros)):
        whole[at : at + len(zeros)] = zeros[: files * size - at]
    view = memoryview(whole)
    return [view[i * size : (i + 1) * size] for i in range(files)]


def once(kind: str, address, digests: list[str], clients: int, size: int, *,
         chunk: int = CHUNK, kept: list[memoryview] | None = None) -> float:  # fmt: skip
    files = len(digests)
    t0 = time.perf_counter()
    if kind == "process":
        counter = _shared_counter()
        pids = []
        for _ in range(clients):
            pid = os.fork()
            if pid == 0:
                ok = True
                while (i := counter()) < files:
                    ok &= fetch(socket, address, i, digests[i], chunk=chunk)
                os._exit(0 if ok else 1)
            pids.append(pid)
        bad = sum(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) != 0 for p in pids)
    else:
        counter = itertools.count().__next__
        results: list[bool] = []

        def job(sockmod) -> None:
            while (i := counter()) < files:
                keep = kept[i] if kept is not None else None
                results.append(fetch(sockmod, address, i, digests[i], chunk=chunk, keep=keep))

        if kind == "gevent":
            import gevent
            from gevent import socket as gsocket

            gevent.joinall([gevent.spawn(job, gsocket) for _ in range(clients)], raise_error=True)
        else:
            threads = [threading.Thread(target=job, args=(socket,)) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        bad = files - sum(results)
    wall = time.perf_counter() - t0
    if kept is not None:
        bad += sum(hashlib.sha256(kept[i]).hexdigest() != digests[i] for i in range(files))
    if bad:
        raise SystemExit(f"{bad} files failed their check")
    return files * size / (1 << 20) / wall


def _shared_counter():
    import multiprocessing

    value = multiprocessing.get_context("fork").Value("q", 0)

    def take() -> int:
        with value.get_lock():
            v = value.value
            value.value = v + 1
        return v

    return take


def main() -> None:
    import argparse
    import json
    import statistics

    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=("thread", "process", "gevent"))
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--chunk", type=int, default=CHUNK, help="receive size, bytes")
    ap.add_argument("--after", action="store_true", help="check sha256 after the window")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    if args.after and args.kind == "process":
        ap.error("--after keeps the files in this process: use thread or gevent clients")
    with tempfile.TemporaryDirectory(prefix="plain-download-") as root:
        paths, digests = [], []
        for i in range(args.files):
            data = os.urandom(args.size)
            path = os.path.join(root, f"{i:06d}.bin")
            with open(path, "wb") as f:
                f.write(data)
            paths.append(path)
            digests.append(hashlib.sha256(data).hexdigest())
        listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        address = listener.getsockname()
        pid = os.fork()
        if pid == 0:
            try:
                serve(listener, paths)
            finally:
                os._exit(0)
        listener.close()
        kept = arena(args.files, args.size) if args.after else None
        try:
            runs = [once(args.kind, address, digests, args.clients, args.size,
                         chunk=args.chunk, kept=kept)
                    for _ in range(args.warmup + args.repeat)][args.warmup:]  # fmt: skip
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    print(json.dumps({"value": statistics.median(runs), "runs": runs}))


if __name__ == "__main__":
    main()
