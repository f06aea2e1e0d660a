"""A test model for the dask executor: says where it ran, and waits for a gate file.

Each run writes ``PID PPID`` to ``MARKER.LABEL`` (when ``marker`` is set), then, when
``gate`` is set, waits for ``GATE.LABEL`` to exist (bounded by the trial's timeout).
Its ``__version__`` comes from ``DASK_PROBE_VERSION``, so a test can give the CLI and
the workers different versions.
On the CLI side it also logs every ``runner_run_done`` to ``$DASK_PROBE_RUNLOG``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext

__version__ = os.environ.get("DASK_PROBE_VERSION", "1.0")


class ProbeParams(Params):
    label: Annotated[int, Meta(ge=0)] = 0
    marker: str = ""
    gate: str = ""
    gate_from_run: Annotated[int, Meta(ge=0, description="runs before this one do not wait")] = 0
    seconds: Annotated[float, Meta(ge=0, le=60)] = 0.0


class Probe(Model):
    name = "dask_probe"
    description = "Says where it ran; waits for a gate file"
    Params = ProbeParams
    metrics = (Metric("pid", "", None),)

    def run(self, params: ProbeParams, ctx: RunContext) -> dict[str, float]:
        if params.marker:
            with open(f"{params.marker}.{params.label}", "a") as fh:
                fh.write(f"{os.getpid()} {os.getppid()}\n")
        if params.gate and ctx.run_index >= params.gate_from_run and not ctx.is_warmup:
            while not Path(f"{params.gate}.{params.label}").exists():
                time.sleep(0.01)  # the trial's timeout bounds this wait
        time.sleep(params.seconds)
        return {"pid": os.getpid()}


@hookimpl
def runner_models() -> list[Model]:
    return [Probe()]


@hookimpl
def runner_run_done(trial, record) -> None:
    log = os.environ.get("DASK_PROBE_RUNLOG")
    if log:
        with open(log, "a") as fh:
            fh.write(f"{trial.id} {record.index}\n")
