"""The spec's envelope: the keys every experiment has, besides its model's ``params``,
with their checks (msgspec, strict: a bool is not a number, NaN is refused).

runner.spec validates a file against these and each model's ``Params``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from runner.affinity import CpuSet

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"
Name = Annotated[str, Meta(pattern=NAME_PATTERN, max_length=100)]
MIN_MEMORY = 64 * 2**20  # below this not even the interpreter's own mappings fit
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*", re.IGNORECASE)


class Percent(float):
    """A regression threshold: ``10%``, ``"10"`` or 10."""

    json_schema: ClassVar[dict[str, Any]] = {"type": ["number", "string"]}

    @classmethod
    def parse(cls, value: object) -> Percent:
        from runner.compare import parse_percent  # imported only for a spec with `regress:`

        return cls(parse_percent(value))


class MemorySize(int):
    """A spec's ``max_memory``: a size as :func:`parse_bytes` reads it."""

    json_schema: ClassVar[dict[str, Any]] = {
        "type": ["integer", "string"], "description": "bytes, or a size such as 4GiB",
    }  # fmt: skip

    @classmethod
    def parse(cls, value: object) -> MemorySize:
        return cls(parse_bytes(value))


def parse_bytes(value: object) -> int:
    """A size in bytes from ``4GiB``, ``512 MiB``, ``2G`` (as 2 GB) or a whole number."""
    size = None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        match = _SIZE.fullmatch(value)
        if match:
            size = int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    if size is None:
        raise ValueError(f"{value!r} is not a size such as 4GiB or 512MiB")
    if size < MIN_MEMORY:
        raise ValueError(f"{value!r} is below the least usable cap of 64MiB")
    return size


def format_bytes(size: int) -> str:
    """``4 GiB``, ``512 MiB``: the largest binary unit that keeps a short number."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} B"


class _Strict(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Expect(_Strict):
    """A bound on the median of a metric, for the trials whose params match ``where``."""

    metric: Annotated[Name, Meta(description="a metric of the model")]
    where: Annotated[dict[str, Any], Meta(description="params to match")] = {}
    min: Annotated[float | None, Meta(description="the median must be at least this")] = None
    max: Annotated[float | None, Meta(description="the median must be at most this")] = None

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")


class Envelope(_Strict):
    """One experiment: a model, its params and the matrix swept over them."""

    name: Annotated[Name, Meta(description="identifier; default: the file's stem")]
    model: Annotated[Name, Meta(description="model name, see `runner list`")]
    description: Annotated[str, Meta(max_length=1000)] = ""
    params: Annotated[dict[str, Any], Meta(description="fixed model params")] = {}
    matrix: Annotated[
        dict[str, Annotated[list[Any], Meta(min_length=1)]],
        Meta(description="param -> values; the trials are their product"),
    ] = {}
    repeat: Annotated[int, Meta(ge=1, le=100_000, description="measured runs per trial")] = 5
    warmup: Annotated[int, Meta(ge=0, le=10_000, description="unmeasured runs first")] = 1
    timeout: Annotated[float, Meta(gt=0, le=86_400, description="seconds per run")] = 60.0
    max_memory: Annotated[
        MemorySize | None,
        Meta(description="address-space cap per trial process, e.g. 4GiB; over it: crashed"),
    ] = None
    expect: Annotated[list[Expect], Meta(description="bounds on medians")] = []
    regress: Annotated[
        dict[Name, Percent],
        Meta(
            description="metric -> regression threshold in percent, e.g. {wall_s: 10%}: "
            "`runner compare` flags a significant change beyond it"
        ),
    ] = {}
    plugins: Annotated[list[str], Meta(description="plugin files or modules")] = []
    cpus: Annotated[
        CpuSet | None,
        Meta(
            description="pin each trial's processes to these CPUs, e.g. 1 or 0-1,3 "
            "(`runner run --affinity` overrides it)"
        ),
    ] = None


class SpecFile(_Strict):
    """A file holding several experiments."""

    experiments: Annotated[list[dict[str, Any]], Meta(min_length=1)]
    plugins: list[str] = []
