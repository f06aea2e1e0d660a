"""Functions the process model runs in its child processes.

Kept apart from plugins/process.py and free of heavy imports: a spawn or forkserver child
imports the module that holds its target, and msgspec or pluggy there would be measured
as part of the start cost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from ..tasks import cpu_task, noop_task, sleep_task

TASKS: dict[str, Callable[[Any], object]] = {
    "sleep": sleep_task,
    "cpu": cpu_task,
    "noop": noop_task,
}


def task_child(*args: Any, **kwargs: Any) -> None:
    """Run a task, then write what arrived and how, so the parent can check the passing.

    Called as ``task_child(report, task, value, count)`` either positionally (``args=``)
    or by keyword (``kwargs=``); the report records which, and the values.
    """
    report, task, value, count = _bind(*args, **kwargs)
    func = TASKS[task]
    for _ in range(count):
        func(value)
    _write_json(
        report,
        {"pid": os.getpid(), "args": list(args), "kwargs": kwargs, "count": count},
    )


def _bind(report: str, task: str, value: float, count: int = 1) -> tuple[str, str, float, int]:
    return report, task, value, count


def long_child(conn: Any, task: str, value: float) -> None:
    """Say "running" on ``conn``, then run the task: the parent terminates us meanwhile."""
    conn.send(os.getpid())
    conn.close()
    TASKS[task](value)


def daemon_parent(
    conn: Any, *, start_method: str, daemon: bool, marker: str, task: str, value: float
) -> None:
    """Start a child with the given daemon flag, report its pid, and return at once.

    What happens to the child is decided by multiprocessing's exit handler in this
    process: a daemonic child is terminated, a non-daemonic one is waited for.
    """
    import multiprocessing

    ctx: Any = multiprocessing.get_context(start_method)  # typeshed's contexts lack Process
    child = ctx.Process(target=daemon_child, args=(marker, task, value), daemon=daemon)
    child.start()
    conn.send(child.pid)
    conn.close()


def daemon_child(marker: str, task: str, value: float) -> None:
    """Work, then leave a side effect (a file holding our pid) only if still alive."""
    TASKS[task](value)
    tmp = f"{marker}.tmp"
    with open(tmp, "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(tmp, marker)


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
