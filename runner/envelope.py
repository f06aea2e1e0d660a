"""The spec's envelope: the keys every experiment has, besides its model's ``params``,
with their checks (pydantic, strict: a bool is not a number, NaN is refused).

runner.spec validates a file against these and each model's ``Params``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from runner.affinity import CpuSet

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]


def _percent(value: str | float) -> float:
    from runner.compare import parse_percent  # imported only for a spec with `regress:`

    return parse_percent(value)


Percent = Annotated[float | str, AfterValidator(_percent)]
MIN_MEMORY = 64 * 2**20  # below this not even the interpreter's own mappings fit


def parse_bytes(value: int | str) -> int:
    """A size in bytes from ``4GiB``, ``512 MiB``, ``2G`` (as 2 GB) or a whole number."""
    from pydantic import ByteSize, TypeAdapter

    try:
        size = int(TypeAdapter(ByteSize).validate_python(value))
    except ValidationError:
        raise ValueError(f"{value!r} is not a size such as 4GiB or 512MiB") from None
    if size < MIN_MEMORY:
        raise ValueError(f"{value!r} is below the least usable cap of 64MiB")
    return size


def format_bytes(size: int) -> str:
    """``4 GiB``, ``512 MiB``: the largest binary unit that keeps a short number."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} B"


MemorySize = Annotated[int | str, AfterValidator(parse_bytes)]


class _Strict(BaseModel):
    # defer_build: each validator is built when first used (a spec file without
    # `experiments:` never builds SpecFile's).
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, defer_build=True)


class Expect(_Strict):
    """A bound on the median of a metric, for the trials whose params match ``where``."""

    where: dict[str, Any] = Field(default_factory=dict, description="params to match")
    metric: Name = Field(description="a metric of the model")
    min: float | None = Field(None, description="the median must be at least this")
    max: float | None = Field(None, description="the median must be at most this")

    @model_validator(mode="after")
    def _one_bound(self) -> Expect:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


class Envelope(_Strict):
    """One experiment: a model, its params and the matrix swept over them."""

    name: Name = Field(description="identifier; default: the file's stem")
    description: str = Field("", max_length=1000)
    model: Name = Field(description="model name, see `runner list`")
    params: dict[str, Any] = Field(default_factory=dict, description="fixed model params")
    matrix: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict, description="param -> values; the trials are their product"
    )
    repeat: int = Field(5, ge=1, le=100_000, description="measured runs per trial")
    warmup: int = Field(1, ge=0, le=10_000, description="unmeasured runs first")
    timeout: float = Field(60.0, gt=0, le=86_400, description="seconds per run")
    max_memory: MemorySize | None = Field(
        None, description="address-space cap per trial process, e.g. 4GiB; over it: crashed"
    )
    expect: list[Expect] = Field(default_factory=list, description="bounds on medians")
    regress: dict[Name, Percent] = Field(
        default_factory=dict,
        description="metric -> regression threshold in percent, e.g. {wall_s: 10%}: "
        "`runner compare` flags a significant change beyond it",
    )
    plugins: list[str] = Field(default_factory=list, description="plugin files or modules")
    cpus: CpuSet = Field(
        None, description="pin each trial's processes to these CPUs, e.g. 1 or 0-1,3 "
        "(`runner run --affinity` overrides it)",
    )  # fmt: skip


class SpecFile(_Strict):
    """A file holding several experiments."""

    experiments: list[dict[str, Any]] = Field(min_length=1)
    plugins: list[str] = Field(default_factory=list)
