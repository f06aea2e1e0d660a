"""What a result was measured on, captured once per session, and the machine's state.

The state is what pyperf records that moves a measurement: the load average at the start
and at the end of the session, the CPU frequency governor and current frequency where
the kernel shows them (often not in a virtual machine), and how many other processes were
ready to run.  A busy machine is said once, at the start.
"""

from __future__ import annotations

import os
import sys  # the rest is imported by the functions that use it: most commands use none
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runner import hookimpl

if TYPE_CHECKING:
    from runner.results import SessionResult
    from runner.session import Session

from runner import __version__

PACKAGES = ("pluggy", "PyYAML", "ruamel.yaml", "msgspec", "gevent", "greenlet", "rich")


def capture() -> dict[str, Any]:
    import platform
    import socket

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "hostname": socket.gethostname(),
        # runner by its own version: the installed distribution may be another checkout.
        "packages": {"runner": __version__, **{name: _version(name) for name in PACKAGES}},
        "git_commit": _git_commit(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "state_start": machine_state(),
    }


def machine_state() -> dict[str, Any]:
    """Load average (1, 5, 15 min), other runnable processes, governor and frequency, and
    the CPU time used so far by the machine and by this session (for ``other_work_pct``)."""
    from glob import glob

    state: dict[str, Any] = {"load": None, "runnable": None, **_cpu_time()}
    try:
        fields = (_read("/proc/loadavg") or "").split()  # "0.5 0.4 0.3 2/180 1234"
        state["load"] = [float(x) for x in fields[:3]]
        state["runnable"] = max(0, int(fields[3].split("/")[0]) - 1)  # without this process
    except (OSError, ValueError, IndexError):
        if hasattr(os, "getloadavg"):
            state["load"] = list(os.getloadavg())
    cpufreq = "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/"
    governors = sorted({g for g in map(_read, glob(cpufreq + "scaling_governor")) if g})
    khz = [int(v) for v in map(_read, glob(cpufreq + "scaling_cur_freq")) if v]
    state["governor"] = ",".join(governors) or None
    state["cpu_mhz"] = [round(k / 1000) for k in khz] or _cpuinfo_mhz()
    return state


def _cpu_time() -> dict[str, float | None]:
    """The machine's busy CPU seconds since boot (/proc/stat), this process's and its
    reaped descendants' (the session's trials), and a clock to divide by."""
    import resource
    import time

    busy = None
    fields = (_read("/proc/stat") or "").split("\n", 1)[0].split()
    if fields[:1] == ["cpu"] and len(fields) >= 9:
        # user nice system idle iowait irq softirq steal: all but idle and iowait
        ticks = [int(x) for x in fields[1:9]]
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    own = sum(u.ru_utime + u.ru_stime for u in usage)
    return {"busy_cpu_s": busy, "own_cpu_s": own, "clock_s": time.monotonic()}


def other_work_pct(start: dict[str, Any], end: dict[str, Any], cpus: int) -> float | None:
    """How much of the machine's CPU time other work took between two states, in percent
    of all its CPUs: what the load average, a minute's mean, hides in bursts."""
    try:
        busy = end["busy_cpu_s"] - start["busy_cpu_s"]
        own = end["own_cpu_s"] - start["own_cpu_s"]
        elapsed = end["clock_s"] - start["clock_s"]
    except (KeyError, TypeError):
        return None
    if elapsed <= 0:
        return None
    return round(max(0.0, min(100.0, 100.0 * (busy - own) / (elapsed * cpus))), 1)


OTHER_WORK_PCT = 25.0  # other work above this share of the CPUs: the session says so


def busy_during(environment: Mapping[str, Any]) -> float | None:
    """The share of the CPUs other work took during the session that recorded
    ``environment``, if it is above OTHER_WORK_PCT and a busy machine is said; else None."""
    others = environment.get("other_work_pct")
    if isinstance(others, (int, float)) and others > OTHER_WORK_PCT and says_busy():
        return float(others)
    return None


BUSY_LOAD = 0.5  # 1-minute load per CPU above which a session warns (RUNNER_BUSY_LOAD)


def _busy_load() -> float:
    try:
        return float(os.environ.get("RUNNER_BUSY_LOAD", BUSY_LOAD))
    except ValueError:
        return BUSY_LOAD


def says_busy() -> bool:
    """Whether a busy machine is said at all: not with ``RUNNER_BUSY_LOAD=inf``."""
    return _busy_load() != float("inf")


def busy(state: dict[str, Any], cpus: int) -> str | None:
    """Why the machine is too busy to measure well, or None: a load above BUSY_LOAD per
    CPU (the environment variable RUNNER_BUSY_LOAD sets another; ``inf``: never, and no
    warning of other work at the end either)."""
    per_cpu = _busy_load()
    load = (state.get("load") or [0.0])[0]
    if load <= cpus * per_cpu:
        return None
    others = state.get("runnable")
    ready = f", {others} other processes ready to run" if others is not None else ""
    return f"load average {load:.2f} on {cpus} CPUs{ready}"


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _cpuinfo_mhz() -> list[int] | None:
    try:
        with open("/proc/cpuinfo") as fh:
            found = [round(float(ln.split(":")[1])) for ln in fh if ln.startswith("cpu MHz")]
    except (OSError, ValueError, IndexError):
        return None
    return found or None


@hookimpl(trylast=True)  # after the others: a store that cannot open fails first, alone
def runner_session_start(session: Session) -> None:
    reason = busy(session.environment.get("state_start") or {}, os.cpu_count() or 1)
    if reason and not session.options.get("quiet"):
        print(f"warning: the machine is busy ({reason}): measurements will be noisy; "
              "close other work, or pin trials with --affinity", file=sys.stderr)  # fmt: skip


@hookimpl(tryfirst=True)
def runner_session_finish(result: SessionResult) -> None:
    # First, so that the result file and the store both get it.
    env = result.environment
    env["state_end"] = machine_state()
    start = env.get("state_start") or {}
    env["other_work_pct"] = other_work_pct(start, env["state_end"], os.cpu_count() or 1)


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor()


def _git_commit() -> str | None:
    """The commit of the current directory's repository, with '+dirty' for local changes."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            check=False,
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")
