"""``runner serve``: one of the network servers on its own, until Ctrl-C (as ``iperf3 -s``).

Clients are the ``udp`` and ``tcp`` models with ``server: HOST:PORT`` in their params.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.errors import ExitCode, Interrupted, UsageError

if TYPE_CHECKING:
    from runner.plugins import PluginHost

KINDS = ("udp", "tcp-echo", "tcp-files")
_EPILOG = """\
The first line printed names the address actually bound (with --bind HOST:0, the port the
system chose).  Ctrl-C, SIGTERM or SIGHUP stops the server, prints a one-line summary and
exits 130, 143 or 129; with --duration it stops by itself after that many seconds and exits 0.

tcp-files serves the regular files under --root.  Without --root it generates --files
files of --file-size random bytes in a temporary directory, removed at exit.  Either way
it refuses names with '..', absolute paths, NUL bytes, backslashes, over-long names and
symlinks that leave the root.  There is no authentication: binding anything but a
loopback address exposes the server to the network, and a warning says so.

Example:  runner serve tcp-files --bind 127.0.0.1:5201
          then a spec with  model: tcp, params: {workload: download, server: 127.0.0.1:5201}
"""


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run a udp, tcp-echo or tcp-files server on its own",
        description="Run a server for the udp or tcp model's `server: HOST:PORT` until Ctrl-C.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", choices=KINDS, help="which server")
    p.add_argument(
        "--bind", default="127.0.0.1:0", metavar="HOST:PORT",
        help="address to listen on (default 127.0.0.1:0: loopback, a free port)",
    )  # fmt: skip
    p.add_argument(
        "--mode", choices=("sequential", "thread", "gevent"), default="thread",
        help="tcp: one connection at a time, or a thread or greenlet per connection (thread)",
    )  # fmt: skip
    p.add_argument("--root", type=Path, metavar="DIR", help="tcp-files: serve the files under DIR")
    p.add_argument(
        "--files", type=_count, default=10, help="tcp-files without --root: files to generate (10)"
    )
    p.add_argument(
        "--file-size", type=_count, default=1 << 20, metavar="BYTES",
        help="tcp-files without --root: bytes per generated file (1048576)",
    )  # fmt: skip
    p.add_argument(
        "--transfer",
        choices=("chunked", "sendfile"),
        default="chunked",
        help="tcp-files: how to send",
    )
    p.add_argument(
        "--chunk-size",
        type=_count,
        default=65536,
        metavar="BYTES",
        help="tcp-files: chunk size (65536)",
    )
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS",
        help="tcp: seconds any socket operation may wait; a silent client is dropped then (10)",
    )  # fmt: skip
    p.add_argument(
        "--rcvbuf",
        type=_count,
        default=0,
        metavar="BYTES",
        help="udp: SO_RCVBUF (0: system default)",
    )
    p.add_argument(
        "--duration", type=float, default=0, metavar="SECONDS",
        help="stop after SECONDS, as a test harness wants (default 0: until Ctrl-C)",
    )  # fmt: skip
    p.set_defaults(func=serve)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return int(text)


def serve(args: argparse.Namespace, host: PluginHost) -> int:
    from .address import format_hostport, is_loopback, parse_hostport

    try:
        bind_host, bind_port = parse_hostport(args.bind)
    except ValueError as exc:
        raise UsageError(f"--bind: {exc}") from None
    if not 0 < args.timeout <= 3600:
        raise UsageError("--timeout must be more than 0 and at most 3600 seconds")
    if not 0 <= args.duration < 1e9:
        raise UsageError("--duration must be 0 (no limit) or a number of seconds")
    if not is_loopback(bind_host):
        print(
            f"runner serve: warning: {bind_host} is not a loopback address: anyone who can reach "
            "this machine can use this server, which has no authentication",
            file=sys.stderr,
        )
    # A plain `kill` ends the server as Ctrl-C does: summary line, temporary files removed.
    # And Ctrl-C works even when started in the background by a script, which makes a
    # child ignore SIGINT unless it says otherwise.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a closed terminal too
        signal.signal(sig, _interrupt)
    started = time.monotonic()
    try:
        if args.kind == "udp":
            return _serve_udp(args, bind_host, bind_port, started, format_hostport)
        return _serve_tcp(args, bind_host, bind_port, started, format_hostport)
    except OSError as exc:
        raise UsageError(f"serve {args.kind} on {args.bind}: {exc.strerror or exc}") from None


def _interrupt(signum: int, frame: Any) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # once: the summary must print
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


def _announce(kind: str, address: tuple[Any, ...], fmt: Any, detail: str) -> None:
    print(f"serving {kind} on {fmt(address[0], address[1])} ({detail}); Ctrl-C to stop", flush=True)


def _stopper(duration: float) -> threading.Event:
    """An event set after ``duration`` seconds (never, for 0)."""
    stop = threading.Event()
    if duration:
        timer = threading.Timer(duration, stop.set)
        timer.daemon = True
        timer.start()
    return stop


def _serve_udp(args: argparse.Namespace, host: str, port: int, started: float, fmt: Any) -> int:
    from .udpserver import UdpServer, udp_socket

    sock = udp_socket(host, port, args.rcvbuf)
    server = UdpServer(sock)
    rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    code = ExitCode.OK
    try:  # announced inside: a signal right after the line still gets the summary
        _announce("udp", sock.getsockname(), fmt, f"receive buffer {rcvbuf} bytes")
        server.serve(_stopper(args.duration))
    except KeyboardInterrupt as exc:
        code = getattr(exc, "exit_code", ExitCode.INTERRUPTED)
    finally:
        sock.close()
    c = server.counters
    print(
        f"stopped udp after {time.monotonic() - started:.1f} s: {c['datagrams']} datagrams "
        f"({c['bytes'] / (1 << 20):.1f} MiB), {c['echoed']} echoed, {c['sessions']} sessions, "
        f"{c['stray']} stray",
        flush=True,
    )
    return code


def _serve_tcp(args: argparse.Namespace, host: str, port: int, started: float, fmt: Any) -> int:
    import shutil
    import tempfile

    from .limits import raise_nofile
    from .tcpserver import ServerStats, echo_handler, listen, serve_forever

    raise_nofile(who="runner serve")
    stats = ServerStats()
    scratch = None
    listener = listen(host, port)
    try:
        if args.kind == "tcp-files" and args.root is None:
            scratch = Path(tempfile.mkdtemp(prefix="runner-serve-"))
        if args.kind == "tcp-echo":
            handler: Any = echo_handler
            detail = f"mode {args.mode}"
        else:
            handler, detail = _file_service(args, scratch)
        code = ExitCode.OK
        try:  # announced inside: a signal right after the line still gets the summary
            _announce(args.kind, listener.getsockname(), fmt, detail)
            serve_forever(
                listener, handler, args.mode, stats, args.timeout, stop=_stopper(args.duration)
            )
        except KeyboardInterrupt as exc:
            code = getattr(exc, "exit_code", ExitCode.INTERRUPTED)
        print(_tcp_summary(args.kind, stats.snapshot(), time.monotonic() - started), flush=True)
        return code
    finally:  # also after Ctrl-C while files were still being generated
        listener.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _tcp_summary(kind: str, s: dict[str, int], seconds: float) -> str:
    mib = s["bytes"] / (1 << 20)
    if kind == "tcp-echo":
        detail = f"{mib:.1f} MiB echoed"
    else:
        detail = (
            f"{s['requests']} requests, {mib:.1f} MiB sent, {s['refused']} refused, "
            f"{s['not_found']} not found, {s['bad_requests']} bad requests"
        )
    return (
        f"stopped {kind} after {seconds:.1f} s: {s['accepted']} connections, {detail}, "
        f"{s['timeouts']} timed out, {s['errors']} errors"
    )


def _file_service(args: argparse.Namespace, scratch: Path | None) -> tuple[Any, str]:
    """The handler for tcp-files and its description: files under --root, or generated."""
    from .fileroot import FileRoot, generate_files
    from .fileserver import FileService

    if not 1 <= args.chunk_size <= 16 << 20:
        raise UsageError("--chunk-size must be from 1 to 16777216")
    if scratch is None:
        try:
            root = FileRoot(args.root)
        except OSError as exc:
            raise UsageError(f"--root {args.root}: {exc.strerror or exc}") from None
        manifest = root.manifest()
        where = str(args.root)
    else:
        if args.files * args.file_size > 4 << 30:
            raise UsageError("--files x --file-size exceeds 4 GiB")
        manifest = generate_files(scratch, args.files, args.file_size)
        root = FileRoot(scratch)
        where = f"generated in {scratch}"
    service = FileService(
        root,
        manifest,
        transfer=args.transfer,
        chunk_size=args.chunk_size,
        io_timeout=args.timeout,
        green=args.mode == "gevent",
    )
    total = sum(size for _, size, _ in manifest)
    detail = (
        f"{len(manifest)} files, {total / (1 << 20):.1f} MiB, {where}; "
        f"mode {args.mode}, transfer {args.transfer}"
    )
    return service, detail
