"""The worker side: runs trials in fresh child processes.

One worker process per session loads the plugins once and then, for each trial it is
sent, forks a child that leads its own session and process group, runs setup, the warmup
and measured runs and teardown, and exits.  A trial whose model needs a prelude (gevent's
monkey patching) replaces the child with a new interpreter that calls the prelude before
anything else is imported.

Nothing a trial starts outlives it (runner/containment.py): the worker is a child
subreaper and kills every descendant it still has when a trial ends; it dies with the
runner (a parent-death signal) and, when its stdin closes, kills the running trial and
everything below it and exits.

Messages (runner/messages.py) are JSON lines: requests on the worker's stdin, events on a
channel of their own (a trial's own prints never reach it: they go to a stderr file).

Only the standard library is imported at module level: in a fresh interpreter the prelude
must run before msgspec, pluggy's users or the plugins are imported.
"""

from __future__ import annotations

import contextlib
import gc
import os
import selectors
import shutil
import signal
import sys
import time
from typing import Any

from runner import containment
from runner import messages as m

# Started with -c rather than -m: a trial's spawn and forkserver children re-import the
# parent's main module when it has a name, and should pay only for their own imports.
# -c puts the working folder first on the path; the worker's path starts instead with the
# folder holding the caller's own runner package, then the caller's own first entry, so it
# imports the same runner and sees the same modules as the command that started it.
_BOOT = (
    "import sys; sys.path[0:1] = {path!r}; "
    "from runner.worker import main; sys.exit(main(sys.argv[1:]))"
)
PARENT_ENV = "RUNNER_WORKER_PARENT"  # the runner's pid, to tie the worker's life to it


def command(*args: str) -> list[str]:
    """The command line that starts a worker."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # In a worker, sys.path[0] is already root: the caller's entry is the next one.
    first = [p for p in map(os.path.abspath, sys.path[:2]) if p != root][:1]
    return [sys.executable, "-c", _BOOT.format(path=[root, *first]), *args]


def _sender(fd: int) -> Any:
    def send(message: m.Message) -> None:
        data = m.encode(message)
        while data:
            data = data[os.write(fd, data) :]

    return send


class _Lines:
    """Lines of the worker's stdin, read without a buffer that would hide them from select."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.eof = False

    def feed(self) -> None:
        chunk = os.read(self.fd, 65536)
        self.eof = not chunk
        self.buf += chunk

    def next(self) -> bytes | None:
        while b"\n" not in self.buf:
            if self.eof:
                return None
            self.feed()
        line, self.buf = self.buf.split(b"\n", 1)
        return line


class _Stop(Exception):
    """The runner is gone (stdin closed) or sent SIGTERM/SIGHUP: clean up and exit."""


_STOPS = {signal.SIGTERM, signal.SIGHUP}


def _stopping() -> None:
    # Held from here on: the clean-up must not be cut short by the next one (the runner's
    # death brings both stdin EOF and the parent-death SIGTERM).
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)


def _stop(signum: int, frame: object) -> None:
    _stopping()
    raise _Stop


def serve() -> int:
    """Worker main loop: read the plugin config, then one trial request per line."""
    parent = os.environ.pop(PARENT_ENV, None)
    if parent:
        containment.die_with_parent(int(parent), signal.SIGTERM)
    containment.become_subreaper()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the CLI decides what Ctrl-C does
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    channel = os.dup(1)
    os.dup2(2, 1)  # stray prints from plugin imports must not corrupt the channel
    send = _sender(channel)
    lines = _Lines(0)
    current: m.RunTrial | None = None
    try:
        first = lines.next()
        if first is None:
            return 0
        config = m.decode_as(first, m.Configure)
        try:
            host = _build_host(config.plugins)
        except Exception as exc:
            from runner.errors import RunnerError

            code = 2 if isinstance(exc, RunnerError) else 3
            send(m.Fatal(str(exc), code))
            return code
        send(m.Ready(os.getpid()))
        while (line := lines.next()) is not None:
            current = m.decode_as(line, m.RunTrial)
            params = _prepare(host, current)
            sys.stdout.flush()
            sys.stderr.flush()
            # What the worker holds (plugins, their params classes) leaves the collector's
            # generations: the trial's collections neither scan it nor, by touching each
            # object's header, copy the pages it shares with the worker.  10,000 greenlets
            # took 14% longer to connect without it.
            gc.freeze()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child never returns
                _child(current, host, channel, params)
            send(m.Started(pid))
            status = _wait(pid, lines)
            # Whatever the trial started goes with it: its group, then every descendant
            # the subreaper collected (daemons that left the group included).
            containment.kill_group(pid)
            containment.kill_descendants()
            send(m.Exit(pid, os.waitstatus_to_exitcode(status)))
            current = None
    except (_Stop, BrokenPipeError):
        return 0
    finally:
        _stopping()
        containment.kill_descendants()
        if current is not None:  # the runner may be gone: nobody else removes these
            _remove(current)
    return 0


