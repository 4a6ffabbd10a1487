"""Resource usage of a process tree, sampled by one background thread that spawns nothing.

:class:`ProcessTreeSampler` samples a root process and all its descendants (multiprocessing
workers and whatever they start) every ``interval`` seconds and on demand, and produces the
:class:`~otel_kedro.model.usage.TreeSample` and :class:`~otel_kedro.model.usage.UsageSummary`
values that the writers read. Where the numbers come from, and why they are true rates and
true peaks rather than what ``ps`` shows:

- CPU and disk I/O are cumulative counters, including children already waited for, so
  utilisation is the growth of the counters over the interval (not a lifetime average) and a
  child that lives between two samples is still counted; see :mod:`._tree_account` for how the
  tree total stays monotonic while processes exit. A process's ``cpu_percent`` is its own CPU;
  the tree's includes everything. A rate is taken over at least 0.2 s (or half the interval),
  reaching back past samples taken closer together, since the kernel counts CPU in 10 ms ticks.
- Peak RSS uses each process's high-water mark on Linux (``VmHWM``) and ``ru_maxrss`` of reaped
  children when the root is this process; what the tree peak is exactly is in
  :mod:`._tree_account`. Elsewhere it is the sampled maximum, and the summary says so.
- PSS and USS (``pss=True``) read ``/proc/<pid>/smaps_rollup``, for which the kernel walks
  every page: measured 0.14 ms for a bare interpreter and 6 ms for a process holding 300 MB,
  against 0.07 ms for all the other values of a process; hence off by default. Processes are
  read one after another, so the PSS sum can briefly overshoot while processes that share
  pages exit in the middle of a sample.
- Averages are weighted by time (trapezoids between samples).

Sampling errors never reach the caller: processes vanish or refuse access all the time, and a
failing ``on_sample`` callback is logged once while sampling goes on. A forked child inherits
the object but not its thread; the sampler records its owner's pid, and in any other process
its methods take no sample, call no callback and return what was last known.

``DEFAULT_INTERVAL`` is 1.0 s, from ``benchmarks/sampler_overhead.py`` on a shared 2-core VM:
watching one process for 10 s cost 0.11-0.18 % of one core including start and stop (0.06-0.10 %
while sampling), against 4.5-6.5 % for con-duct at its default 1 s (1.6-2.7 % while sampling);
at 0.5 s ours was 0.19-0.28 %, too close to a 0.2 % budget. Peaks and short-lived children do
not depend on the interval; only the time resolution of utilisation does.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from otel_kedro.diagnostics import logger, warn_once
from otel_kedro.model.usage import ProcessUsage, TreeSample, UsageSummary
from otel_kedro.sources.process._proc_readers import make_reader
from otel_kedro.sources.process._tree_account import Key, TreeAccount, Update
from otel_kedro.sources.process.readings import Reader, Reading

DEFAULT_INTERVAL = 1.0
_MIN_RATE_WINDOW = 0.2
_STOP_WAIT = 5.0
_LINUX_NOTES = (
    "peak_rss: a lower bound; a single process's spike between samples is caught by its "
    "high-water mark, but several processes peaking together between samples are not added up",
    "cpu: a descendant that leaves the tree without being waited for inside it (a daemon, an "
    "orphan) counts up to its last sample",
)
_DENIED = {"io": "read_bytes/write_bytes", "fds": "fds", "pss": "pss"}


class _Mark(NamedTuple):  # a named tuple and a plain class: cheap to define at start-up
    at: float  # time.monotonic()
    tree_cpu: float
    own_cpu: dict[Key, float]


class _Totals:
    """Running figures for the summary, replaced only between samples."""

    __slots__ = (
        "areas", "denied", "end_time", "num_samples", "peak_pcpu", "peak_pss", "peak_vms",
        "start_time", "weight",
    )  # fmt: skip

    def __init__(self) -> None:
        self.start_time = 0.0
        self.end_time = 0.0
        self.num_samples = 0
        self.peak_vms = 0
        self.peak_pss: int | None = None
        self.peak_pcpu = 0.0
        self.weight = 0.0
        self.areas: tuple[float, float, float] = (0.0, 0.0, 0.0)  # rss, vms, pss times seconds
        self.denied: dict[str, set[int]] = {}

    def copy(self) -> _Totals:
        """A copy whose ``denied`` sets are copies too (the figures are immutable values)."""
        copied = _Totals()
        for name in self.__slots__:
            setattr(copied, name, getattr(self, name))
        copied.denied = {k: set(v) for k, v in self.denied.items()}
        return copied


class ProcessTreeSampler:
    """Samples a process and all its descendants until stopped (single use)."""

    def __init__(
        self,
        root_pid: int | None = None,
        interval: float = DEFAULT_INTERVAL,
        *,
        pss: bool = False,
        on_sample: Callable[[TreeSample], None] | None = None,
        session: int | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self._owner = os.getpid()
        self._root = self._owner if root_pid is None else root_pid
        self._session = session  # also sample this session's other processes (duct's scope)
        self._interval = interval
        self._pss = pss
        self._on_sample = on_sample
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: Reader | None = None
        self._account = TreeAccount()
        self._marks: collections.deque[_Mark] = collections.deque()
        self._totals = _Totals()
        self._latest: TreeSample | None = None
        self._summary: UsageSummary | None = None
        self._callback_failed = False
        self._notes: tuple[str, ...] = ()
        self._io_seen = False  # cumulative I/O stays reported once known, even for an empty tree

    @property
    def latest(self) -> TreeSample | None:
        """The most recent sample, or None before the first."""
        return self._latest

    def start(self) -> None:
        """Take the baseline sample now and keep sampling from a daemon thread."""
        if os.getpid() != self._owner:
            return
        with self._lock:
            if self._thread is not None or self._summary is not None:
                return
            self._take()
            self._thread = threading.Thread(
                target=self._run, name="otel-kedro-sampler", daemon=True
            )
            self._thread.start()

    def sample_now(self) -> TreeSample:
        """Take a sample now (also handed to ``on_sample``); after :meth:`stop`, the last one."""
        if os.getpid() != self._owner:
            return self._latest or self._empty()
        with self._lock:
            if self._summary is not None:
                return self._latest or self._empty()
            return self._take()

    def stop(self) -> UsageSummary:
        """Take a final sample, end the thread and summarise; later calls return the same."""
        if os.getpid() != self._owner:
            return self._summary or self._summarise()
        if self._summary is not None:
            return self._summary
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_STOP_WAIT)
        acquired = self._lock.acquire(timeout=_STOP_WAIT)
        try:
            if self._summary is None:
                if acquired:
                    self._take()
                else:
                    warn_once("the sampler's callback is stuck; summary without a final sample")
                self._summary = self._summarise()
            return self._summary
        finally:
            if acquired:
                self._lock.release()

    def _make_reader(self) -> Reader:
        return make_reader()

    def _run(self) -> None:
        deadline = time.monotonic()
        while True:
            deadline += self._interval
            now = time.monotonic()
            if deadline < now:  # fell behind (a suspended machine): skip, do not burst
                deadline = now + self._interval
            if self._stopping.wait(deadline - now):
                return
            with self._lock:
                if self._summary is not None:
                    return
                self._take()

    def _take(self) -> TreeSample:
        """Sample, record and deliver; with the lock held. Never raises."""
        try:
            sample = self._sample()
        except Exception as error:  # noqa: BLE001 - telemetry must not break the run
            warn_once(f"process sampling failed ({type(error).__name__}: {error}); skipped")
            logger.debug("process sampling failed", exc_info=True)
            return self._latest or self._empty()
        self._latest = sample
        if self._on_sample is not None:
            try:
                self._on_sample(sample)
            except Exception as error:  # noqa: BLE001 - a writer's failure is logged, not raised
                if not self._callback_failed:
                    self._callback_failed = True
                    warn_once(
                        f"the process sampler's on_sample callback raised "
                        f"{type(error).__name__}: {error}; sampling goes on"
                    )
                logger.debug("on_sample callback failed", exc_info=True)
        return sample

    def _sample(self) -> TreeSample:
        if self._reader is None:
            self._reader = self._make_reader()
            notes = _LINUX_NOTES if self._reader.has_high_water_mark else ()
            self._notes = self._reader.notes + notes
        reader = self._reader
        timestamp, now = time.time(), time.monotonic()
        pids = (
            reader.tree(self._root)
            if self._session is None
            else reader.tree(self._root, self._session)
        )
        readings = [r for pid in pids if (r := reader.read(pid, self._pss))]
        update = self._account.update(readings, _reaped_peak(self._root))
        self._io_seen = self._io_seen or any(r.read_bytes is not None for r in readings)
        keys = [(r.pid, r.create_time) for r in readings]
        own = {key: r.user + r.system for key, r in zip(keys, readings, strict=True)}
        tree_cpu = update.cumulative[0] + update.cumulative[1]
        tree_percent, percents, full_window = self._rates(now, tree_cpu, own)
        processes = tuple(
            _usage(r, percents.get(key, 0.0), update.peaks[key])
            for key, r in zip(keys, readings, strict=True)
        )
        previous = self._latest
        sample = TreeSample(
            timestamp=timestamp,
            interval=0.0 if previous is None else max(0.0, timestamp - previous.timestamp),
            processes=processes,
            cpu_user=update.cumulative[0],
            cpu_system=update.cumulative[1],
            cpu_percent=tree_percent,
            rss=sum(r.rss for r in readings),
            vms=sum(r.vms for r in readings),
            pss=_sum_known([r.pss for r in readings]) if self._pss else None,
            peak_rss=update.tree_peak,
            threads=sum(r.threads for r in readings),
            fds=_sum_known([r.fds for r in readings]),
            read_bytes=int(update.cumulative[2]) if self._io_seen else None,
            write_bytes=int(update.cumulative[3]) if self._io_seen else None,
        )
        self._record(sample, readings, update, full_window)
        return sample

    def _rates(
        self, now: float, tree_cpu: float, own: dict[Key, float]
    ) -> tuple[float, dict[Key, float], bool]:
        """Utilisation since the latest mark at least the minimum window old (or the oldest)."""
        marks = self._marks
        window = min(_MIN_RATE_WINDOW, self._interval / 2)
        while len(marks) > 1 and marks[1].at <= now - window:
            marks.popleft()
        ref = marks[0] if marks else None
        marks.append(_Mark(now, tree_cpu, own))
        if ref is None or now <= ref.at:
            return 0.0, {}, False
        span = now - ref.at
        percents = {
            key: max(0.0, cpu - ref.own_cpu.get(key, 0.0)) / span * 100 for key, cpu in own.items()
        }
        return (tree_cpu - ref.tree_cpu) / span * 100, percents, span >= window

    def _record(
        self, sample: TreeSample, readings: Sequence[Reading], update: Update, full_window: bool
    ) -> None:
        """Fold a sample into the running figures for the summary."""
        old = self._totals
        totals = old.copy()
        previous = self._latest if old.num_samples else None
        if previous is None or old.num_samples == 0:
            totals.start_time = sample.timestamp
        else:
            dt = sample.interval
            pairs = ((previous.rss, sample.rss), (previous.vms, sample.vms))
            pss_pair = (previous.pss or 0, sample.pss or 0)
            totals.areas = tuple(
                area + (a + b) / 2 * dt
                for area, (a, b) in zip(totals.areas, (*pairs, pss_pair), strict=True)
            )  # type: ignore[assignment]
            totals.weight += dt
        totals.end_time = sample.timestamp
        totals.num_samples += 1
        totals.peak_vms = max(totals.peak_vms, sample.vms)
        if sample.pss is not None:
            totals.peak_pss = max(totals.peak_pss or 0, sample.pss)
        if full_window:
            totals.peak_pcpu = max(totals.peak_pcpu, sample.cpu_percent)
        for reading in readings:
            for field in reading.denied:
                totals.denied.setdefault(field, set()).add(reading.pid)
        notes = [
            f"peak_rss: pid {pid}'s high-water mark ({mark / 1e6:.0f} MB) predates the sampler; "
            "its spikes below that are seen only when sampled"
            for pid, mark in update.predating
        ]
        self._notes = tuple(dict.fromkeys((*self._notes, *notes)))
        self._totals = totals

    def _summarise(self) -> UsageSummary:
        totals, latest = self._totals, self._latest
        last = latest or self._empty()
        wall = max(0.0, totals.end_time - totals.start_time)

        def average(index: int, current: float) -> float:
            return totals.areas[index] / totals.weight if totals.weight > 0 else current

        denied = tuple(
            f"{_DENIED[field]}: not readable for {len(pids)} process(es) (access denied); "
            "the sums leave them out"
            for field, pids in sorted(totals.denied.items())
        )
        cpu = last.cpu_user + last.cpu_system
        return UsageSummary(
            start_time=totals.start_time or last.timestamp,
            end_time=totals.end_time or last.timestamp,
            num_samples=totals.num_samples,
            cpu_user=last.cpu_user,
            cpu_system=last.cpu_system,
            peak_rss=last.peak_rss,
            average_rss=average(0, last.rss),
            peak_vms=totals.peak_vms,
            average_vms=average(1, last.vms),
            peak_pss=totals.peak_pss,
            average_pss=average(2, last.pss or 0) if totals.peak_pss is not None else None,
            peak_pcpu=totals.peak_pcpu,
            average_pcpu=cpu / wall * 100 if wall > 0 else 0.0,
            memory_total=_memory_total(),
            cpu_total=os.cpu_count() or 1,
            approximations=self._notes + denied,
        )

    @staticmethod
    def _empty() -> TreeSample:
        """A sample of nothing: no process could be read."""
        return TreeSample(
            timestamp=time.time(), interval=0.0, processes=(), cpu_user=0.0, cpu_system=0.0,
            cpu_percent=0.0, rss=0, vms=0, pss=None, peak_rss=0, threads=0, fds=None,
            read_bytes=None, write_bytes=None,
        )  # fmt: skip


def _usage(reading: Reading, percent: float, peak: int) -> ProcessUsage:
    return ProcessUsage(
        pid=reading.pid,
        ppid=reading.ppid,
        name=reading.name,
        cmd=reading.cmd,
        create_time=reading.create_time,
        status=reading.status,
        cpu_user=reading.user + reading.children_user,
        cpu_system=reading.system + reading.children_system,
        cpu_percent=percent,
        rss=reading.rss,
        vms=reading.vms,
        peak_rss=peak,
        pss=reading.pss,
        uss=reading.uss,
        threads=reading.threads,
        fds=reading.fds,
        read_bytes=reading.read_bytes,
        write_bytes=reading.write_bytes,
    )


def _sum_known(values: Sequence[int | None]) -> int | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _reaped_peak(root: int) -> int | None:
    """Largest RSS of any child this process waited for, in bytes, when the root is us."""
    if root != os.getpid():
        return None
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _memory_total() -> int:
    """Physical memory of the machine, without importing psutil where sysconf knows it."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows, or a platform without the names
        import psutil

        return int(psutil.virtual_memory().total)
