"""Where a network trial's own server and its clients run: the CPU-set params that tcp
and udp share, said once."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from runner.affinity import CpuSet

ServerCpus = Annotated[
    CpuSet | None,
    Meta(
        description="pin the trial's own server to these CPUs, e.g. 0 (apart from "
        "client_cpus: no turns taken on one core)"
    ),
]
ClientCpus = Annotated[CpuSet | None, Meta(description="pin the clients to these CPUs, e.g. 1")]
