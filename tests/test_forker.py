"""The forker of process clients: a small interpreter of its own, gone with the trial."""

from __future__ import annotations

import os
import signal
import time

import pytest
from runner.builtins.net.forker import Forker

from runner.errors import ModelError


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def whoami(tag: str):  # make_job: module-level, as the forker needs
    def job(env):
        return tag, env.index, os.getpid(), os.getppid(), rss_kib()

    return job


def failing(message: str):
    def job(env):
        if env.index == 1:
            raise ValueError(message)
        return env.index

    return job


def failing_first(message: str):
    def job(env):
        if env.index == 0:  # the forker's own: the forked ones wait at the gate for it
            raise ValueError(message)
        env.gate(60)
        return env.index

    return job


@pytest.fixture
def forker():
    f = Forker()
    f.start(preload=["runner.builtins.net.download"], timeout=60)
    yield f
    f.stop()


def test_clients_are_the_forker_and_its_forks_not_forks_of_the_caller(forker):
    import gevent  # noqa: F401 - the caller is big; the forker, started afresh, is not

    pid = forker.proc.pid
    results = forker.run(3, whoami, "x", timeout=30)
    assert max(r[4] for r in results) < rss_kib() * 0.8  # a fork of the caller shares all of it
    assert [r[:2] for r in results] == [("x", 0), ("x", 1), ("x", 2)]
    assert results[0][2:4] == (pid, os.getpid())  # client 0 is the forker itself
    assert {r[3] for r in results[1:]} == {pid}
    assert len({r[2] for r in results}) == 3  # three processes
    assert all(not os.path.exists(f"/proc/{r[2]}") for r in results[1:])  # reaped
    assert forker.run(2, whoami, "y", timeout=30)[1][:2] == ("y", 1)  # it serves again


def test_a_failing_client_is_an_error_naming_it_and_the_forker_goes_on(forker):
    with pytest.raises(ModelError, match=r"client 1: ValueError: boom"):
        forker.run(3, failing, "boom", timeout=30)
    assert forker.run(1, failing, "boom", timeout=30) == [0]


def test_the_forker_failing_as_client_0_frees_the_others_and_goes_on(forker):
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"client 0: ValueError: boom"):
        forker.run(3, failing_first, "boom", timeout=60)
    assert time.monotonic() - started < 30  # the others left the gate, not waited out
    assert forker.run(2, whoami, "y", timeout=30)[1][:2] == ("y", 1)


def test_a_forker_that_dies_is_an_error_and_stop_leaves_nothing(forker):
    pid = forker.proc.pid
    os.kill(pid, signal.SIGKILL)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # dead: the request finds no reader
    with pytest.raises(ModelError, match="the client forker exited"):
        forker.run(1, whoami, "x", timeout=30)
    forker.stop()
    assert forker.proc is None
    assert not os.path.exists(f"/proc/{pid}")


def test_stop_ends_the_forker():
    f = Forker()
    f.start(timeout=60)
    pid = f.proc.pid
    f.stop()
    assert not os.path.exists(f"/proc/{pid}")
    f.stop()  # twice is harmless
