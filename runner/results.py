"""Result records, summary statistics and the JSON result file (a public, versioned format).

The JSON format is documented in docs/results.md; bump SCHEMA_VERSION on any change that
a reader could notice, and keep readers of older versions working.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from runner.stats import median_interval, relative_halfwidth


def _statistics() -> Any:
    # Imported when a summary is made: the commands that make none start without it.
    import statistics

    return statistics


SCHEMA = "runner.results"
SCHEMA_VERSION = 1


class Status(str, enum.Enum):
    """How a trial ended, in the order a table lists them; compares equal to its value."""

    OK = "ok"  #: every run finished and every expectation held
    FAILED = "failed"  #: an ``expect:`` bound was missed
    TIMEOUT = "timeout"  #: a phase ran past the timeout; the trial's processes were killed
    CRASHED = "crashed"  #: the trial process died: a signal, an exit, out of memory
    ERROR = "error"  #: the model raised, or reported bad metrics

    def __str__(self) -> str:
        return self.value


OK, FAILED, TIMEOUT, CRASHED, ERROR = Status
STATUSES = tuple(Status)


@dataclasses.dataclass
class RunRecord:
    """One run of a trial as the worker measured it."""

    index: int
    warmup: bool
    elapsed_s: float
    cpu_s: float
    metrics: dict[str, float]


UNSTABLE_PCT = 10.0  # a median known no better than this (95% interval, +-) is unstable


@dataclasses.dataclass
class Summary:
    """A metric over a trial's measured runs.

    ``ci_low``/``ci_high`` bracket the median with probability ``ci_level`` (95%, or less
    with fewer than 6 runs), distribution-free; ``unstable`` when that interval reaches
    further than UNSTABLE_PCT from a median far from zero.  Results written before these
    were recorded read as None / False.
    """

    n: int
    median: float
    mean: float
    stdev: float
    min: float
    max: float
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    unstable: bool = False

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        # Scaled by a power of two (exact) into [-1, 1], so sums of values near the float
        # limit (1e308) cannot overflow; scaled back, the median and mean are within range.
        floats = [float(v) for v in values]
        shift = math.frexp(max(abs(v) for v in floats))[1]
        scaled = [math.ldexp(v, -shift) for v in floats]

        def back(x: float) -> float:
            try:
                return math.ldexp(x, shift)
            except OverflowError:  # a spread wider than any float: said as infinite
                return math.inf

        median = back(_statistics().median(scaled))
        ci = median_interval(floats)
        rel = relative_halfwidth(median, ci.low, ci.high)
        return cls(
            n=len(values),
            median=median,
            mean=back(_statistics().fmean(scaled)),
            stdev=back(_statistics().stdev(scaled)) if len(values) > 1 else 0.0,
            min=min(values),
            max=max(values),
            ci_low=ci.low,
            ci_high=ci.high,
            ci_level=round(ci.confidence, 4),
            unstable=rel is not None and rel > UNSTABLE_PCT,
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
    status: Status
    error: str | None = None
    stderr_tail: str = ""
    runs: list[RunRecord] = dataclasses.field(default_factory=list)
    warmup_runs: list[RunRecord] = dataclasses.field(default_factory=list)
    summary: dict[str, Summary] = dataclasses.field(default_factory=dict)
    expect: list[ExpectCheck] = dataclasses.field(default_factory=list)
    duration_s: float = 0.0
    max_rss_kib: int | None = None
    cpus: list[int] | None = None  # the CPUs the trial was pinned to (--affinity, cpus:)
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
        data["status"] = Status(data.get("status", ERROR))
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
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # mkstemp makes the file 0600; a result file is for sharing, as the umask says.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_writable(path: Path, option: str = "-o") -> None:
    """Refuse, before any work is done, an output file that could not be written.

    Tried for real (a temp file in the folder the file would go to), as permission bits
    do not tell a read-only mount, and root passes them all.
    """
    import tempfile

    from runner.errors import UsageError

    if path.is_dir():
        raise UsageError(f"{path}: is a directory; give {option} a file name such as "
                         f"{path / 'results.json'}")  # fmt: skip
    folder = path.parent
    while not folder.exists():  # write_json creates the missing folders
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{path}: {folder} is not a directory; give {option} another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot write in {folder} ({exc.strerror}); give {option} another path"
        ) from None
    os.close(fd)
    os.unlink(probe)
