"""Checks that turn a plugin author's mistake into one line naming plugin, model and fix."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from runner.errors import ModelError, PluginError
from runner.model import Metric

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def check_model(model: Any, plugin: str) -> None:
    """Raise PluginError if ``model`` lacks what the core needs."""
    name = getattr(model, "name", None)
    where = f"plugin {plugin!r}, model {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginError(f"{where}: `name` must be an identifier (letters, digits, _ . -)")
    params = getattr(model, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise PluginError(f"{where}: `Params` must be a pydantic model class (subclass runner.Params)")
    try:
        params.model_json_schema()
    except Exception as exc:
        raise PluginError(f"{where}: params schema cannot be built: {exc}") from exc
    metrics = getattr(model, "metrics", None)
    if not metrics or not all(isinstance(m, Metric) for m in metrics):
        raise PluginError(f"{where}: `metrics` must be a non-empty sequence of runner.Metric")
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise PluginError(f"{where}: a metric name appears twice in `metrics`")
    if not callable(getattr(model, "run", None)):
        raise PluginError(f"{where}: `run(params, ctx)` is missing")


def check_metrics(model: Any, values: Any) -> dict[str, float]:
    """Validate what ``run()`` returned; raise ModelError naming the offending metric."""
    if not isinstance(values, Mapping):
        raise ModelError(
            f"model {model.name!r}: run() returned {type(values).__name__}; return a dict of metrics"
        )
    declared = {m.name for m in model.metrics}
    out: dict[str, float] = {}
    for key, value in values.items():
        if key not in declared:
            raise ModelError(
                f"model {model.name!r}: run() returned undeclared metric {key!r}; "
                f"add Metric({key!r}, ...) to `metrics` (declared: {', '.join(sorted(declared))})"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ModelError(
                f"model {model.name!r}: metric {key!r} is {type(value).__name__}, not a number"
            )
        if not math.isfinite(value):
            raise ModelError(f"model {model.name!r}: metric {key!r} is {value}, not a finite number")
        out[key] = value
    return out
