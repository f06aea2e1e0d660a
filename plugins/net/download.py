"""Download clients: take the next file from the shared list, fetch it, verify it.

Each file is one RNF1 request on its own connection.  A file counts as verified only when
the server said OK, the announced length is the listed size, every byte arrived and the
sha256 of what arrived is the listed one.  Downloads are written under the run's own
directory by list index, never by a name the server chose.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import mmap
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import ModelError
from runner.percentiles import percentile

from . import fileproto as proto
from .fanout import Env, run_clients
from .idle import is_kernel_timeout, kernel_timeouts
from .limits import KEPT_MAX_BYTES
from .slowclient import slow_sockmod  # here, not in each client: a forked one would import it

if TYPE_CHECKING:
    from .forker import Forker

Entry = tuple[str, int, str]  # name, size, sha256 hex
# index, outcome, bytes received, latency ns, detail
Fetch = tuple[int, str, int, int, str]

MAX_LIST_BYTES = 64 << 20

_STATUS_OUTCOME = {
    proto.Status.NOT_FOUND: "not_found",
    proto.Status.REFUSED: "refused",
    proto.Status.BAD_REQUEST: "bad_request",
    proto.Status.SERVER_ERROR: "server_error",
}


@dataclasses.dataclass(frozen=True)
class Plan:
    """What every download client shares: where, which files, how."""

    family: int
    sockaddr: tuple[Any, ...]
    manifest: list[Entry]
    chunk_size: int
    io_timeout: float
    deadline: float  # time.monotonic() by which the run must be over
    save_dir: Path | None
    rate_mib_s: float | None = None  # each client's read rate at most; None: flat out
    think_ms: float = 0.0  # each client's pause on the open connection before a request
    verify: str = "inline"  # inline | after | size: see plugins.tcp's ``verify``
    shared: bool = False  # process clients: the arena below is shared by all of them
    # verify: after, nothing saved: where each file's bytes go, by list index (see _arena)
    kept: list[memoryview] | None = None


def client_job(plan: Plan) -> Callable[[Env], tuple[list[Fetch], int]]:
    """The job of every client, made where they start (for process clients, in the
    forker, before it forks them): the arena of ``verify: after`` is made here."""
    if plan.verify == "after" and plan.save_dir is None:
        plan = dataclasses.replace(plan, kept=_arena(plan.manifest, plan.shared))
    return functools.partial(download_job, plan=plan)


def fetch(sockmod: Any, plan: Plan, index: int) -> tuple[str, int, str]:
    """Fetch file ``index`` of the list; return ``(outcome, bytes received, detail)``.

    The outcome is ``ok`` only for a verified file; ``unchecked`` for one whose sha256 is
    left for after the timed window (``verify: after``): its bytes are then in
    ``plan.kept[index]``, or in its saved file.
    """
    name, size, digest = plan.manifest[index]
    got = 0
    sock = sockmod.socket(plan.family, socket.SOCK_STREAM)
    save_to = plan.save_dir / f"{index:06d}.bin" if plan.save_dir is not None else None
    out = open(save_to, "wb") if save_to is not None else None  # noqa: SIM115 - closed below
    try:
        sock.settimeout(plan.io_timeout)
        sock.connect(plan.sockaddr)
        if sockmod is socket:  # from here the kernel bounds each wait: no poll per call
            kernel_timeouts(sock, plan.io_timeout)
        sock.sendall(proto.encode_request(proto.OP_GET, name))
        status, length = proto.read_response(sock, time.monotonic() + plan.io_timeout)
        if status != proto.Status.OK:
            reason = proto.recv_exact(sock, min(length, proto.MAX_ERROR_BODY))
            return _STATUS_OUTCOME[status], 0, reason.decode("utf-8", "replace")
        if length != size:
            return "length", 0, f"server announced {length} bytes, the list says {size}"
        if plan.verify == "after" and out is None and plan.kept is not None:
            return _receive_into(sock, plan.kept[index], plan)
        if plan.verify != "inline":
            return _receive_unhashed(sock, out, length, plan)
        h = hashlib.sha256()
        buf = bytearray(plan.chunk_size)
        view = memoryview(buf)
        while got < length:
            n = sock.recv_into(view[: min(plan.chunk_size, length - got)])
            if n == 0:
                return "truncated", got, f"closed after {got} of {length} bytes"
            h.update(view[:n])
            if out is not None:
                out.write(view[:n])
            got += n
            if time.monotonic() > plan.deadline:
                return "timeout", got, "run deadline reached"
        if h.hexdigest() != digest:
            return "corrupt", got, "sha256 differs from the list"
        return "ok", got, ""
    except TimeoutError as exc:
        return "timeout", got, str(exc) or "timed out"
    except OSError as exc:
        return _failed(exc, got, plan)
    except (proto.ProtocolError, proto.Truncated) as exc:
        return "error", got, f"{type(exc).__name__}: {exc}"
    finally:
        sock.close()
        if out is not None:
            out.close()


def download_job(env: Env, plan: Plan) -> tuple[list[Fetch], int]:
    """One client: fetch files from the shared list until it is exhausted.

    Returns what it fetched and when its last transfer ended (``time.monotonic_ns``),
    before any hashing left for after the timed window.
    """
    sockmod = slow_sockmod(env.sockmod, plan.rate_mib_s, plan.think_ms, env.sleep)
    done: list[Fetch] = []
    for _ in range(len(plan.manifest)):  # bounded: never more files than the list holds
        index = env.take()
        if index >= len(plan.manifest) or time.monotonic() > plan.deadline:
            break
        t0 = time.monotonic_ns()
        outcome, got, detail = fetch(sockmod, plan, index)
        done.append((index, outcome, got, time.monotonic_ns() - t0, detail))
    transfers_end = time.monotonic_ns()
    if plan.verify == "after":
        done = _verify_after(env, plan, done)
    return done, transfers_end


def _receive_into(sock: Any, body: memoryview, plan: Plan) -> tuple[str, int, str]:
    """Receive straight into ``body`` (no copy, no hash) until it is full."""
    got, length, chunk = 0, len(body), plan.chunk_size
    recv_into = sock.recv_into
    try:
        while got < length:
            n = recv_into(body[got : got + chunk])
            if n == 0:
                return "truncated", got, f"closed after {got} of {length} bytes"
            got += n
            if time.monotonic() > plan.deadline:
                return "timeout", got, "run deadline reached"
    except OSError as exc:
        return _failed(exc, got, plan)
    return "unchecked", got, ""


def _failed(exc: OSError, got: int, plan: Plan) -> tuple[str, int, str]:
    if is_kernel_timeout(exc) or isinstance(exc, TimeoutError):
        return "timeout", got, f"no data for io_timeout {plan.io_timeout:g} s"
    return "error", got, f"{type(exc).__name__}: {exc}"


def _receive_unhashed(sock: Any, out: Any, length: int, plan: Plan) -> tuple[str, int, str]:
    """``verify: size`` (or ``after`` with the file saved): count and maybe write, no hash."""
    buf = bytearray(min(plan.chunk_size, length) or 1)
    view = memoryview(buf)
    got = 0
    try:
        while got < length:
            n = sock.recv_into(view[: min(plan.chunk_size, length - got)])
            if n == 0:
                return "truncated", got, f"closed after {got} of {length} bytes"
            if out is not None:
                out.write(view[:n])
            got += n
            if time.monotonic() > plan.deadline:
                return "timeout", got, "run deadline reached"
    except OSError as exc:
        return _failed(exc, got, plan)
    return ("unchecked" if plan.verify == "after" else "ok"), got, ""


# verify: after without saving: one anonymous mapping holds every file, reused from run
# to run in this process and touched once when made, so no page faults inside the timed
# window.  Private, with huge pages where the kernel allows, so the copy out of the
# socket is not slowed by a TLB miss every 4 KiB (a quarter of a stream's speed); shared
# for process clients, which then write into the same pages rather than copies of them
# (the kernel gives shared memory no huge pages unless told to).
_ARENA: dict[tuple[int, bool], mmap.mmap] = {}
_TOUCH = 1 << 20


def _arena(manifest: list[Entry], shared: bool) -> list[memoryview]:
    """A view per listed file, each its size, into this process's one arena."""
    sizes = [size for _, size, _ in manifest]
    total = sum(sizes)
    if total > KEPT_MAX_BYTES:
        raise ModelError(
            f"verify: after without save keeps every file in memory: the list holds "
            f"{total} bytes, more than {KEPT_MAX_BYTES}; set save: true"
        )
    arena = _ARENA.get((total, shared))
    if arena is None:
        _ARENA.clear()  # one at a time: a trial's files do not change size between runs
        flags = mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE
        arena = mmap.mmap(-1, max(total, 1), flags=flags | mmap.MAP_ANONYMOUS)
        if not shared and hasattr(mmap, "MADV_HUGEPAGE"):
            arena.madvise(mmap.MADV_HUGEPAGE)
        zeros = bytes(_TOUCH)
        for at in range(0, total, _TOUCH):  # fault every page in now, not while timed
            arena[at : at + _TOUCH] = zeros[: min(_TOUCH, total - at)]
        _ARENA[(total, shared)] = arena
    whole = memoryview(arena)
    views, at = [], 0
    for size in sizes:
        views.append(whole[at : at + size])
        at += size
    return views


