"""Records when a session's first trial started and its last one ended (CLI side).

Loaded with ``-p bench/dask/timeline.py``; writes ``{"first_start", "last_done"}``
(monotonic seconds) to ``$RUNNER_BENCH_TIMELINE`` at the end of the session, so the
benchmark can time the trials apart from the session's start-up.
"""

from __future__ import annotations

import json
import os
import time

from runner import hookimpl

_SEEN: dict[str, float] = {}


@hookimpl
def runner_trial_start() -> None:
    _SEEN.setdefault("first_start", time.monotonic())


@hookimpl
def runner_trial_done() -> None:
    _SEEN["last_done"] = time.monotonic()


@hookimpl
def runner_session_finish() -> None:
    path = os.environ.get("RUNNER_BENCH_TIMELINE")
    if path:
        with open(path, "w") as fh:
            json.dump(_SEEN, fh)
