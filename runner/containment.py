"""Keeping a trial's processes inside the trial: Linux process controls, no cgroup.

The worker makes itself a child subreaper, so whatever a trial starts, even a process
that calls ``setsid()`` or double-forks into a daemon, stays a descendant of the worker
instead of escaping to init; when the trial ends the worker kills every descendant it
still has.  A parent-death signal ties the worker to the runner and the trial's child to
the worker.  A cgroup would also catch a process that leaves the tree by other means,
but is rarely writable for an unprivileged user, so it is not used.  Should the worker
itself be killed, every process below it still carries the worker's tag in its
environment, and the executor kills them by that.

Only the standard library: the worker imports this before anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
KILL_DEADLINE_S = 10.0  # a kernel that has not reaped a SIGKILLed process by then never will


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: the group kill is all there is
        return False


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """Get ``sig`` when the parent dies; exit now if ``parent`` is already gone."""
    _prctl(PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent:  # it died before the prctl: the signal would never come
        os._exit(1)


def become_subreaper() -> bool:
    """Orphans among this process's descendants are re-parented to it, not to init."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def descendants(root: int) -> list[int]:
    """The live processes below ``root``, parents before children (zombies left out)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rpartition(b")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if fields and fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    out: list[int] = []
    todo = [root]
    while todo:
        kids = children.get(todo.pop(), [])
        out.extend(kids)
        todo.extend(kids)
    return out


def tagged(name: str, value: str) -> list[int]:
    """The live processes whose environment, as they were started, has ``name=value``."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle not in fh.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as fh:
                if fh.read().rpartition(b")")[2].split()[:1] == [b"Z"]:
                    continue
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found.append(int(entry))
    return found


def kill_tagged(name: str, value: str) -> int:
    """SIGKILL every process tagged ``name=value`` until none is left; how many there were.

    The fallback for a worker that died (a trial may SIGKILL it): its orphans went to
    init, out of any subreaper's reach, but each still carries the worker's tag.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + KILL_DEADLINE_S
    # A process caught inside exec reads as having no environment until the kernel has
    # set up the new program's: none is left only when two scans a moment apart agree.
    clear_scans = 0
    while time.monotonic() < deadline:
        found = tagged(name, value)
        clear_scans = 0 if found else clear_scans + 1
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        if clear_scans == 2:
            break
        time.sleep(0.005)
    return len(killed)


def reap() -> None:
    """Collect the exit status of every child that has finished (never blocks)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_descendants() -> int:
    """SIGKILL every descendant of this process until none is left; how many were killed.

    Killed in rounds: a process killed in one round may have had children the kernel now
    re-parents to this subreaper, and a fork bomb may start more while a round runs.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + KILL_DEADLINE_S
    while True:
        reap()
        found = descendants(os.getpid())
        if not found or time.monotonic() > deadline:
            return len(killed)
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.005)  # let the kernel tear them down before the next look
