"""A multiprocessing context for the process and queue models."""

from __future__ import annotations

import sys
from typing import Any


def get_context(method: str) -> Any:
    """``multiprocessing.get_context(method)``, with forkserver preloading the main module
    and the modules of the models' targets.

    A forkserver child imports the parent's main module, and its target's module, before
    running the target.  When the main module is a script, the server imports it once and
    its children inherit it; when the program was started with ``python -m NAME``, nothing
    is preloaded by default and every child imports NAME again, which start_ms would then
    measure.  The targets' modules (and the runner package above them: 16 ms a child) are
    the same: a plain script's targets live in its main module.  Preloading gives each a
    one-time cost, paid by the unmeasured first start.
    """
    import multiprocessing

    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        builtins = __package__.rpartition(".")[0]
        preload = [f"{__package__}.targets", f"{builtins}.tasks"]
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        name = getattr(spec, "name", None)
        if name and name != "__main__":
            preload[:0] = ["__main__", name]
        ctx.set_forkserver_preload(preload)
    return ctx
