"""A trial's own network: a private network namespace, with loss and delay on its loopback.

:func:`enter` moves the trial's process into a new network namespace
(``unshare(CLONE_NEWNET)``) before its server and clients start, so they all live there,
brings that namespace's loopback up and imposes the link's conditions on it:

- loss: one nftables rule in the prerouting hook, ``numgen random mod 10000 < N drop``.
  On loopback every packet arrives exactly once, so each direction loses that share; it
  is dropped on arrival, as on a wire (a drop on output would fail the sender's send);
- delay and jitter: ``tc qdisc add dev lo root netem delay X jitter Y``, once per packet
  as well, so a round trip takes twice the delay.

Nothing outside the namespace is touched: the host's rules, qdiscs and sockets are not
seen from inside, and the namespace with its rules and qdisc is freed by the kernel when
the trial's last process exits, whatever its status.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
from typing import Annotated, Any

from msgspec import Meta

from runner.errors import ModelError

# The params, said once for every model that offers a link (None: the host's own network).
LossPct = (
    Annotated[
        float,
        Meta(
            ge=0,
            le=100,
            description="percent of packets dropped at random in each direction (0.01 steps), "
            "in a private network namespace of the trial's own (root, nftables); "
            "none: the host's network as it is",
        ),
    ]
    | None
)
DelayMs = (
    Annotated[
        float,
        Meta(
            ge=0,
            le=10_000,
            description="ms each packet is delayed in each direction (tc netem: root, iproute2 "
            "and a kernel with sch_netem); none: no delay",
        ),
    ]
    | None
)
JitterMs = (
    Annotated[
        float,
        Meta(ge=0, le=10_000, description="ms of random variation around link_delay_ms (netem)"),
    ]
    | None
)

MTU = 1500  # Ethernet's
_STEPS = 10_000  # numgen's modulus: loss in steps of 0.01 %
_TABLE = "runner_link"
_CLONE_NEWNET = 0x40000000


@dataclasses.dataclass(frozen=True)
class Conditions:
    """What a trial asks of its link; all None means the host's network, untouched."""

    loss_pct: float | None = None
    delay_ms: float | None = None
    jitter_ms: float | None = None

    @classmethod
    def of(cls, params: Any) -> Conditions:
        return cls(params.link_loss_pct, params.link_delay_ms, params.link_jitter_ms)

    @property
    def wanted(self) -> bool:
        return any(v is not None for v in (self.loss_pct, self.delay_ms, self.jitter_ms))

    @property
    def shaped(self) -> bool:
        return bool(self.delay_ms or self.jitter_ms)


def check(params: Any) -> None:
    """The models' validator: refuse what cannot be imposed, with what to do about it.

    :raises ValueError: a message fit to show a user, naming what is missing.
    """
    cond = Conditions.of(params)
    if not cond.wanted:
        return
    if params.server is not None:
        raise ValueError(
            "link_* params shape the trial's own network: they cannot reach a server "
            "outside the trial (drop server, or the link_* params)"
        )
    if cond.loss_pct is not None and abs(cond.loss_pct * 100 - round(cond.loss_pct * 100)) > 1e-6:
        raise ValueError("link_loss_pct goes in steps of 0.01")
    if cond.jitter_ms and not cond.delay_ms:
        raise ValueError("link_jitter_ms varies link_delay_ms: give link_delay_ms too")
    problem = missing(cond.shaped)
    if problem:
        raise ValueError(problem)


