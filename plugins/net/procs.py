"""Servers in their own process, forked from the trial and always cleaned up.

A server beside its clients, rather than in the same process, keeps the two from sharing
one interpreter lock and one open-files limit, as on two machines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.errors import ModelError

Ready = Callable[[Any], None]


class ServerProcess:
    """Runs ``target(ready, **kwargs)`` in a forked child.

    ``start()`` returns what the child passed to ``ready``: its address, and whatever else
    the clients need to know.
    """

    def __init__(
        self, name: str, target: Callable[..., None], cpus: list[int] | None = None, **kwargs: Any
    ) -> None:
        self.name = name
        self.target = target
        self.cpus = cpus  # the server's CPUs (``server_cpus``); None: the trial's
        self.kwargs = kwargs
        self.proc: Any = None

    def start(self, timeout: float) -> Any:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        reader, writer = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=_child,
            args=(writer, self.target, self.kwargs, self.cpus),
            name=self.name,
            daemon=True,
        )
        self.proc.start()
        writer.close()
        try:
            if not reader.poll(timeout):
                raise ModelError(f"{self.name} did not start within {timeout:g} s")
            try:
                kind, payload = reader.recv()
            except EOFError:
                self.proc.join(1)
                raise ModelError(
                    f"{self.name} exited while starting (code {self.proc.exitcode})"
                ) from None
        except BaseException:
            self.stop()
            raise
        finally:
            reader.close()
        if kind == "error":
            self.stop()
            raise ModelError(f"{self.name} failed to start: {payload}")
        return payload

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate, wait, kill if it must: no child is left behind."""
        proc = self.proc
        if proc is None:
            return
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout)
        self.proc = None


def _child(
    writer: Any, target: Callable[..., None], kwargs: dict[str, Any], cpus: list[int] | None
) -> None:
    def ready(info: Any) -> None:
        writer.send(("ready", info))
        writer.close()

    try:
        from runner.affinity import pin

        pin(cpus)
        target(ready, **kwargs)
    except BaseException as exc:
        from runner.errors import ModelError

        message = str(exc) if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}"
        # After ready the pipe is closed: the parent sees the server stop serving instead.
        with contextlib.suppress(OSError):
            writer.send(("error", message))


# -- server targets (run in the child) -------------------------------------------------


def tcp_echo_server(
    ready: Ready,
    *,
    connections: int,
    mode: str,
    io_timeout: float,
    stats: Any,
    host: str = "127.0.0.1",
    port: int = 0,
) -> None:
    from .limits import raise_nofile
    from .tcpserver import echo_handler, listen, serve_forever

    raise_nofile(connections + 64, who="the echo server")
    listener = listen(host, port)
    ready(listener.getsockname()[:2])
    serve_forever(listener, echo_handler, mode, stats, io_timeout)


def tcp_file_server(
    ready: Ready,
    *,
    connections: int,
    root: Path,
    files: int,
    file_size: int,
    mode: str,
    transfer: str,
    chunk_size: int,
    io_timeout: float,
    stats: Any,
    host: str = "127.0.0.1",
    port: int = 0,
) -> None:
    from .fileroot import FileRoot, generate_files
    from .fileserver import FileService
    from .limits import raise_nofile
    from .tcpserver import listen, serve_forever

    raise_nofile(connections + 64, who="the file server")
    manifest = generate_files(root, files, file_size)
    service = FileService(
        FileRoot(root),
        manifest,
        transfer=transfer,
        chunk_size=chunk_size,
        io_timeout=io_timeout,
        green=mode == "gevent",
    )
    listener = listen(host, port)
    ready({"address": listener.getsockname()[:2], "manifest": manifest})
    serve_forever(listener, service, mode, stats, io_timeout)


def udp_server(ready: Ready, *, rcvbuf: int, host: str = "127.0.0.1", port: int = 0) -> None:
    from .udpserver import UdpServer, udp_socket

    sock = udp_socket(host, port, rcvbuf)
    ready(sock.getsockname()[:2])
    UdpServer(sock).serve()
