"""The portable psutil reader of the process-tree sampler, and the choice of reader.

:class:`PsutilReader` works on every platform psutil supports; on Linux
:mod:`otel_kedro.sources.process._linux_proc` reads ``/proc`` directly, which is cheaper and adds
the ``VmHWM`` high-water mark. Both produce :class:`~.readings.Reading` values.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from otel_kedro.sources.process.readings import Reader, Reading

_T = TypeVar("_T")


def make_reader() -> Reader:
    """The cheapest reader for this platform."""
    if sys.platform.startswith("linux") and os.path.exists("/proc/self/status"):  # noqa: PTH110
        from otel_kedro.sources.process._linux_proc import LinuxReader

        return LinuxReader()
    return PsutilReader()


def reaped_children_cpu(pid: int) -> tuple[float, float] | None:
    """User and system CPU of the children this process has waited for, if ``pid`` is us."""
    if pid != os.getpid():
        return None
    try:
        import resource
    except ImportError:  # Windows
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime, usage.ru_stime


class PsutilReader:
    """Readings through psutil alone: no high-water mark, and on macOS and Windows no counters of
    reaped children (psutil reports them as 0), except for our own process through getrusage.
    """

    has_high_water_mark = False

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._procs: dict[int, Any] = {}
        reaped = sys.platform.startswith("linux") or sys.platform.startswith("freebsd")
        notes = [
            "peak_rss: sampled maximum, no high-water mark on this platform; spikes shorter "
            "than the interval are missed",
        ]
        if not reaped:
            notes.append(
                "cpu: this platform has no CPU counters of reaped children, so a descendant "
                "counts only up to its last sample and one that lives between two samples is "
                "missed (except children the sampling process itself waited for, via getrusage)"
            )
        if not hasattr(psutil.Process, "num_fds"):
            notes.append("fds: not available on this platform")
        if not hasattr(psutil.Process, "io_counters"):
            notes.append("read_bytes/write_bytes: not available on this platform")
        self.notes = tuple(notes)

    def tree(self, root: int, session: int | None = None) -> list[int]:
        """The root and its descendants from psutil's parent map, parents first; with
        ``session``, then the other processes of that session.
        """
        psutil = self._psutil
        try:
            top = self._procs.get(root) or psutil.Process(root)
            found = [top, *top.children(recursive=True)]
        except psutil.Error:
            self._procs = {}
            return []
        pids = [proc.pid for proc in found]
        if session is not None and hasattr(os, "getsid"):
            known = set(pids)
            for pid in psutil.pids():
                with contextlib.suppress(OSError):
                    if pid not in known and os.getsid(pid) == session:
                        found.append(self._procs.get(pid) or psutil.Process(pid))
                        pids.append(pid)
        self._procs = {proc.pid: proc for proc in found}
        return pids

    def read(self, pid: int, full_memory: bool) -> Reading | None:
        """One process through one psutil ``oneshot``; optional fields are None where denied."""
        psutil = self._psutil
        denied: list[str] = []

        def optional(field: str | None, get: Callable[[], _T]) -> _T | None:
            try:
                return get()
            except psutil.AccessDenied:
                if field:
                    denied.append(field)
            except (psutil.Error, OSError, NotImplementedError):
                pass
            return None

        try:
            proc = self._procs.get(pid) or psutil.Process(pid)
            with proc.oneshot():
                ppid, name, created = proc.ppid(), proc.name(), proc.create_time()
                status, times, memory = proc.status(), proc.cpu_times(), proc.memory_info()
                threads = proc.num_threads()
                cmdline = optional(None, proc.cmdline) or []
                fds = optional("fds", proc.num_fds) if hasattr(proc, "num_fds") else None
                io = optional("io", proc.io_counters) if hasattr(proc, "io_counters") else None
                full = optional("pss", proc.memory_full_info) if full_memory else None
        except psutil.Error:  # gone (NoSuchProcess, ZombieProcess) or invisible (AccessDenied)
            return None
        children = reaped_children_cpu(pid) or (times.children_user, times.children_system)
        return Reading(
            pid=pid,
            ppid=ppid,
            name=name,
            cmd=" ".join(cmdline),
            create_time=created,
            status=str(status),
            user=times.user,
            system=times.system,
            children_user=children[0],
            children_system=children[1],
            rss=memory.rss,
            vms=memory.vms,
            hwm=None,
            threads=threads,
            fds=fds,
            read_bytes=getattr(io, "read_bytes", None),
            write_bytes=getattr(io, "write_bytes", None),
            pss=getattr(full, "pss", None),
            uss=getattr(full, "uss", None),
            denied=tuple(denied),
        )
