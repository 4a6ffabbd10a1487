"""The process-tree sampler's samples as OTLP metric series.

:class:`ProcessMetrics` (what a run writes) gives the tree's CPU time and resident memory a point
at every sample and everything else one point per window, the window's peak or last value (see
:mod:`.windows`), so a long run's file grows by kilobytes a minute; :func:`process_series` gives
every sample's every point. Each point keeps the timestamp of the sample it came from, so a
memory spike seen by one sample survives however the points are batched; the SDK's
``MeterProvider`` is not used for samples because its aggregation keeps only the last value per
collection. Names follow the
process semantic conventions 1.44: counters and up-down counters are cumulative ``Sum`` points
(monotonic and not), gauges are ``Gauge`` points. Tree totals carry no ``process.pid``; each
process's points carry ``process.pid``, ``process.parent_pid`` and ``process.executable.name``
(never its command line).

Both give plain :class:`~otel_kedro.model.metric_series.MetricSeries` (no SDK import), which
``exporters.metrics_line`` encodes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from typing import Final, NamedTuple

from otel_kedro import attributes as keys
from otel_kedro.model.metric_series import AttributeValue, MetricSeries, NumberPoint, SeriesKind
from otel_kedro.model.usage import ProcessUsage, TreeSample
from otel_kedro.sources.process.windows import WINDOW_S, Windows

SCHEMA_URL: Final = keys.SCHEMA_URL

Attributes = dict[str, AttributeValue]


class _Spec(NamedTuple):  # a named tuple: cheap to define on otel-kedro run's start-up path
    kind: SeriesKind
    unit: str
    description: str


_SPECS: Final[dict[str, _Spec]] = {
    keys.PROCESS_CPU_TIME: _Spec("counter", "s", "Total CPU seconds broken down by CPU mode."),
    keys.PROCESS_CPU_UTILIZATION: _Spec(
        "gauge",
        "1",
        "Difference in process.cpu.time since the last measurement, divided by the elapsed time "
        "and number of CPUs available to the process.",
    ),
    keys.PROCESS_MEMORY_USAGE: _Spec("updown", "By", "The amount of physical memory in use."),
    keys.PROCESS_MEMORY_VIRTUAL: _Spec("updown", "By", "The amount of committed virtual memory."),
    keys.PROCESS_THREAD_COUNT: _Spec("updown", "{thread}", "Process threads count."),
    keys.PROCESS_FILE_DESCRIPTOR_COUNT: _Spec(
        "updown", "{file_descriptor}", "Number of UNIX file descriptors in use by the process."
    ),
    keys.PROCESS_DISK_IO: _Spec("counter", "By", "Disk bytes transferred."),
    keys.KEDRO_PROCESS_MEMORY_PEAK: _Spec(
        "gauge", "By", "Highest resident memory since the process (or tree) started."
    ),
    keys.KEDRO_PROCESS_MEMORY_PSS: _Spec(
        "updown", "By", "Proportional set size: resident memory with shared pages split."
    ),
}


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


class _Points:
    """Data points per metric name, in the order they were added."""

    def __init__(self, cpus: int) -> None:
        self.cpus = cpus
        self.by_name: dict[str, list[NumberPoint]] = {name: [] for name in _SPECS}

    def add(
        self, name: str, attributes: Attributes, start: int, at: int, value: float | None
    ) -> None:
        if value is None:
            return
        self.by_name[name].append(NumberPoint(attributes, start, at, value))

    def add_usage(
        self, usage: TreeSample | ProcessUsage, attributes: Attributes, start: int, at: int
    ) -> None:
        """One sample's points for one process, or for the tree when ``attributes`` is {}."""
        add = self.add
        user = {**attributes, keys.CPU_MODE: keys.CPU_MODE_USER}
        system = {**attributes, keys.CPU_MODE: keys.CPU_MODE_SYSTEM}
        add(keys.PROCESS_CPU_TIME, user, start, at, usage.cpu_user)
        add(keys.PROCESS_CPU_TIME, system, start, at, usage.cpu_system)
        add(keys.PROCESS_MEMORY_USAGE, attributes, start, at, usage.rss)
        add(keys.PROCESS_MEMORY_VIRTUAL, attributes, start, at, usage.vms)
        add(keys.KEDRO_PROCESS_MEMORY_PEAK, attributes, start, at, usage.peak_rss)
        add(keys.KEDRO_PROCESS_MEMORY_PSS, attributes, start, at, usage.pss)
        add(keys.PROCESS_THREAD_COUNT, attributes, start, at, usage.threads)
        add(keys.PROCESS_FILE_DESCRIPTOR_COUNT, attributes, start, at, usage.fds)
        read = {**attributes, keys.DISK_IO_DIRECTION: keys.DISK_IO_READ}
        write = {**attributes, keys.DISK_IO_DIRECTION: keys.DISK_IO_WRITE}
        add(keys.PROCESS_DISK_IO, read, start, at, usage.read_bytes)
        add(keys.PROCESS_DISK_IO, write, start, at, usage.write_bytes)

    def add_utilization(
        self, percent: float, attributes: Attributes, interval: float, at: int
    ) -> None:
        """``cpu_percent`` counts one busy core as 100 (ΔCPU s / elapsed s * 100)."""
        if interval > 0:
            utilization = percent / 100.0 / self.cpus
            self.add(keys.PROCESS_CPU_UTILIZATION, attributes, at - _ns(interval), at, utilization)

    def series(self) -> list[MetricSeries]:
        return [
            MetricSeries(name, _SPECS[name].description, _SPECS[name].unit, _SPECS[name].kind,
                         tuple(points))
            for name, points in self.by_name.items()
            if points
        ]  # fmt: skip


