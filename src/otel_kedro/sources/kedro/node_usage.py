"""Per-node resource usage for node spans: CPU seconds, peak RSS and RSS change during the node.

A node that has its process to itself (SequentialRunner, or a ParallelRunner worker) is measured
exactly from the process's own counters: CPU from ``getrusage`` (the process, plus children it
reaped during the node, e.g. a subprocess the node ran), peak RSS from the process's high-water
mark (on Linux ``VmHWM`` of ``/proc/self/status``, which starts afresh at ``exec``; ``ru_maxrss``
would carry over the high-water mark of whatever process forked ``kedro``, a large Airflow or
Jupyter parent, and hide every node's peak below it): when the mark rose during the node, the
node set it, so the mark *is* the node's peak. Otherwise the peak lies below the old mark and
the best known figure is the highest RSS seen (at start, at end, and in the sampler's samples in
between), labelled as a lower bound.

A node that shares its process with concurrent nodes (ThreadRunner, or any run on a thread other
than the main one) gets its own thread's CPU time, which is exact; memory is shared by every
thread, so no memory figure is invented for it: the span says the memory is shared instead.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from typing import Any, Final

from otel_kedro import attributes as attr

_LINUX: Final = sys.platform.startswith("linux")
# ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
_MAXRSS_UNIT: Final = 1 if sys.platform == "darwin" else 1024
_PAGE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


_statm: tuple[int, int] | None = None  # (pid, descriptor of /proc/<pid>/statm)
_status: tuple[int, int] | None = None  # (pid, descriptor of /proc/<pid>/status)


def _high_water_mark() -> int:
    """``VmHWM`` of the current process, in bytes (one ``pread`` on a descriptor kept open)."""
    global _status  # noqa: PLW0603 - one descriptor per process
    pid = os.getpid()
    if _status is None or _status[0] != pid:
        _status = (pid, os.open(f"/proc/{pid}/status", os.O_RDONLY | os.O_CLOEXEC))
    text = os.pread(_status[1], 4096, 0)
    start = text.index(b"VmHWM:") + 6
    return int(text[start : text.index(b"kB", start)]) * 1024


def _rss() -> int:
    """The resident set size of the current process, in bytes (2 µs on Linux: one ``pread`` on
    a descriptor kept open, reopened in a forked child, where it would name the parent).
    """
    global _statm  # noqa: PLW0603 - one descriptor per process
    if _LINUX:
        pid = os.getpid()
        if _statm is None or _statm[0] != pid:
            _statm = (pid, os.open(f"/proc/{pid}/statm", os.O_RDONLY | os.O_CLOEXEC))
        return int(os.pread(_statm[1], 128, 0).split()[1]) * _PAGE
    import psutil

    return int(psutil.Process().memory_info().rss)


def _process_counters() -> tuple[float, float, int]:
    """(own CPU seconds, CPU seconds of reaped children, peak RSS in bytes) of this process."""
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        process = psutil.Process()
        times = process.cpu_times()
        peak = getattr(process.memory_info(), "peak_wset", 0)
        return times.user + times.system, 0.0, int(peak)
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = _high_water_mark() if _LINUX else own.ru_maxrss * _MAXRSS_UNIT
    return (own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime, peak)


@dataclasses.dataclass
class UsageWindow:
    """Counters at a node's start, and the highest RSS seen since."""

    shared: bool
    thread_cpu: float
    cpu: float = 0.0
    children_cpu: float = 0.0
    peak_mark: int = 0
    rss: int = 0
    seen_rss: int = 0


class NodeUsageMeter:
    """Opens a measuring window when a node starts and turns it into span attributes at its end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, UsageWindow] = {}

    def reset_after_fork(self) -> None:
        """Windows of the parent's nodes mean nothing in a forked worker."""
        self._lock = threading.Lock()
        self._open = {}

    def start(self) -> UsageWindow:
        """Take the counters now, for a node starting on the current thread."""
        shared = threading.current_thread() is not threading.main_thread()
        window = UsageWindow(shared=shared, thread_cpu=time.thread_time())
        if not shared:
            window.cpu, window.children_cpu, window.peak_mark = _process_counters()
            window.rss = window.seen_rss = _rss()
            with self._lock:
                self._open[id(window)] = window
        return window

    def forget(self, window: UsageWindow) -> None:
        """Drop a window whose node turned out not to be traced."""
        with self._lock:
            self._open.pop(id(window), None)

    def observe_rss(self, rss: int) -> None:
        """A sample of this process's RSS taken while nodes run (from the sampler's thread)."""
        with self._lock:
            for window in self._open.values():
                window.seen_rss = max(window.seen_rss, rss)

    def finish(self, window: UsageWindow, *, same_thread: bool) -> dict[str, Any]:
        """The node's usage attributes. A shared node's CPU is its thread's, so it is known only
        when the node ends on the thread it started on (async saves end elsewhere).
        """
        if window.shared:
            result: dict[str, Any] = {attr.KEDRO_NODE_USAGE_SCOPE: attr.USAGE_SCOPE_THREAD}
            if same_thread:
                result[attr.KEDRO_NODE_CPU_TIME] = round(time.thread_time() - window.thread_cpu, 6)
            return result
        with self._lock:
            self._open.pop(id(window), None)
        cpu, children_cpu, peak_mark = _process_counters()
        rss = _rss()
        exact = peak_mark > window.peak_mark
        peak = peak_mark if exact else max(window.seen_rss, window.rss, rss)
        return {
            attr.KEDRO_NODE_CPU_TIME: round(
                (cpu - window.cpu) + (children_cpu - window.children_cpu), 6
            ),
            attr.KEDRO_NODE_MEMORY_PEAK: int(peak),
            attr.KEDRO_NODE_MEMORY_PEAK_EXACT: exact,
            attr.KEDRO_NODE_MEMORY_DELTA: int(rss - window.rss),
            attr.KEDRO_NODE_USAGE_SCOPE: attr.USAGE_SCOPE_PROCESS,
        }
