"""The messages between the executor and its worker process, as typed records.

Requests go down the worker's stdin, events come up a channel of their own, one JSON
object a line: ``{"type": "Phase", ...fields}``.  Both sides (runner/worker.py and
runner/executors/local.py) build and read only these classes, so a field added or renamed
is seen by mypy on both sides at once.

Only the standard library is imported: the worker's fresh-interpreter path reads a request
before anything else may be imported.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

T = TypeVar("T")

# -- requests (executor -> worker) -------------------------------------------------------


@dataclasses.dataclass
class Configure:
    """The first line: the plugins to load (``dataclasses.asdict`` of a PluginConfig)."""

    plugins: dict[str, Any]


@dataclasses.dataclass
class RunTrial:
    """Run one trial in a fresh child.

    ``tmpdir`` and ``stderr`` are created and removed by the executor, so they go whatever
    becomes of the child; ``max_memory`` is the address-space cap in bytes, or None.
    """

    trial: dict[str, Any]  # Trial.to_json()
    stderr: str
    tmpdir: str
    prelude: list[str]
    plugins: dict[str, Any]
    max_memory: int | None = None


# -- events (worker -> executor) ---------------------------------------------------------


@dataclasses.dataclass
class Fatal:
    """The worker could not start (its plugins failed to load); ``code`` is the exit code."""

    message: str
    code: int


@dataclasses.dataclass
class Ready:
    pid: int


@dataclasses.dataclass
class Started:
    """The trial's child was forked; it leads its own session and process group."""

    pid: int


@dataclasses.dataclass
class Phase:
    """The child entered a phase: ``setup``, ``run`` (``index`` counts from 0) or ``teardown``."""

    phase: str
    index: int = 0

    def describe(self) -> str:
        return f"run {self.index + 1}" if self.phase == "run" else self.phase


@dataclasses.dataclass
class Run:
    index: int
    warmup: bool
    elapsed_s: float
    cpu_s: float
    metrics: dict[str, float]


@dataclasses.dataclass
class Error:
    """The trial ended with an exception; ``out_of_memory`` when it was a MemoryError."""

    message: str
    max_rss_kib: int | None = None
    out_of_memory: bool = False


@dataclasses.dataclass
class Done:
    max_rss_kib: int | None = None


@dataclasses.dataclass
class Exit:
    """The child exited (``code`` as ``os.waitstatus_to_exitcode``) and all it started is gone."""

    pid: int
    code: int


Message = Configure | RunTrial | Fatal | Ready | Started | Phase | Run | Error | Done | Exit
_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (Configure, RunTrial, Fatal, Ready, Started, Phase, Run, Error, Done, Exit)
}


def encode(message: Message) -> bytes:
    """One line of JSON for ``message``."""
    data = {"type": type(message).__name__, **dataclasses.asdict(message)}
    return (json.dumps(data) + "\n").encode()


def decode(line: bytes | str) -> Message:
    """The message of one line; ValueError for anything else."""
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("type") not in _TYPES:
        raise ValueError(f"not a worker message: {str(line)[:200]!r}")
    cls = _TYPES[data.pop("type")]
    message: Message = cls(**data)
    return message


def decode_as(line: bytes | str, cls: type[T]) -> T:
    """The message of one line, which must be a ``cls``; ValueError otherwise."""
    message = decode(line)
    if not isinstance(message, cls):
        raise ValueError(f"expected {cls.__name__}, got {type(message).__name__}")
    return message
