"""CPU sets for pinning trial processes: ``--affinity``, the spec's ``cpus:``, and the
network models' ``server_cpus`` / ``client_cpus``.

A set is written as the kernel's cpulist (``0``, ``0-1``, ``0,2-3``) or a list of CPU
numbers; every CPU must be one this process may run on, or the set is refused before any
trial runs.  Pinning the trial keeps the scheduler from moving it between cores (and
keeps it off the cores left to other work); placing a server and its clients apart keeps
them from taking turns on one core.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, ClassVar

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


class CpuSet(list[int]):
    """A params or spec field holding a CPU set: a cpulist string, one number or a list.

    Declare it as ``CpuSet | None = None``; the value is the sorted CPU numbers.
    """

    json_schema: ClassVar[dict[str, Any]] = {"anyOf": [
        {"type": "string", "description": "a cpulist such as 0-1,3"}, {"type": "integer"},
        {"type": "array", "items": {"type": "integer"}},
    ]}  # fmt: skip

    @classmethod
    def parse(cls, value: object) -> CpuSet:
        if not isinstance(value, (str, int, list)):
            raise ValueError(f"{value!r} is not a CPU set such as 0-1,3")
        return cls(parse_cpus(value))


def available() -> list[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def parse_cpus(value: str | int | Iterable[int]) -> list[int]:
    """``"0-1,3"``, ``2`` or ``[0, 1]`` -> sorted CPU numbers; ValueError naming the
    problem for a malformed set or a CPU this machine does not offer."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a CPU set such as 0-1,3")
    if isinstance(value, int):
        cpus = {value}
    elif isinstance(value, str):
        cpus = set()
        for part in value.split(","):
            match = _RANGE.match(part)
            if not match:
                raise ValueError(f"{value!r} is not a CPU set such as 0-1,3")
            low = int(match.group(1))
            high = int(match.group(2) or low)
            if high < low:
                raise ValueError(f"{value!r}: the range {part.strip()} runs backwards")
            cpus.update(range(low, high + 1))
    else:
        cpus = set()
        for cpu in value:
            if isinstance(cpu, bool) or not isinstance(cpu, int):
                raise ValueError(f"{cpu!r} is not a CPU number")
            cpus.add(cpu)
    if not cpus:
        raise ValueError("a CPU set needs at least one CPU")
    offered = available()
    missing = sorted(cpus - set(offered))
    if missing:
        raise ValueError(f"CPU {', '.join(map(str, missing))} is not available here "
                         f"(available: {format_cpus(offered)})")  # fmt: skip
    return sorted(cpus)


def format_cpus(cpus: Iterable[int]) -> str:
    """[0, 1, 2, 5] -> ``0-2,5``."""
    ordered = sorted(set(cpus))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def pin(cpus: Iterable[int] | None) -> None:
    """Pin this process (and what it starts from now on) to ``cpus``; None: leave it."""
    if cpus is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, list(cpus))
