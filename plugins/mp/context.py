"""A multiprocessing context for the process and queue models."""

from __future__ import annotations

import sys
from typing import Any


def get_context(method: str) -> Any:
    """``multiprocessing.get_context(method)``, with forkserver preloading the main module.

    A forkserver child imports the parent's main module before running its target.  When
    that module is a script, the server imports it once and its children inherit it; when
    the program was started with ``python -m NAME`` (as trial workers are), nothing is
    preloaded by default and every child imports NAME again, which start_ms would then
    measure.  Preloading NAME gives both the same one-time cost.
    """
    import multiprocessing

    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        name = getattr(spec, "name", None)
        if name and name != "__main__":
            ctx.set_forkserver_preload(["__main__", name])
    return ctx