def _wait(pid: int, lines: _Lines) -> int:
    """The child's wait status; raises _Stop when stdin closes first."""
    pidfd = os.pidfd_open(pid)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(pidfd, selectors.EVENT_READ)
            sel.register(lines.fd, selectors.EVENT_READ)
            while True:
                for key, _ in sel.select():
                    if key.fd == pidfd:
                        return os.waitpid(pid, 0)[1]
                    lines.feed()  # the executor sends nothing during a trial but EOF
                    if lines.eof:
                        _stopping()
                        raise _Stop
    finally:
        os.close(pidfd)


def _remove(request: m.RunTrial) -> None:
    shutil.rmtree(request.tmpdir, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.unlink(request.stderr)


def _build_host(config: dict[str, Any]) -> Any:
    from runner.plugins import PluginConfig, build

    host = build(PluginConfig(**config))
    host.import_models()  # once, before any fork
    return host


def _prepare(host: Any, request: m.RunTrial) -> Any:
    """The trial's params, built here once before the fork, and the prelude its model
    asks for.

    The params were validated when the spec was loaded; on the unlikely failure here the
    child validates again and reports the error as the trial's.
    """
    from runner.model import convert

    try:
        model = host.models()[request.trial["model"]]
        params = convert(model.Params, request.trial["params"])
        request.prelude = list(model.prelude(params))
    except Exception:
        return None
    return params


def _child(request: m.RunTrial, host: Any, channel: int, params: Any) -> None:
    code = 1
    try:
        os.setsid()
        if request.trial.get("cpus"):  # the trial and all it starts stay on these CPUs
            os.sched_setaffinity(0, request.trial["cpus"])
        containment.die_with_parent(os.getppid())
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        _redirect(request.stderr)
        if request.max_memory:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (request.max_memory, request.max_memory))
        if request.prelude:
            os.set_inheritable(channel, True)
            os.execv(sys.executable, command("--exec", str(channel), m.encode(request).decode()))
        code = run_trial(request, host, _sender(channel), params)
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


def run_trial(request: m.RunTrial, host: Any, send: Any, params: Any = None) -> int:
    """Run setup, warmup and measured runs, teardown; report each run on ``send``.

    ``params`` are the trial's, built by the worker; None builds them here.
    """
    import resource
    import traceback
    from pathlib import Path

    from runner.errors import ModelError
    from runner.model import RunContext, convert
    from runner.modelcheck import check_metrics

    trial = request.trial
    model = host.models()[trial["model"]]
    if params is None:
        params = convert(model.Params, trial["params"])
    tmpdir = Path(request.tmpdir)
    ctx = RunContext(trial["id"], tmpdir, trial["timeout"], trial["repeat"], trial["warmup"])
    failure: str | None = None
    out_of_memory = False
    stage = "setup"
    try:
        send(m.Phase("setup"))
        model.setup(params, ctx)
        total = trial["warmup"] + trial["repeat"]
        for i in range(total):
            ctx.is_warmup = i < trial["warmup"]
            ctx.run_index = i if ctx.is_warmup else i - trial["warmup"]
            stage = f"run {i + 1}"
            send(m.Phase("run", i))
            cpu0 = _cpu(resource)
            t0 = time.perf_counter_ns()
            values = model.run(params, ctx)
            elapsed = (time.perf_counter_ns() - t0) / 1e9
            cpu = _cpu(resource) - cpu0
            metrics = check_metrics(model, values)
            send(m.Run(ctx.run_index, ctx.is_warmup, elapsed, cpu, metrics))
        stage = "teardown"
    except ModelError as exc:
        failure = f"{stage}: {exc}"
    except MemoryError:
        out_of_memory = True
        failure = f"{stage}: out of memory"
    except BaseException as exc:
        traceback.print_exc()
        failure = f"{stage}: {type(exc).__name__}: {exc}"
    finally:
        try:
            send(m.Phase("teardown"))
            model.teardown(params, ctx)
        except MemoryError:
            out_of_memory = True
            failure = failure or "teardown: out of memory"
        except BaseException as exc:
            traceback.print_exc()
            failure = failure or f"teardown: {type(exc).__name__}: {exc}"
        shutil.rmtree(tmpdir, ignore_errors=True)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if failure is not None:
        send(m.Error(failure, rss_kib, out_of_memory))
        return 1
    send(m.Done(rss_kib))
    return 0


def _cpu(resource: Any) -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def exec_trial(channel: int, request: m.RunTrial) -> int:
    """Fresh-interpreter path: the prelude first, then the plugins, then the trial."""
    import importlib

    for target in request.prelude:
        module, _, func = target.partition(":")
        getattr(importlib.import_module(module), func)()
    send = _sender(channel)
    try:
        host = _build_host(request.plugins)
    except Exception as exc:
        send(m.Error(f"worker: {exc}"))
        return 1
    gc.freeze()  # as before a fork (serve): the trial's collections leave the harness alone
    return run_trial(request, host, send)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--exec"]:
        return exec_trial(int(argv[1]), m.decode_as(argv[2], m.RunTrial))
    try:
        return serve()
    except _Stop:  # a stop that came during the clean-up of another: nothing to say
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
