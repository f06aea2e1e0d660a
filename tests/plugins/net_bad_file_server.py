"""An RNF1 file server that damages what it sends (tests only).

    python net_bad_file_server.py --fault flip|truncate [--files N] [--file-size B]

It is the real file server with one change: ``flip`` inverts one bit in the middle of
every file it sends, ``truncate`` announces the full length but sends only the first
half and closes.  Its file list (LIST) has the true sizes and sha256 of the files on
disk, so a client that checks what arrived must notice.
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from runner.builtins.net.fileroot import FileRoot, generate_files
from runner.builtins.net.fileserver import FileService
from runner.builtins.net.tcpserver import ServerStats, listen, serve_forever


class DamagingService(FileService):
    fault = "flip"

    def _chunked(self, conn: Any, fd: int, size: int) -> int:
        data = bytearray(os.pread(fd, size, 0))
        if self.fault == "truncate":
            conn.sendall(data[: size // 2])
            return size // 2
        if data:
            data[len(data) // 2] ^= 0x01
        conn.sendall(data)
        return size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fault", choices=("flip", "truncate"), required=True)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--file-size", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    with tempfile.TemporaryDirectory(prefix="net-bad-server-") as tmp:
        manifest = generate_files(Path(tmp), args.files, args.file_size)
        service = DamagingService(FileRoot(tmp), manifest, io_timeout=10)
        service.fault = args.fault
        listener = listen("127.0.0.1", 0)
        stop = threading.Event()
        timer = threading.Timer(args.seconds, stop.set)  # never outlives a forgetful test
        timer.daemon = True
        timer.start()
        print(f"serving damaged files on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
        try:
            serve_forever(listener, service, "thread", ServerStats(), 10, stop=stop)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()


if __name__ == "__main__":
    main()