def missing(shaped: bool = False) -> str:
    """What this machine lacks to give a trial its own link ('' when nothing)."""
    if os.geteuid() != 0:
        return (
            "link_* params need root (a private network namespace and its firewall rules): "
            "run as root, e.g. in a container or VM, or leave the link_* params out"
        )
    tools = [("nft", "nftables"), ("ip", "iproute2")]
    if shaped:  # tc adds the qdisc; unshare tries it in a throwaway namespace first
        tools += [("tc", "iproute2"), ("unshare", "util-linux")]
    for tool, package in tools:
        if shutil.which(tool) is None:
            return (
                f"link_* params need the `{tool}` command: install {package} "
                f"(apt-get install {package})"
            )
    if shaped and not netem_available():
        return (
            "link_delay_ms and link_jitter_ms need the kernel's netem qdisc, which this kernel "
            "lacks: modprobe sch_netem, or use a kernel built with CONFIG_NET_SCH_NETEM"
        )
    return ""


@functools.lru_cache(maxsize=1)
def netem_available() -> bool:
    """True when a netem qdisc can be added (tried in a throwaway namespace)."""
    cmd = ["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def enter(cond: Conditions) -> None:
    """Move this process into a new network namespace with ``cond`` on its loopback.

    Call it before any thread or server starts: a namespace is per thread, and what is
    started afterwards inherits it.

    :raises ModelError: one line saying what failed and what to do.
    """
    import threading

    if threading.active_count() > 1:
        raise ModelError("link: the trial's network must be set up before any thread starts")
    problem = missing(cond.shaped)
    if problem:
        raise ModelError(problem)
    _unshare_net()
    # Ethernet's MTU, not loopback's 64 KiB: TCP sizes its segments and send buffers from
    # it, so a slow reader holds its sender as on a wire.  (The stack still hands loopback
    # offloaded bursts of up to 64 KiB, each dropped or delayed as one packet: forcing one
    # frame per packet, gso_max_segs 1, had TCP resend thousands of segments at 0% loss.)
    _tool(["ip", "link", "set", "lo", "mtu", str(MTU)])
    _tool(["ip", "link", "set", "lo", "up"])
    if cond.loss_pct:
        _tool(["nft", "-f", "-"], ruleset(cond.loss_pct))
    if cond.shaped:
        delay = ["delay", f"{cond.delay_ms or 0:g}ms"]
        if cond.jitter_ms:
            delay.append(f"{cond.jitter_ms:g}ms")
        _tool(["tc", "qdisc", "add", "dev", "lo", "root", "netem", *delay])


def ruleset(loss_pct: float) -> str:
    """The nftables table that drops ``loss_pct`` percent of the packets arriving."""
    threshold = round(loss_pct * _STEPS / 100)
    rule = "drop" if threshold >= _STEPS else f"numgen random mod {_STEPS} < {threshold} drop"
    return (
        f"table inet {_TABLE} {{\n"
        "  chain arrive {\n"
        "    type filter hook prerouting priority raw; policy accept;\n"
        f"    {rule}\n"
        "  }\n"
        "}\n"
    )


def _unshare_net() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise ModelError(f"link: unshare(CLONE_NEWNET) failed: {os.strerror(errno)}")


def _tool(cmd: list[str], stdin: str | None = None) -> None:
    try:
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"link: {cmd[0]} failed: {exc}") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise ModelError(
            f"link: `{' '.join(cmd)}` failed: {detail[0] if detail else proc.returncode}"
        )


def tcp_retransmits() -> int:
    """TCP segments retransmitted in this network namespace so far (RetransSegs).

    The namespace's own counter: the sum of every socket's ``tcpi_total_retrans``
    (TCP_INFO), server and clients, including segments resent after a socket was closed
    with data still in flight, which a per-socket TCP_INFO read before close() misses.
    """
    return snmp("Tcp", "RetransSegs")


def udp_rcvbuf_drops() -> int:
    """Datagrams dropped in this namespace so far because a receive buffer was full.

    Loss the receiver made itself (it was overrun), told apart from the link's.
    """
    return snmp("Udp", "RcvbufErrors")


def snmp(proto: str, field: str) -> int:
    """A counter of /proc/net/snmp, which shows the reading process's network namespace."""
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith(f"{proto}:")]
    names, values = lines[0], lines[1]
    return int(values[names.index(field)])
