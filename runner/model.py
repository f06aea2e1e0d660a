"""What a model is: the public API for plugin authors.

A model is an object with a ``name``, a one-line ``description``, a ``Params`` class (a
pydantic model: the params schema), the ``metrics`` it reports, and ``run()``.  Subclass
:class:`Model` to get the defaults; anything with the same attributes works.

A trial runs in a fresh worker process: ``setup()`` once, then ``run()`` for each warmup
and measured run, then ``teardown()`` (always).  ``run()`` returns a mapping of declared
metric names to numbers; it may leave out a metric that does not apply to its params.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    """Base class of a model's params schema: strict types, unknown keys refused.

    Strict means a bool is not a number and 2.5 is not an int; NaN and infinities are
    refused.  Declare bounds with ``Field(ge=..., le=...)`` and a ``description`` per field:
    ``runner list`` and ``runner schema`` show them.
    """

    # defer_build: the validator is built when a spec first uses the model, not when its
    # module is imported (`runner list` needs only the fields).
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        validate_default=True,
        defer_build=True,
    )


@dataclasses.dataclass(frozen=True)
class Metric:
    """One number a model reports per run.

    :param name: identifier used in specs (``expect``, ``regress``) and results.
    :param unit: shown beside values, e.g. ``s``, ``MiB/s``, ``items``.
    :param higher_is_better: direction for comparisons; None when it has none (a count).
    :param description: one line for ``runner list`` and reports.
    :param key: shown in the terminal table after a run.
    :param floor: the smallest change of the median, in the metric's unit, that matters
        whatever the percentage (``runner compare`` calls smaller ones unchanged): for
        metrics near zero, where 0.01 -> 0.02 is +100% and means nothing.
    """

    name: str
    unit: str
    higher_is_better: bool | None
    description: str = ""
    key: bool = False
    floor: float = 0.0


@dataclasses.dataclass
class RunContext:
    """What the worker gives a model besides its params.

    ``state`` lives from ``setup()`` to ``teardown()``: put servers, pools or files there.
    ``tmpdir`` is a private directory for the trial, removed after it.
    """

    trial_id: str
    tmpdir: Path
    timeout: float
    repeat: int
    warmup: int
    run_index: int = -1
    is_warmup: bool = False
    state: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def cpu_count(self) -> int:
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )


class Model:
    """Convenience base class; override ``run`` and the class attributes."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = Params
    metrics: ClassVar[Sequence[Metric]] = ()

    def prelude(self, params: Any) -> Sequence[str]:
        """Callables (``"module:function"``) to call first in a fresh interpreter.

        Most trials run in a child forked from a clean, pre-imported worker.  A model whose
        trial must change process-global state before anything else is imported (gevent's
        monkey patching) returns them here, and its trial gets a new interpreter instead.
        """
        return ()

    def setup(self, params: Any, ctx: RunContext) -> None:
        """Called once in the worker before the first run (not measured)."""

    def run(self, params: Any, ctx: RunContext) -> Mapping[str, float]:
        raise NotImplementedError

    def teardown(self, params: Any, ctx: RunContext) -> None:
        """Called once after the last run, even when a run raised."""

    def __repr__(self) -> str:
        return f"<model {self.name}>"