def process_series(
    samples: Iterable[TreeSample], *, start_time: float, cpus: int
) -> list[MetricSeries]:
    """Every sample's tree totals and per-process values as OTLP metrics, one point each.

    ``start_time`` (Unix seconds) starts the tree's cumulative series; a process's cumulative
    series start at its creation time. ``process.cpu.utilization`` follows the convention
    exactly: ΔCPU seconds / elapsed seconds / ``cpus``, so 1.0 means every available CPU busy;
    the first sample (no interval yet) has none.
    """
    points = _Points(cpus)
    tree_start = _ns(start_time)
    for sample in samples:
        at = _ns(sample.timestamp)
        points.add_usage(sample, {}, tree_start, at)
        points.add_utilization(sample.cpu_percent, {}, sample.interval, at)
        for process in sample.processes:
            attributes: Attributes = {
                keys.PROCESS_PID: process.pid,
                keys.PROCESS_PARENT_PID: process.ppid,
                keys.PROCESS_EXECUTABLE_NAME: process.name,
            }
            points.add_usage(process, attributes, min(_ns(process.create_time), at), at)
            points.add_utilization(process.cpu_percent, attributes, sample.interval, at)
    return points.series()


class ProcessMetrics:
    """One run's samples as metrics, batch after batch, with the tree's series start fixed once.

    A cumulative series keeps its start time on every batch: ``start_time`` when given, else the
    creation of the oldest process of the first sample (the counters have counted since then).
    The tree's CPU time and RSS get a point per sample; the rest one per ``window`` seconds
    (None: every point of every sample), the open window's points coming out with a later batch
    or :meth:`flush_series`. Thread-safe; ``cpus`` defaults to :func:`available_cpus`.
    """

    def __init__(
        self,
        start_time: float | None = None,
        *,
        cpus: int | None = None,
        window: float | None = WINDOW_S,
    ) -> None:
        self._start_time = start_time
        self._cpus = available_cpus() if cpus is None else cpus
        self._window = window
        self._windows: Windows | None = None
        self._tree_start: float | None = None
        self._lock = threading.Lock()

    def series(self, samples: Sequence[TreeSample]) -> list[MetricSeries]:
        """The points of these samples (nothing for no samples)."""
        if not samples:
            return []
        with self._lock:
            if self._tree_start is None:
                first = samples[0]
                created = [p.create_time for p in first.processes]
                start = self._start_time
                if start is None:
                    start = min(created) if created else first.timestamp - first.interval
                self._tree_start = min(start, first.timestamp)
            tree_start = self._tree_start
            if self._window is None:
                return process_series(samples, start_time=tree_start, cpus=self._cpus)
            if self._windows is None:
                self._windows = Windows(tree_start, self._window, self._cpus)
            points = _Points(self._cpus)
            start_ns = _ns(tree_start)
            for sample in samples:
                at = _ns(sample.timestamp)
                points.add(keys.PROCESS_CPU_TIME, _USER, start_ns, at, sample.cpu_user)
                points.add(keys.PROCESS_CPU_TIME, _SYSTEM, start_ns, at, sample.cpu_system)
                points.add(keys.PROCESS_MEMORY_USAGE, {}, start_ns, at, sample.rss)
                self._windows.add(sample, start_ns, points.add)
            return points.series()

    def flush_series(self) -> list[MetricSeries]:
        """The points of the window still open (at the end of a run)."""
        with self._lock:
            if self._windows is None:
                return []
            points = _Points(self._cpus)
            self._windows.close(points.add)
            return points.series()


_USER: Final[Attributes] = {keys.CPU_MODE: keys.CPU_MODE_USER}
_SYSTEM: Final[Attributes] = {keys.CPU_MODE: keys.CPU_MODE_SYSTEM}