def _verify_after(env: Env, plan: Plan, done: list[Fetch]) -> list[Fetch]:
    """Hash what arrived once every client's transfers are over: ``unchecked`` gets a verdict."""
    import contextlib

    with contextlib.suppress(TimeoutError):  # a failed client must not stop the others' checks
        env.gate(max(0.0, plan.deadline - time.monotonic()))
    checked: list[Fetch] = []
    for index, outcome, got, ns, detail in done:
        if outcome == "unchecked":
            verdict, why = _check_one(plan, index)
            checked.append((index, verdict, got, ns, why))
        else:
            checked.append((index, outcome, got, ns, detail))
    return checked


def _check_one(plan: Plan, index: int) -> tuple[str, str]:
    digest = plan.manifest[index][2]
    if plan.kept is not None:
        actual = hashlib.sha256(plan.kept[index]).hexdigest()
    else:  # saved: read it back
        assert plan.save_dir is not None
        h = hashlib.sha256()
        with open(plan.save_dir / f"{index:06d}.bin", "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        actual = h.hexdigest()
    return ("ok", "") if actual == digest else ("corrupt", "sha256 differs from the list")


def run_download(
    kind: str,
    clients: int,
    address: tuple[str, int],
    manifest: list[Entry],
    *,
    chunk_size: int,
    io_timeout: float,
    timeout: float,
    save_dir: Path | None,
    rate_mib_s: float | None = None,
    think_ms: float = 0.0,
    verify: str = "inline",
    forker: Forker | None = None,
) -> dict[str, float]:
    """Download every listed file once with ``clients`` clients; return the download metrics.

    :param verify: ``inline`` hashes as the bytes arrive, inside the timed window;
        ``after`` once every transfer is over, the window ending with the last transfer;
        ``size`` checks the length only.
    :param forker: the trial's started :class:`~.forker.Forker`, for process clients.
    """
    from .address import resolve

    family, sockaddr = resolve(address[0], address[1], socket.SOCK_STREAM)
    deadline = time.monotonic() + timeout
    plan = Plan(
        family, sockaddr, manifest, chunk_size, io_timeout, deadline, save_dir, rate_mib_s,
        think_ms, verify, shared=kind == "process",
    )  # fmt: skip
    t0, start_ns = time.perf_counter_ns(), time.monotonic_ns()
    per_client = run_clients(kind, clients, client_job, plan, timeout, forker=forker)
    wall = (time.perf_counter_ns() - t0) / 1e9
    if verify == "after":
        wall = (max(end for _, end in per_client) - start_ns) / 1e9
    fetched = [f for done, _ in per_client for f in done]
    metrics = summarize(manifest, fetched, wall, address)
    metrics.update(client_rate([done for done, _ in per_client]))
    return metrics


def client_rate(per_client: list[list[Fetch]]) -> dict[str, float]:
    """``client_mib_s``: the mean over clients of bytes received over time spent fetching."""
    rates = [
        sum(f[2] for f in fetched) / (1 << 20) / (sum(f[3] for f in fetched) / 1e9)
        for fetched in per_client
        if fetched and sum(f[3] for f in fetched) > 0
    ]
    return {"client_mib_s": sum(rates) / len(rates)} if rates else {}


def summarize(
    manifest: list[Entry], fetched: list[Fetch], wall: float, address: tuple[str, int]
) -> dict[str, float]:
    received = dict.fromkeys(range(len(manifest)), 0)
    verified = [f for f in fetched if f[1] == "ok"]
    for index, _, got, _, _ in fetched:
        received[index] = max(received[index], got)
    failed = [f for f in fetched if f[1] != "ok"]
    if fetched and not verified and all(f[1] == "error" for f in failed):
        raise ModelError(f"no file could be fetched from {address[0]}:{address[1]}: {failed[0][4]}")
    ok_bytes = sum(manifest[f[0]][1] for f in verified)
    metrics: dict[str, float] = {
        "wall_s": wall,
        "mib_per_s": ok_bytes / (1 << 20) / wall,
        "files_per_s": len(verified) / wall,
        "files_verified": len(verified),
        "files_corrupt": sum(f[1] == "corrupt" for f in fetched),
        "bytes_lost": sum(size - min(received[i], size) for i, (_, size, _) in enumerate(manifest)),
        "errors": len(manifest) - len(verified),
    }
    latencies = sorted(f[3] for f in verified)
    if latencies:
        metrics["file_p50_us"] = percentile(latencies, 50) / 1e3
        metrics["file_p99_us"] = percentile(latencies, 99) / 1e3
    return metrics


def fetch_manifest(address: tuple[str, int], io_timeout: float) -> list[Entry]:
    """Ask a server for its file list (LIST); a server that answers otherwise is an error."""
    from .fileroot import Refused, check_name

    where = f"{address[0]}:{address[1]}"
    try:
        status, body = _list_with_retries(address, io_timeout)
    except (OSError, proto.ProtocolError, proto.Truncated) as exc:
        raise ModelError(f"cannot get the file list from {where}: {exc}") from None
    if status != proto.Status.OK:
        raise ModelError(f"{where} refused the file list: {status.name} {body[:200]!r}")
    try:
        entries = proto.parse_manifest(body)
        for name, _, _ in entries:
            check_name(name.encode())
    except (proto.ProtocolError, Refused, UnicodeError) as exc:
        raise ModelError(f"{where} sent a bad file list: {exc}") from None
    if not entries:
        raise ModelError(f"{where} serves no files")
    return entries


LIST_TRIES = 4


def _list_with_retries(address: tuple[str, int], io_timeout: float) -> tuple[proto.Status, bytes]:
    """LIST, asked again after a timeout or a reset: the list is control, not data, and
    must get through a lossy link (an answer in a foreign protocol is not retried)."""
    for attempt in range(LIST_TRIES):
        try:
            with socket.create_connection(address, timeout=io_timeout) as sock:
                sock.sendall(proto.encode_request(proto.OP_LIST))
                status, length = proto.read_response(sock, time.monotonic() + io_timeout)
                if length > MAX_LIST_BYTES:
                    raise proto.ProtocolError(f"a list of {length} bytes is too long")
                return status, proto.recv_exact(sock, length, time.monotonic() + io_timeout)
        except (TimeoutError, ConnectionResetError, proto.Truncated):
            if attempt == LIST_TRIES - 1:
                raise
    raise AssertionError("unreachable")
