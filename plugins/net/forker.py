"""Process clients forked from a small interpreter of their own, started for the trial.

Forking the trial process itself, which holds runner and the models (37 MiB against a
plain script's 14 when this was measured, with pydantic), cost the download's process
clients a fifth of their speed: the fork, each child's copy-on-write faults and its exit
all grow with the parent.  The forker is a fresh interpreter that imports only the
clients' code.  It is started before the first run and stopped with the trial; each run
asks it once, over a pipe, to run the clients, and gets their results back: it is client
0 itself and forks the others (``fanout.fork_clients``).

The request is pickled: ``make_job(arg)``, called in the forker before it forks, gives
the job every client runs, so ``make_job`` must be a module-level function and ``arg``
picklable.  The forker exits when its request pipe closes, and on its parent's death.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from runner.errors import ModelError

A = TypeVar("A")
R = TypeVar("R")

_HEAD = struct.Struct(">Q")
_BOOT = "import sys; sys.path[:] = {path!r}; from {module} import serve; serve({args})"
STOP_GRACE_S = 5.0
REPLY_GRACE_S = 10.0  # after the clients' own timeout: the forker kills and reaps them first


class Forker:
    """The trial's side: start it, ask it to run clients, stop it."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self._requests = -1  # write end of the forker's request pipe
        self._replies = -1  # read end of its reply pipe

    def start(self, preload: Iterable[str] = (), timeout: float = 60.0) -> None:
        """Start the forker; return once it has imported ``preload`` (module names), so
        that no run pays for those imports."""
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        args = f"{req_r}, {rep_w}, {os.getpid()}, {list(preload)!r}"
        boot = _BOOT.format(path=list(sys.path), module=__name__, args=args)
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", boot], pass_fds=(req_r, rep_w))
        finally:
            os.close(req_r)
            os.close(rep_w)
        self._requests, self._replies = req_w, rep_r
        try:
            ready = self._receive(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        if ready[0] != "ready":
            self.stop()
            raise ModelError(f"the client forker failed to start: {ready[1]}")

    def run(self, count: int, make_job: Callable[[A], Callable[[Any], R]], arg: A,
            timeout: float) -> list[R]:  # fmt: skip
        """``make_job(arg)`` in ``count`` client processes; their results in client order.

        :raises ModelError: as ``fanout.run_clients``, or the forker itself failed.
        """
        if self.proc is None:
            raise RuntimeError("the client forker is not started")
        try:
            _send(self._requests, (count, make_job, arg, timeout))
        except BrokenPipeError:
            raise ModelError(f"the client forker exited (code {self._exit_code()})") from None
        status, value = self._receive(time.monotonic() + timeout + REPLY_GRACE_S)
        if status != "ok":
            raise ModelError(value)
        return value  # type: ignore[no-any-return]

    def _receive(self, end: float) -> tuple[str, Any]:
        try:
            return _recv(self._replies, end)
        except EOFError:
            raise ModelError(f"the client forker exited (code {self._exit_code()})") from None
        except TimeoutError:
            raise ModelError("the client forker did not answer in time") from None

    def _exit_code(self) -> int | None:
        try:
            return self.proc.wait(STOP_GRACE_S) if self.proc is not None else None
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Close its pipe (it exits), wait, kill if it must: nothing is left behind."""
        for fd in (self._requests, self._replies):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._requests = self._replies = -1
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(requests: int, replies: int, parent: int, preload: list[str]) -> None:
    """The forker's whole life: run requests until the pipe closes."""
    import importlib

    from runner import containment

    containment.die_with_parent(parent)
    try:
        for name in preload:
            importlib.import_module(name)
        from .fanout import fork_clients

        _send(replies, ("ready", None))
        while True:
            try:
                count, make_job, arg, timeout = _recv(requests, None)
            except EOFError:
                return
            try:
                reply: tuple[str, Any] = ("ok", fork_clients(count, make_job(arg), timeout))
            except ModelError as exc:
                reply = ("error", str(exc))
            except Exception as exc:  # said to the trial, which raises it
                reply = ("error", f"client forker: {type(exc).__name__}: {exc}")
            _send(replies, reply)
    except KeyboardInterrupt:  # the session is interrupted: the trial says so, not this
        pass
    except BaseException as exc:  # said to the trial, then gone
        with contextlib.suppress(OSError):
            _send(replies, ("error", f"client forker: {type(exc).__name__}: {exc}"))
    finally:
        os._exit(0)


def _send(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEAD.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _recv(fd: int, end: float | None) -> Any:
    """One pickled message; EOFError when the pipe ends, TimeoutError after ``end``
    (None: wait as long as it takes, with no selector)."""
    with contextlib.ExitStack() as stack:
        sel = None
        if end is not None:
            sel = stack.enter_context(selectors.DefaultSelector())
            sel.register(fd, selectors.EVENT_READ)
        head = _read_exact(fd, _HEAD.size, sel, end)
        return pickle.loads(_read_exact(fd, _HEAD.unpack(head)[0], sel, end))


def _read_exact(fd: int, size: int, sel: Any, end: float | None) -> bytes:
    """``size`` bytes from ``fd``; ``sel`` watches it whenever ``end`` is given."""
    out = bytearray()
    while len(out) < size:
        if end is not None:
            wait = end - time.monotonic()
            if wait <= 0 or not sel.select(wait):
                raise TimeoutError
        chunk = os.read(fd, size - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return bytes(out)
