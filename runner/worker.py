"""The worker side: runs trials in fresh child processes.

One worker process per session loads the plugins once and then, for each trial it is
sent, forks a child that becomes its own process group (so a timeout kills everything the
trial started), runs setup, the warmup and measured runs and teardown, and exits.  A trial
whose model needs a prelude (gevent's monkey patching) replaces the child with a new
interpreter that calls the prelude before anything else is imported.

Messages are JSON lines: requests on the worker's stdin, events on its stdout (a channel
the trial's own prints never reach: they go to a per-trial stderr file).

Only the standard library is imported at module level: in a fresh interpreter the prelude
must run before pydantic, pluggy's users or the plugins are imported.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from typing import Any

# Started with -c rather than -m: a trial's spawn and forkserver children re-import the
# parent's main module when it has a name, and should pay only for their own imports.
# -c puts the working folder first on the path; the worker's path starts instead with the
# folder holding the caller's own runner package, then the caller's own first entry, so it
# imports the same runner and sees the same modules as the command that started it.
_BOOT = (
    "import sys; sys.path[0:1] = {path!r}; "
    "from runner.worker import main; sys.exit(main(sys.argv[1:]))"
)


def command(*args: str) -> list[str]:
    """The command line that starts a worker."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # In a worker, sys.path[0] is already root: the caller's entry is the next one.
    first = [p for p in map(os.path.abspath, sys.path[:2]) if p != root][:1]
    return [sys.executable, "-c", _BOOT.format(path=[root, *first]), *args]


def _sender(fd: int) -> Any:
    def send(event: dict[str, Any]) -> None:
        data = (json.dumps(event) + "\n").encode()
        while data:
            data = data[os.write(fd, data) :]

    return send


def serve() -> int:
    """Worker main loop: read the plugin config, then one trial request per line."""
    channel = os.dup(1)
    os.dup2(2, 1)  # stray prints from plugin imports must not corrupt the channel
    send = _sender(channel)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the CLI decides what Ctrl-C does
    config = json.loads(sys.stdin.readline())
    try:
        host = _build_host(config)
    except Exception as exc:
        from runner.errors import RunnerError

        code = 2 if isinstance(exc, RunnerError) else 3
        send({"ev": "fatal", "message": str(exc), "code": code})
        return code
    send({"ev": "ready", "pid": os.getpid()})
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _child(request, host, channel)
        send({"ev": "started", "pid": pid})
        _, status = os.waitpid(pid, 0)
        # Whatever the trial left running in its group goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        send(
            {
                "ev": "exit",
                "pid": pid,
                "code": os.waitstatus_to_exitcode(status),
            }
        )
    return 0


def _build_host(config: dict[str, Any]) -> Any:
    from runner.plugins import PluginConfig, build

    host = build(PluginConfig(**config))
    host.models()  # import and check every model once, before any fork
    return host


def _child(request: dict[str, Any], host: Any, channel: int) -> None:
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _redirect(request["stderr"])
        if request.get("prelude"):
            os.set_inheritable(channel, True)
            os.execv(sys.executable, command("--exec", str(channel), json.dumps(request)))
        code = run_trial(request, host, _sender(channel))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _redirect(path: str) -> None:
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)


def run_trial(request: dict[str, Any], host: Any, send: Any) -> int:
    """Run setup, warmup and measured runs, teardown; report each run on ``send``."""
    import resource
    import shutil
    import tempfile
    import traceback
    from pathlib import Path

    from runner.errors import ModelError
    from runner.model import RunContext
    from runner.modelcheck import check_metrics

    trial = request["trial"]
    model = host.models()[trial["model"]]
    params = model.Params.model_validate_json(json.dumps(trial["params"]))
    tmpdir = Path(tempfile.mkdtemp(prefix="runner-trial-"))
    ctx = RunContext(trial["id"], tmpdir, trial["timeout"], trial["repeat"], trial["warmup"])
    failure: str | None = None
    stage = "setup"
    try:
        send({"ev": "phase", "phase": "setup"})
        model.setup(params, ctx)
        total = trial["warmup"] + trial["repeat"]
        for i in range(total):
            ctx.is_warmup = i < trial["warmup"]
            ctx.run_index = i if ctx.is_warmup else i - trial["warmup"]
            stage = f"run {i + 1}"
            send({"ev": "phase", "phase": "run", "i": i})
            cpu0 = _cpu(resource)
            t0 = time.perf_counter_ns()
            values = model.run(params, ctx)
            elapsed = (time.perf_counter_ns() - t0) / 1e9
            cpu = _cpu(resource) - cpu0
            metrics = check_metrics(model, values)
            send({"ev": "run", "index": ctx.run_index, "warmup": ctx.is_warmup,
                  "elapsed_s": elapsed, "cpu_s": cpu, "metrics": metrics})  # fmt: skip
        stage = "teardown"
    except ModelError as exc:
        failure = f"{stage}: {exc}"
    except BaseException as exc:
        traceback.print_exc()
        failure = f"{stage}: {type(exc).__name__}: {exc}"
    finally:
        try:
            model.teardown(params, ctx)
        except BaseException as exc:
            traceback.print_exc()
            failure = failure or f"teardown: {type(exc).__name__}: {exc}"
        shutil.rmtree(tmpdir, ignore_errors=True)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if failure is not None:
        send({"ev": "error", "message": failure, "max_rss_kib": rss_kib})
        return 1
    send({"ev": "done", "max_rss_kib": rss_kib})
    return 0


def _cpu(resource: Any) -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def exec_trial(channel: int, request: dict[str, Any]) -> int:
    """Fresh-interpreter path: the prelude first, then the plugins, then the trial."""
    import importlib

    for target in request["prelude"]:
        module, _, func = target.partition(":")
        getattr(importlib.import_module(module), func)()
    send = _sender(channel)
    try:
        host = _build_host(request["plugins"])
    except Exception as exc:
        send({"ev": "error", "message": f"worker: {exc}"})
        return 1
    return run_trial(request, host, send)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--exec"]:
        return exec_trial(int(argv[1]), json.loads(argv[2]))
    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
