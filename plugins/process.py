"""Model ``process``: tasks in processes, start methods, terminate and daemon children.

Workloads:

- ``tasks``: ``processes`` children run one task each at once, against one child running
  the same tasks in turn; ``speedup`` shows CPU tasks escaping the GIL that threads share.
- ``start``: ``processes`` children started and joined one after another (a no-op
  target): what each start method costs.
- ``terminate``: a long child is terminated ``after_s`` after it starts running.
- ``daemon``: an intermediate process starts a daemonic (or not) child and returns at
  once; ``side_effect`` says whether the child lived to write its file.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from msgspec import Meta

from runner import hookimpl
from runner.errors import ModelError
from runner.model import Metric, Model, Params, RunContext


class ProcessParams(Params):
    workload: Annotated[
        Literal["tasks", "start", "terminate", "daemon"],
        Meta(description="what the run does (see the model description)"),
    ] = "tasks"
    start_method: Annotated[
        Literal["fork", "spawn", "forkserver"],
        Meta(description="multiprocessing start method of every child"),
    ] = "fork"
    processes: Annotated[
        int,
        Meta(
            ge=1, le=256, description="tasks: children run at once; start: children started in turn"
        ),
    ] = 2
    task: Annotated[
        Literal["sleep", "cpu", "noop"],
        Meta(description="what each child runs"),
    ] = "sleep"
    task_seconds: Annotated[float, Meta(ge=0, le=3600, description="sleep task: seconds")] = 0.2
    cpu_iterations: Annotated[
        int, Meta(ge=1, le=10_000_000_000, description="cpu task: loop iterations")
    ] = 1_000_000
    passing: Annotated[
        Literal["args", "kwargs"],
        Meta(description="tasks: hand the task's arguments to Process as args= or kwargs="),
    ] = "args"
    baseline: Annotated[
        bool, Meta(description="tasks: also run the tasks in one child, in turn, for `speedup`")
    ] = True
    after_s: Annotated[
        float,
        Meta(ge=0, le=3600, description="terminate: seconds the child runs before terminate()"),
    ] = 0.1
    daemon: Annotated[bool, Meta(description="daemon: the child's daemon flag")] = False
    parent: Annotated[
        Literal["fresh", "trial"],
        Meta(
            description="start: start children from a fresh interpreter holding only "
            "multiprocessing (like a small script), or from the trial process with the runner "
            "loaded (fork costs more)"
        ),
    ] = "fresh"


def _ms(ns: int) -> float:
    return ns / 1e6


class ProcessModel(Model):
    name = "process"
    description = "Tasks in N processes vs one, start methods, terminate, daemon children"
    Params = ProcessParams
    metrics = (
        Metric("wall_s", "s", False, "tasks: N children at once, one task each", key=True),
        Metric("serial_s", "s", False, "tasks: one child running the N tasks in turn"),
        Metric("speedup", "x", True, "tasks: serial_s / wall_s", key=True),
        Metric("args_ok", "bool", True, "tasks: every child got exactly the arguments passed"),
        Metric("start_ms", "ms", False, "mean time in Process.start()", key=True),
        Metric("join_ms", "ms", False, "mean time in join() after start() returned"),
        Metric("start_join_ms", "ms", False, "start: start_ms + join_ms, per process", key=True),
        Metric("terminate_latency_ms", "ms", False, "terminate: terminate() to join()", key=True),
        Metric("exitcode", "code", None, "terminate: the child's exit code (-15 = SIGTERM)"),
        Metric("terminated", "bool", None, "terminate: the child died of SIGTERM", key=True),
        Metric("side_effect", "bool", None, "daemon: the child wrote its file", key=True),
        Metric("parent_exit_ms", "ms", None, "daemon: parent's return to its exit"),
        Metric("leftover", "processes", False, "children alive after it (must be 0)", key=True),
    )  # fmt: skip

    def setup(self, params: ProcessParams, ctx: RunContext) -> None:
        from .mp.context import get_context

        ctx.state["mp"] = get_context(params.start_method)
        ctx.state["procs"] = []

    def run(self, params: ProcessParams, ctx: RunContext) -> dict[str, float]:
        mp: Any = ctx.state["mp"]
        rundir = ctx.tmpdir / f"run{ctx.run_index}{'w' if ctx.is_warmup else ''}"
        rundir.mkdir()
        deadline = time.monotonic() + ctx.timeout
        if params.workload == "tasks":
            out = _tasks(params, mp, ctx, rundir, deadline)
        elif params.workload == "start":
            out = _start(params, mp, ctx, deadline)
        elif params.workload == "terminate":
            out = _terminate(params, mp, ctx, deadline)
        else:
            out = _daemon(params, mp, ctx, rundir, deadline)
        # Joined children are done with; keep only those teardown may still have to stop.
        ctx.state["procs"] = [p for p in ctx.state["procs"] if p.exitcode is None]
        pids = ctx.state.pop("pids", [])
        out["leftover"] = sum(_alive(pid) for pid in pids)
        return out

    def teardown(self, params: ProcessParams, ctx: RunContext) -> None:
        # A run that raised may leave children behind; they must not outlive the trial.
        for proc in ctx.state.get("procs", []):
            if proc.pid is None:  # never started
                continue
            if proc.is_alive():
                proc.kill()
            proc.join(5)


def _task_value(params: ProcessParams) -> float:
    return params.cpu_iterations if params.task == "cpu" else params.task_seconds


def _spawn(mp: Any, ctx: RunContext, **kwargs: Any) -> Any:
    proc = mp.Process(**kwargs)
    ctx.state["procs"].append(proc)
    return proc


def _join(proc: Any, deadline: float) -> None:
    proc.join(max(0.0, deadline - time.monotonic()))
    if proc.exitcode is None:
        raise ModelError(f"child {proc.pid} still running at the run's timeout")
    if proc.exitcode != 0:
        raise ModelError(f"child {proc.pid} exited with code {proc.exitcode}")


def _call(params: ProcessParams, report: Path, count: int) -> dict[str, Any]:
    values = (str(report), params.task, _task_value(params), count)
    if params.passing == "args":
        return {"args": values}
    return {"kwargs": dict(zip(("report", "task", "value", "count"), values, strict=True))}


def _tasks(
    params: ProcessParams, mp: Any, ctx: RunContext, rundir: Path, deadline: float
) -> dict[str, float]:
    n = params.processes
    calls = [_call(params, rundir / f"child{i}.json", 1) for i in range(n)]
    procs = [_spawn(mp, ctx, target=_target("task_child"), **c) for c in calls]
    starts = []
    t0 = time.perf_counter_ns()
    for proc in procs:
        s = time.perf_counter_ns()
        proc.start()
        starts.append(time.perf_counter_ns() - s)
    for proc in procs:
        _join(proc, deadline)
    wall = time.perf_counter_ns() - t0
    out = {"wall_s": wall / 1e9, "start_ms": _ms(sum(starts)) / n}
    reports = [rundir / f"child{i}.json" for i in range(n)]
    if params.baseline:
        call = _call(params, rundir / "serial.json", n)
        proc = _spawn(mp, ctx, target=_target("task_child"), **call)
        t0 = time.perf_counter_ns()
        proc.start()
        _join(proc, deadline)
        serial = time.perf_counter_ns() - t0
        out["serial_s"] = serial / 1e9
        out["speedup"] = serial / wall
        calls.append(call)
        reports.append(rundir / "serial.json")
        procs.append(proc)
    ctx.state["pids"] = [p.pid for p in procs]
    out["args_ok"] = float(all(_passed_ok(r, c) for r, c in zip(reports, calls, strict=True)))
    return out


def _passed_ok(report: Path, call: dict[str, Any]) -> bool:
    """The child saw the same positional and keyword arguments the parent passed."""
    try:
        seen = json.loads(report.read_text())
    except (OSError, ValueError):
        return False
    return seen["args"] == list(call.get("args", ())) and seen["kwargs"] == call.get("kwargs", {})


def _start(params: ProcessParams, mp: Any, ctx: RunContext, deadline: float) -> dict[str, float]:
    if params.parent == "fresh":
        data = _start_fresh(params, ctx, deadline)
        start_ns, join_ns, pids = sum(data["start_ns"]), sum(data["join_ns"]), data["pids"]
    else:
        from .tasks import noop_task

        start_ns = join_ns = 0
        pids = []
        for _ in range(params.processes):
            proc = _spawn(mp, ctx, target=noop_task)
            t0 = time.perf_counter_ns()
            proc.start()
            t1 = time.perf_counter_ns()
            _join(proc, deadline)
            t2 = time.perf_counter_ns()
            start_ns += t1 - t0
            join_ns += t2 - t1
            pids.append(proc.pid)
    ctx.state["pids"] = pids
    n = params.processes
    return {
        "start_ms": _ms(start_ns) / n,
        "join_ms": _ms(join_ns) / n,
        "start_join_ms": _ms(start_ns + join_ns) / n,
    }


def _start_fresh(params: ProcessParams, ctx: RunContext, deadline: float) -> dict[str, Any]:
    """Run plugins/mp/starts.py in a new interpreter and read its timings."""
    import subprocess
    import sys

    import runner

    # The folder holding this runner, so the new interpreter imports the same built-ins.
    root = str(Path(runner.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    # With -c the parent has no main module for spawn and forkserver children to import again.
    code = "import sys; from runner.builtins.mp.starts import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, params.start_method, str(params.processes)]
    try:
        timeout = max(0.1, deadline - time.monotonic())
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            cwd=ctx.tmpdir,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ModelError("start: the fresh parent still starting children at the timeout") from None
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ModelError(f"start: the fresh parent exited with code {proc.returncode}: {tail[0]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _terminate(
    params: ProcessParams, mp: Any, ctx: RunContext, deadline: float
) -> dict[str, float]:
    reader, writer = mp.Pipe(duplex=False)
    proc = _spawn(
        mp, ctx, target=_target("long_child"), args=(writer, params.task, _task_value(params))
    )
    proc.start()
    writer.close()
    # Wait until the child runs its task, so what is measured is terminating a running child
    # (a spawn child can take tens of milliseconds to get there).
    if not reader.poll(max(0.0, deadline - time.monotonic())):
        raise ModelError("child never reported running")
    reader.recv()
    reader.close()
    time.sleep(params.after_s)
    t0 = time.perf_counter_ns()
    proc.terminate()
    proc.join(max(0.0, deadline - time.monotonic()))
    latency = time.perf_counter_ns() - t0
    if proc.exitcode is None:
        raise ModelError(f"child {proc.pid} survived terminate() until the run's timeout")
    ctx.state["pids"] = [proc.pid]
    return {
        "terminate_latency_ms": _ms(latency),
        "exitcode": proc.exitcode,
        "terminated": float(proc.exitcode == -signal.SIGTERM and not _alive(proc.pid)),
    }


def _daemon(
    params: ProcessParams, mp: Any, ctx: RunContext, rundir: Path, deadline: float
) -> dict[str, float]:
    marker = rundir / "side-effect"
    reader, writer = mp.Pipe(duplex=False)
    kwargs = {"start_method": params.start_method, "daemon": params.daemon, "marker": str(marker),
              "task": params.task, "value": _task_value(params)}  # fmt: skip
    parent = _spawn(mp, ctx, target=_target("daemon_parent"), args=(writer,), kwargs=kwargs)
    parent.start()
    writer.close()
    if not reader.poll(max(0.0, deadline - time.monotonic())):
        raise ModelError("parent process never reported its child")
    child_pid = reader.recv()
    t0 = time.perf_counter_ns()
    reader.close()
    _join(parent, deadline)
    exit_ns = time.perf_counter_ns() - t0
    written = marker.exists() and marker.read_text() == str(child_pid)
    ctx.state["pids"] = [parent.pid, child_pid]
    return {"side_effect": float(written), "parent_exit_ms": _ms(exit_ns)}


def _target(name: str) -> Any:
    from .mp import targets

    return getattr(targets, name)


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie has finished: only its exit status is left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # reused by another user's process: not ours
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


@hookimpl
def runner_models() -> list[Model]:
    return [ProcessModel()]
