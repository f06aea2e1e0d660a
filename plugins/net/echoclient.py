"""TCP echo clients: connect, wait for all the others, then time round trips.

Every client connects first and waits at the gate, so all connections are open at once
(the c10k case) before any traffic starts.  A round trip sends ``payload_bytes`` and reads
them back; a reply that differs from what was sent is an error, not a round trip.
"""

from __future__ import annotations

import array
import dataclasses
import functools
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runner.errors import ModelError
from runner.percentiles import latency_metrics

from .fanout import Env, run_clients
from .fileproto import Truncated
from .idle import IdleReaper, is_kernel_timeout, kernel_timeouts

if TYPE_CHECKING:
    from .forker import Forker

_PATTERN = bytes(range(256)) * 4097
_INDEX = struct.Struct(">Q")


@dataclasses.dataclass
class EchoOutcome:
    connected_ns: int = 0  # when the connection was up (0: it never was)
    start_ns: int = 0
    end_ns: int = 0
    round_trips: int = 0
    errors: int = 0
    error: str = ""
    rtts: array.array = dataclasses.field(default_factory=lambda: array.array("q"))


@dataclasses.dataclass(frozen=True)
class Plan:
    """What every echo client shares."""

    family: int
    sockaddr: tuple[Any, ...]
    messages: int
    payload_bytes: int
    io_timeout: float
    deadline: float  # time.monotonic() by which the run must be over
    hold: bool  # keep every connection open until all clients are done
    reaper: IdleReaper | None = None  # gevent clients: stops one idle for io_timeout


def client_job(plan: Plan) -> Callable[[Env], EchoOutcome]:
    """The job of every client (module-level, for the forker of process clients)."""
    return functools.partial(echo_job, plan=plan)


def echo_job(env: Env, plan: Plan) -> EchoOutcome:
    """One client: connect, wait at the gate, ``messages`` timed round trips, maybe hold.

    A client passes each gate even after a failure, so the others are never left waiting.
    """
    out = EchoOutcome()
    sock = env.sockmod.socket(plan.family, socket.SOCK_STREAM)
    try:
        try:
            _connect(env, sock, plan)
            out.connected_ns = time.monotonic_ns()
        except OSError as exc:
            out.errors, out.error = 1, f"connect: {exc}"
        env.gate(max(0.0, plan.deadline - time.monotonic()))
        if out.connected_ns:
            _timed_round_trips(env, sock, plan, out)
        out.end_ns = time.monotonic_ns()
        if plan.hold:  # a concurrent server then holds every connection at once
            env.gate(max(0.0, plan.deadline - time.monotonic()))
    finally:
        sock.close()
    return out


def _connect(env: Env, sock: Any, plan: Plan) -> None:
    """Connect within ``io_timeout``: gevent's sockets under the run's idle reaper, as a
    timer per connection would be 10,000 timers for the c10k case."""
    if env.sockmod is socket or plan.reaper is None:
        sock.settimeout(plan.io_timeout)
        sock.connect(plan.sockaddr)
        return
    import gevent

    sock.settimeout(None)
    me = gevent.getcurrent()
    plan.reaper.watch(me, sock)
    try:
        sock.connect(plan.sockaddr)
    finally:
        plan.reaper.unwatch(me)


def _timed_round_trips(env: Env, sock: Any, plan: Plan, out: EchoOutcome) -> None:
    """The round trips, every wait bounded at no cost per operation (see plugins.net.idle).

    Standard sockets get the kernel's timeouts; gevent's are watched by the run's one
    idle reaper (where there is none, they keep their timeout per operation).
    """
    if env.sockmod is socket:
        kernel_timeouts(sock, plan.io_timeout)
        _round_trips(sock, plan, out)
        return
    if plan.reaper is None:
        _round_trips(sock, plan, out)
        return
    import gevent

    sock.settimeout(None)
    me = gevent.getcurrent()
    plan.reaper.watch(me, sock)
    try:
        _round_trips(sock, plan, out)
    finally:
        plan.reaper.unwatch(me)


def _round_trips(sock: Any, plan: Plan, out: EchoOutcome) -> None:
    size = plan.payload_bytes
    payload = bytearray(_PATTERN[:size])
    reply = bytearray(size)
    view = memoryview(reply)
    recv_into, sendall, now = sock.recv_into, sock.sendall, time.monotonic_ns
    deadline_ns = int(plan.deadline * 1e9)  # time.monotonic() and monotonic_ns share a clock
    out.start_ns = now()
    try:
        for i in range(plan.messages):
            if size >= _INDEX.size:  # a reply to an earlier message cannot pass for this one
                _INDEX.pack_into(payload, 0, i)
            t0 = now()
            sendall(payload)
            got = 0
            while got < size:
                n = recv_into(view[got:])
                if not n:
                    raise Truncated(got, size)
                got += n
            t1 = now()
            if reply != payload:
                out.errors, out.error = out.errors + 1, f"message {i}: the echo differs"
                return
            out.rtts.append(t1 - t0)
            out.round_trips += 1
            if t1 > deadline_ns:
                out.errors, out.error = out.errors + 1, "run deadline reached"
                return
    except (OSError, Truncated) as exc:
        if is_kernel_timeout(exc):
            exc = TimeoutError(f"no progress within io_timeout {plan.io_timeout:g} s")
        out.errors, out.error = out.errors + 1, f"{type(exc).__name__}: {exc}"


def run_echo(
    kind: str,
    clients: int,
    address: tuple[str, int],
    *,
    messages: int,
    payload_bytes: int,
    io_timeout: float,
    timeout: float,
    hold: bool,
    forker: Forker | None = None,
) -> dict[str, float]:
    """Run the echo workload against ``address``; return the tcp model's echo metrics.

    :param hold: keep every connection open until all clients are done.  Only for a
        server that serves connections concurrently: a sequential one would wait for the
        first client to close while that client waits for the others.
    :param forker: the trial's started :class:`~.forker.Forker`, for process clients.
    """
    from .address import resolve

    family, sockaddr = resolve(address[0], address[1], socket.SOCK_STREAM)
    start = time.monotonic_ns()
    deadline = time.monotonic() + timeout
    reaper = IdleReaper(io_timeout) if kind == "gevent" and IdleReaper.available() else None
    plan = Plan(family, sockaddr, messages, payload_bytes, io_timeout, deadline, hold, reaper)
    try:
        outcomes = run_clients(kind, clients, client_job, plan, timeout, forker=forker)
    finally:
        if reaper is not None:
            reaper.stop()
    connected = [o for o in outcomes if o.connected_ns]
    errors = sum(o.errors for o in outcomes)
    if not connected:
        raise ModelError(
            f"no client could connect to {address[0]}:{address[1]}: {outcomes[0].error}"
        )
    metrics: dict[str, float] = {
        "connections": len(connected),
        "connect_s": (max(o.connected_ns for o in connected) - start) / 1e9,
        "errors": errors,
    }
    timed = [o for o in connected if o.start_ns]
    round_trips = sum(o.round_trips for o in outcomes)
    if timed and round_trips:
        span = max(o.end_ns for o in timed) - min(o.start_ns for o in timed)
        metrics["round_trips_per_s"] = round_trips / (span / 1e9)
        metrics.update(latency_metrics(x for o in outcomes for x in o.rtts))
    return metrics
