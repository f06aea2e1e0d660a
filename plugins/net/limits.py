"""The limits the tcp and udp servers keep, the same in the models and `runner serve`, and
the open-files limit: raised as far as allowed, with a clear error when it is too low."""

from __future__ import annotations

import resource

from runner.errors import ModelError

IO_TIMEOUT_MAX_S = 600.0  # the longest any one socket operation may wait
CHUNK_MAX_BYTES = 16 << 20  # read and send size of the file server
KEPT_MAX_BYTES = 1 << 30  # verify: after without save holds every file in memory


def raise_nofile(needed: int = 0, who: str = "this process") -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the new soft limit.

    :param needed: file descriptors the caller is about to hold; more than the hard limit
        is a :class:`ModelError` naming both numbers, raised before anything is opened.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and needed > hard:
        raise ModelError(
            f"{who} needs {needed} open files but the hard limit (ulimit -Hn) is {hard}: "
            "raise it, or use fewer connections"
        )
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft
