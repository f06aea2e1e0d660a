"""Result records, summary statistics and the JSON result file (a public, versioned format).

The JSON format is documented in docs/results.md; bump SCHEMA_VERSION on any change that
a reader could notice, and keep readers of older versions working.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SCHEMA = "runner.results"
SCHEMA_VERSION = 1

# Trial statuses, in the order a table lists them.
OK, FAILED, TIMEOUT, CRASHED, ERROR = "ok", "failed", "timeout", "crashed", "error"
STATUSES = (OK, FAILED, TIMEOUT, CRASHED, ERROR)


@dataclasses.dataclass
class RunRecord:
    """One run of a trial as the worker measured it."""

    index: int
    warmup: bool
    elapsed_s: float
    cpu_s: float
    metrics: dict[str, float]


@dataclasses.dataclass
class Summary:
    n: int
    median: float
    mean: float
    stdev: float
    min: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        return cls(
            n=len(values),
            median=statistics.median(values),
            mean=statistics.fmean(values),
            stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
            min=min(values),
            max=max(values),
        )


@dataclasses.dataclass
class ExpectCheck:
    """One ``expect`` bound checked on a trial's median."""

    metric: str
    min: float | None
    max: float | None
    median: float | None
    ok: bool

    def describe(self) -> str:
        bounds = " and ".join(
            f"{word} {v:g}"
            for word, v in (("at least", self.min), ("at most", self.max))
            if v is not None
        )
        got = "not reported" if self.median is None else f"median {self.median:.6g}"
        return f"{self.metric} should be {bounds}: {got}"


@dataclasses.dataclass
class TrialResult:
    id: str
    experiment: str
    model: str
    params: dict[str, Any]
    swept: dict[str, Any]
    status: str
    error: str | None = None
    stderr_tail: str = ""
    runs: list[RunRecord] = dataclasses.field(default_factory=list)
    warmup_runs: list[RunRecord] = dataclasses.field(default_factory=list)
    summary: dict[str, Summary] = dataclasses.field(default_factory=dict)
    expect: list[ExpectCheck] = dataclasses.field(default_factory=list)
    duration_s: float = 0.0
    max_rss_kib: int | None = None
    # Where the trial ran when not on the CLI's machine (dask): name, address, environment.
    host: dict[str, Any] | None = None

    def summarize(self) -> None:
        names: dict[str, None] = {}
        for run in self.runs:
            names.update(dict.fromkeys(run.metrics))
        self.summary = {
            name: Summary.of([r.metrics[name] for r in self.runs if name in r.metrics])
            for name in names
        }

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["warmup_runs"] = len(self.warmup_runs)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrialResult:
        data = dict(data)
        runs = [RunRecord(**r) for r in data.pop("runs", [])]
        data.pop("warmup_runs", None)
        summary = {k: Summary(**v) for k, v in data.pop("summary", {}).items()}
        expect = [ExpectCheck(**e) for e in data.pop("expect", [])]
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}, runs=runs, summary=summary,
                   expect=expect)  # fmt: skip


@dataclasses.dataclass
class ExperimentResult:
    name: str
    description: str
    model: str
    spec: str
    repeat: int
    warmup: int
    metrics: dict[str, dict[str, Any]]
    trials: list[TrialResult] = dataclasses.field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExperimentResult:
        return cls(
            name=str(data["name"]),
            description=str(data.get("description", "")),
            model=str(data["model"]),
            spec=str(data.get("spec", "")),
            repeat=int(data.get("repeat", 0)),
            warmup=int(data.get("warmup", 0)),
            metrics=dict(data.get("metrics") or {}),
            trials=[TrialResult.from_json(t) for t in data.get("trials", [])],
        )


@dataclasses.dataclass
class SessionResult:
    run_id: str
    started: str
    finished: str
    environment: dict[str, Any]
    argv: list[str]
    experiments: list[ExperimentResult]
    interrupted: bool = False

    def trials(self) -> Iterable[TrialResult]:
        for exp in self.experiments:
            yield from exp.trials

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionResult:
        """The inverse of ``to_json``, for readers of result files."""
        return cls(
            run_id=str(data.get("run_id", "")),
            started=str(data.get("started", "")),
            finished=str(data.get("finished", "")),
            environment=dict(data.get("environment") or {}),
            argv=list(data.get("argv") or []),
            experiments=[ExperimentResult.from_json(e) for e in data.get("experiments", [])],
            interrupted=bool(data.get("interrupted", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "started": self.started,
            "finished": self.finished,
            "interrupted": self.interrupted,
            "argv": self.argv,
            "environment": self.environment,
            "experiments": [
                {**dataclasses.asdict(e), "trials": [t.to_json() for t in e.trials]}
                for e in self.experiments
            ],
        }


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
