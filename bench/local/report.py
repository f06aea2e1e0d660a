"""The runner against plain scripts doing the same work.  A report, not a test.

    python bench/local/report.py [--rounds 5] [--only NAME]

For each item, the runner's figure comes from ``python -m runner run specs/ITEM.yaml -o
X.json`` (the median of its measured runs), the plain script's from ``plain_*.py`` with
the spec's warmup and repeat.  Items alternate A, B then B, A round after round, since the
machine is shared and drifts; each round gives a ratio (runner / plain, inverted for
times), and the table shows the median ratio and its range.  Target: at least 0.9 for
every item, so that the harness is not what is measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rounds import Item, plain_figure, report, runner_figure  # noqa: E402

SPECS = HERE / "specs"

ITEMS = (
    Item("pool apply_async, 10k noop", "tasks/s", "pool_apply_async", "tasks_per_s",
         ("plain_pool.py", "apply_async")),
    Item("pool map, 10k noop", "tasks/s", "pool_map", "tasks_per_s", ("plain_pool.py", "map")),
    Item("mp_queue, 100k items", "items/s", "mp_queue", "items_per_s", ("plain_queue.py",)),
    Item("greenlet switch", "switches/s", "greenlet_switch", "switches_per_s",
         ("plain_switch.py",)),
    Item("start+join, fork", "ms", "start_fork", "start_join_ms", ("plain_start.py", "fork"),
         higher_is_better=False),
    Item("start+join, forkserver", "ms", "start_forkserver", "start_join_ms",
         ("plain_start.py", "forkserver"), higher_is_better=False),
    Item("start+join, spawn", "ms", "start_spawn", "start_join_ms", ("plain_start.py", "spawn"),
         higher_is_better=False),
)  # fmt: skip


def main() -> int:
    return report(
        __doc__ or "", list(ITEMS),
        lambda item, work: runner_figure(item, SPECS, work),
        lambda item, work: plain_figure(item, SPECS, work),
        times="ms",
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
