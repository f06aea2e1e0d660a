"""`runner serve`: servers on their own, driven by specs, by hand-written clients and by attacks."""

from __future__ import annotations

import ctypes
import hashlib
import os
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent / "plugins"))
from net_background import serve

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

OK, NOT_FOUND, REFUSED, BAD_REQUEST = 0, 1, 2, 3


def recv_all(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(65536, size - len(data)))
        if not chunk:
            raise EOFError(f"closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def rnf1(address: tuple[str, int], op: bytes, name: bytes = b"") -> tuple[int, bytes]:
    """One request, written from docs/protocols.md alone: ``(status, body)``."""
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(b"RNF1" + op + struct.pack(">H", len(name)) + name)
        magic, status, length = struct.unpack(">4sBQ", recv_all(s, 13))
        assert magic == b"RNF1"
        return status, recv_all(s, length)


def test_serve_then_a_spec_with_server_downloads_and_verifies(runner_cli):
    with serve("tcp-files", "--files", "4", "--file-size", "65537", "--mode", "gevent") as srv:
        assert srv.host == "127.0.0.1" and srv.port > 0
        res = runner_cli.run_spec(
            f"""
            model: tcp
            params: {{workload: download, server: "{srv.address}", clients: 2, client: process}}
            repeat: 1
            warmup: 0
            expect:
              - {{metric: files_verified, min: 4}}
              - {{metric: bytes_lost, max: 0}}
            """
        )
        code, out, err = srv.interrupt()
    assert res.code == 0, res.stderr
    assert res.trials[0]["runs"][0]["metrics"]["files_verified"] == 4
    assert code == 130, err
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("stopped tcp-files after ")
    assert "5 connections, 5 requests" in summary  # the list, then the four files
    assert "0 refused, 0 not found, 0 bad requests, 0 timed out, 0 errors" in summary


@pytest.mark.parametrize("mode", ["sequential", "thread", "gevent"])
def test_serve_tcp_echo_for_a_spec(runner_cli, mode):
    with serve("tcp-echo", "--mode", mode) as srv:
        res = runner_cli.run_spec(
            f"""
            model: tcp
            params: {{workload: echo, server: "{srv.address}", clients: 3, messages: 20}}
            repeat: 1
            warmup: 0
            """
        )
        code, out, _ = srv.interrupt()
    assert res.code == 0, res.stderr
    m = res.trials[0]["runs"][0]["metrics"]
    assert (m["connections"], m["errors"]) == (3, 0)
    assert "peak_connections" not in m  # another process's server: not ours to count
    assert code == 130
    assert "3 connections" in out


def test_serve_udp_for_a_spec(runner_cli):
    with serve("udp") as srv:
        res = runner_cli.run_spec(
            f"""
            model: udp
            params: {{server: "{srv.address}", messages: 200}}
            matrix: {{workload: [echo, oneway]}}
            repeat: 1
            warmup: 0
            """
        )
        code, out, _ = srv.interrupt()
    assert res.code == 0, res.stderr
    for trial in res.trials:
        assert trial["status"] == "ok"
        assert trial["runs"][0]["metrics"]["sent"] == 200
    assert code == 130
    assert "1 sessions" in out  # the one-way run; echo keeps no state


@pytest.mark.parametrize("kind", ["udp", "tcp-echo", "tcp-files"])
def test_duration_stops_the_server_by_itself(runner_cli, kind):
    res = runner_cli.run("serve", kind, "--duration", "0.5", "--files", "1", timeout=60)
    assert res.code == 0, res.stderr
    first, *_, last = res.stdout.splitlines()
    assert first.startswith(f"serving {kind} on 127.0.0.1:")
    assert last.startswith(f"stopped {kind} after ")


def test_binding_beyond_loopback_warns(runner_cli):
    # 192.0.2.1 is reserved for documentation: it cannot be bound, so nothing is exposed.
    res = runner_cli.run("serve", "udp", "--bind", "192.0.2.1:0")
    assert "warning: 192.0.2.1 is not a loopback address" in res.stderr
    assert res.code == 2
    assert "serve udp on 192.0.2.1:0" in res.stderr


@pytest.mark.parametrize("bind", ["localhost", "127.0.0.1:70000", "::1:80"])
def test_bad_bind_is_a_usage_error(runner_cli, bind):
    res = runner_cli.run("serve", "tcp-echo", "--bind", bind)
    assert res.code == 2
    assert "--bind" in res.stderr


class OpenWatch:
    """inotify on one file: did anyone open or read it?"""

    IN_ACCESS, IN_OPEN = 0x1, 0x20

    def __init__(self, path: Path) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or self.libc.inotify_add_watch(
            self.fd, bytes(path), self.IN_ACCESS | self.IN_OPEN
        ) < 0:  # fmt: skip
            pytest.skip("inotify is not available")

    def events(self) -> int:
        seen = 0
        for _ in range(1000):
            try:
                seen += len(os.read(self.fd, 4096))
            except BlockingIOError:
                return seen
        return seen

    def close(self) -> None:
        os.close(self.fd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux only")
def test_file_server_refuses_every_escape_and_never_opens_the_outside_file(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_bytes(b"TOP-SECRET " * 10)
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "ok.bin").write_bytes(b"fine content")
    (root / "sub" / "inner.bin").write_bytes(b"inner")
    (root / "escape").symlink_to("../outside/secret.txt")
    (root / "evil_dir").symlink_to(outside)
    (root / "inside").symlink_to("ok.bin")
    (root / "alias").symlink_to("sub")  # a symlinked folder that stays inside
    os.mkfifo(root / "pipe")
    watch = OpenWatch(secret)  # from before the server starts: its start-up scan counts too
    try:
        with serve("tcp-files", "--root", str(root), "--mode", "sequential") as srv:
            address = (srv.host, srv.port)
            attacks = [
                b"../outside/secret.txt",
                b"sub/../../outside/secret.txt",
                bytes(secret),
                b"/etc/passwd",
                b"ok.bin\x00../outside/secret.txt",
                b"..\\outside\\secret.txt",
                b"sub\\..\\..\\outside\\secret.txt",
                b"a" * 2000,
                b"b" * 300,
                b"escape",
                b"evil_dir/secret.txt",
                b"pipe",
                b"sub",
                b"",
                b"./ok.bin",
                b"sub//inner.bin",
                b"\xff\xfe",
                b"ok.bin\n",
            ]
            for name in attacks:
                status, body = rnf1(address, b"G", name)
                assert status == REFUSED, (name, status, body)
                assert b"SECRET" not in body
            assert rnf1(address, b"G", b"%2e%2e/outside/secret.txt")[0] == NOT_FOUND
            assert rnf1(address, b"G", b"missing.bin")[0] == NOT_FOUND
            assert rnf1(address, b"G", b"ok.bin") == (OK, b"fine content")
            assert rnf1(address, b"G", b"sub/inner.bin") == (OK, b"inner")
            assert rnf1(address, b"G", b"inside") == (OK, b"fine content")
            assert rnf1(address, b"G", b"alias/inner.bin") == (OK, b"inner")
            status, listing = rnf1(address, b"L")
            assert status == OK
            names = [line.split(" ", 2)[2] for line in listing.decode().splitlines()]
            assert names == ["inside", "ok.bin", "sub/inner.bin"]
            digest = hashlib.sha256(b"fine content").hexdigest()
            assert f"12 {digest} ok.bin" in listing.decode()
            with socket.create_connection(address, timeout=10) as s:
                s.sendall(b"GET /ok.bin HTTP/1.0\r\n\r\n")
                assert struct.unpack(">4sBQ", recv_all(s, 13))[1] == BAD_REQUEST
            code, out, _ = srv.interrupt()
        assert code == 130
        assert f"{len(attacks)} refused, 2 not found, 1 bad requests" in out
        assert watch.events() == 0, "the file outside the root was opened"
        secret.read_bytes()  # the watch itself works: this open and read must show
        assert watch.events() > 0
    finally:
        watch.close()


def test_silent_and_trickling_clients_cannot_stall_a_sequential_server():
    with serve("tcp-files", "--mode", "sequential", "--timeout", "1", "--files", "2") as srv:
        address = (srv.host, srv.port)
        silent = socket.create_connection(address, timeout=10)  # connects, says nothing
        trickler = socket.create_connection(address, timeout=10)
        stop = threading.Event()

        def trickle() -> None:  # a valid request, one byte every 0.2 s
            for byte in b"RNF1G\x00\x0afile-0000.bin":
                if stop.wait(0.2):
                    return
                try:
                    trickler.send(bytes([byte]))
                except OSError:  # the server gave up on us: as it should
                    return

        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        try:
            started = time.monotonic()
            status, body = rnf1(address, b"G", b"file-0000.bin")
            waited = time.monotonic() - started
            assert status == OK and len(body) == 1 << 20
            # Queued behind two stalled connections, each cut off after its 1 s timeout;
            # 10 s only bounds a hang, it measures no speed.
            assert waited < 10
            assert silent.recv(1) == b""  # the server closed it
        finally:
            stop.set()
            t.join(5)
            silent.close()
            trickler.close()
        code, out, _ = srv.interrupt()
    assert code == 130
    assert "2 timed out" in out


@pytest.mark.parametrize("mode", ["thread", "gevent"])
def test_a_silent_client_is_cut_off_by_the_echo_server(mode):
    # The timeout is set once per connection (the kernel's, or the gevent server's idle
    # reaper), not per operation: it must still end a connection that says nothing.
    with serve("tcp-echo", "--mode", mode, "--timeout", "1") as srv:
        with socket.create_connection((srv.host, srv.port), timeout=10) as silent:
            started = time.monotonic()
            assert silent.recv(1) == b""  # the server closed it; 10 s only bounds a hang
            assert time.monotonic() - started >= 0.9
        code, out, _ = srv.interrupt()
    assert code == 130
    assert "1 timed out" in out
