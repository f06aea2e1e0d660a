"""What a model is: the public API for plugin authors.

A model is an object with a ``name``, a one-line ``description``, a ``Params`` class (a
msgspec struct: the params schema), the ``metrics`` it reports, and ``run()``.  Subclass
:class:`Model` to get the defaults; anything with the same attributes works.

A trial runs in a fresh worker process: ``setup()`` once, then ``run()`` for each warmup
and measured run, then ``teardown()`` (always).  ``run()`` returns a mapping of declared
metric names to numbers; it may leave out a metric that does not apply to its params.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base class of a model's params schema (a msgspec struct): strict types, unknown
    keys refused.

    Strict means a bool is not a number, 2.5 is not an int and "3" is not a number; NaN
    and infinities are refused.  Declare bounds and a description per field with
    ``Annotated[int, msgspec.Meta(ge=1, description="...")] = 8``: ``runner list`` and
    ``runner schema`` show them.  Checks across fields go in ``__post_init__``, raising
    ``ValueError`` with a message that says what to change.
    """


def convert(schema: type[Any], data: Any) -> Any:
    """``data`` (a mapping) as an instance of ``schema``; ``msgspec.ValidationError``
    otherwise.  Field types of their own (a CPU set, a size) parse through their
    ``parse`` class method."""
    _refuse_non_finite(data, "$")
    return msgspec.convert(data, schema, dec_hook=_parse_custom)


def field_names(schema: type[Any]) -> list[str]:
    """The fields of a params (or any struct) class, in declaration order."""
    return list(schema.__struct_fields__)


def field_defaults(schema: type[Any]) -> dict[str, Any]:
    """The default of each field that has one (a default factory called), by name."""
    out = {}
    for info in msgspec.structs.fields(schema):
        if info.default is not msgspec.NODEFAULT:
            out[info.name] = info.default
        elif info.default_factory is not msgspec.NODEFAULT:
            out[info.name] = info.default_factory()
    return out


def json_schema_hook(kind: type) -> dict[str, Any]:
    """The JSON Schema of a field type of runner's own (its ``json_schema``)."""
    schema = getattr(kind, "json_schema", None)
    if schema is None:
        raise NotImplementedError(f"{kind.__name__} has no JSON Schema")
    return dict(schema)


def dump(params: Any) -> dict[str, Any]:
    """Params (or any struct) as plain JSON values."""
    out: dict[str, Any] = msgspec.to_builtins(params, enc_hook=_plain)
    return out


def _plain(value: Any) -> Any:
    # A field type of runner's own (a CPU set, a server address) is its base type's value.
    for base in (str, int, float, list):
        if isinstance(value, base):
            return base(value)  # type: ignore[arg-type]  # value is a base
    raise TypeError(f"{type(value).__name__} is not a type a spec can hold")


def _refuse_non_finite(value: Any, path: str) -> None:
    # msgspec takes NaN and infinities for a float; a spec that says .nan means a mistake.
    if isinstance(value, float) and not math.isfinite(value):
        raise msgspec.ValidationError(f"Expected a finite number - at `{path}`")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_non_finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_non_finite(item, f"{path}[{i}]")


def _parse_custom(kind: type, value: Any) -> Any:
    parse = getattr(kind, "parse", None)
    if parse is None:
        raise NotImplementedError(f"{kind.__name__} is not a type a spec can hold")
    return parse(value)


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
