"""runner: a plugin-based experiment runner for concurrency models.

Kept light on purpose: a worker imports this before a model's prelude (gevent's monkey
patching) runs, so nothing here may import threading, msgspec or the plugins; and the
children of the process models (spawn, forkserver) and of the network models' forker
import it for their targets, so not even pluggy until ``hookimpl`` is asked for.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from runner import checkout

if TYPE_CHECKING:
    import pluggy

checkout.install(os.path.dirname(__file__))

__version__ = "0.1.0"
# The name on the package index (`runner` there is an unrelated project); the import
# package and the command are `runner`.
DISTRIBUTION = "concurrency-runner"

hookimpl: pluggy.HookimplMarker
"""Marker for hook implementations: ``@runner.hookimpl``."""

_LAZY = {
    "Model": "runner.model",
    "Metric": "runner.model",
    "Params": "runner.model",
    "RunContext": "runner.model",
    "ModelError": "runner.errors",
}


def __getattr__(name: str) -> Any:
    # The public API is importable from the package without paying for msgspec up front.
    if name == "hookimpl":
        import pluggy

        marker = globals()["hookimpl"] = pluggy.HookimplMarker("runner")
        return marker
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")


__all__ = ["Metric", "Model", "ModelError", "Params", "RunContext", "__version__", "hookimpl"]
