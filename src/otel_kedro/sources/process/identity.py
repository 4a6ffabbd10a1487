"""Which process a pid is: its start time tells a live process from a later one that reused
its pid, so a dead run is never mistaken for a live one (or the reverse).
"""

from __future__ import annotations

import math

# Two processes with one pid are at least this far apart in start time; psutil computes the
# same start time for a process however often it is asked.
_SAME_START_S = 0.05


def start_time(pid: int) -> float | None:
    """The start time of process ``pid`` (seconds since the epoch), or None when no live process
    has that pid (a zombie, already dead and waiting to be reaped, counts as gone).
    """
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return float(process.create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:  # exists, but not ours to inspect: assume it is the same one
        return float("nan")


def is_alive(pid: int, started: float) -> bool:
    """Whether the process that started at ``started`` with this pid is still running."""
    now = start_time(pid)
    if now is None:
        return False
    return math.isnan(now) or abs(now - started) < _SAME_START_S  # NaN: access denied
