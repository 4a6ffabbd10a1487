"""How many points the process metrics keep: the tree at every sample, the rest once a window.

An hour of 5 processes sampled every second would be 18,000 process-samples of ten points each
(about 56 MB of OTLP JSON). What a reader needs from them is the tree's curve (its CPU time and
resident memory: the report's charts, the Grafana panels) and, per process and for the tree's
other figures, the peaks and the totals. So:

- the tree's ``process.cpu.time`` (user, system) and ``process.memory.usage`` get a point at
  every sample;
- everything else — the tree's virtual memory, high-water mark, threads, descriptors, disk I/O
  and utilization, and every per-process metric — gets one point per series per window of
  ``window`` seconds (:data:`WINDOW_S`, or the sample interval if longer), aligned on the run's
  start: a cumulative counter (CPU time, disk I/O) the window's last sample (nothing is lost: it
  counts on), every other figure the sample where it was highest in the window, stamped with
  that sample's time (a utilization keeps the interval it was measured over). Every point
  written is therefore a real measurement, and no peak between two window points is lost.

A process seen in a window gets its points for that window even if it exited in the middle of
it. The high-water mark (``kedro.process.memory.peak``) catches what the samples miss.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Final

from otel_kedro import attributes as keys
from otel_kedro.model.metric_series import AttributeValue
from otel_kedro.model.usage import ProcessUsage, TreeSample

# Seconds per window for the points that are not written at every sample: 120 points an hour per
# series (Prometheus scrapes every 15 to 60 s). With 5 processes sampled every second, 15 s gave
# 5.9 MB an hour and 30 s gives 3.8 MB (tests/unit/sources/process/test_windows.py).
WINDOW_S: Final = 30.0

Attributes = dict[str, AttributeValue]
Usage = TreeSample | ProcessUsage
# (name, attributes, start ns, time ns, value): what a points collector takes.
AddPoint = Callable[[str, Attributes, int, int, "float | None"], None]

# Figures whose highest sample in a window is kept (metric name, attribute of the sample).
_HIGHS: Final = (
    (keys.PROCESS_MEMORY_USAGE, "rss"),
    (keys.PROCESS_MEMORY_VIRTUAL, "vms"),
    (keys.KEDRO_PROCESS_MEMORY_PEAK, "peak_rss"),
    (keys.KEDRO_PROCESS_MEMORY_PSS, "pss"),
    (keys.PROCESS_THREAD_COUNT, "threads"),
    (keys.PROCESS_FILE_DESCRIPTOR_COUNT, "fds"),
)
# Written at every sample for the tree, so not again per window.
_TREE_EVERY_SAMPLE: Final = frozenset({keys.PROCESS_MEMORY_USAGE})


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


@dataclasses.dataclass
class _Picks:
    """One series owner's (the tree's, or a process's) picks in the open window."""

    attributes: Attributes
    start_ns: int  # of its cumulative series
    last: Usage
    last_ns: int
    highs: dict[str, tuple[float, int]] = dataclasses.field(default_factory=dict)
    busiest: tuple[float, int, int] | None = None  # (cpu percent, start ns, time ns)

    def fold(self, usage: Usage, at: int, interval: float) -> None:
        self.last, self.last_ns = usage, at
        for name, field in _HIGHS:
            value = getattr(usage, field)
            if value is not None and (name not in self.highs or value > self.highs[name][0]):
                self.highs[name] = (value, at)
        if interval > 0 and (self.busiest is None or usage.cpu_percent > self.busiest[0]):
            self.busiest = (usage.cpu_percent, at - _ns(interval), at)


class Windows:
    """Folds samples into windows and hands out each closed window's points (not thread-safe:
    its owner locks).
    """

    def __init__(self, origin: float, window: float, cpus: int) -> None:
        if not (math.isfinite(window) and window > 0):
            raise ValueError(f"window must be a positive number of seconds, not {window!r}")
        self._origin = origin
        self._window = window
        self._cpus = cpus
        self._index: int | None = None
        self._picks: dict[object, _Picks] = {}

    def add(self, sample: TreeSample, tree_start: int, add: AddPoint) -> None:
        """Fold one sample in, writing out the window it closes (if any) through ``add``."""
        index = math.floor((sample.timestamp - self._origin) / self._window)
        if self._index is not None and index != self._index:
            self.close(add)
        self._index = index
        at = _ns(sample.timestamp)
        self._fold(None, {}, tree_start, sample, at, sample.interval)
        for process in sample.processes:
            attributes: Attributes = {
                keys.PROCESS_PID: process.pid,
                keys.PROCESS_PARENT_PID: process.ppid,
                keys.PROCESS_EXECUTABLE_NAME: process.name,
            }
            start = min(_ns(process.create_time), at)
            key = (process.pid, process.create_time)
            self._fold(key, attributes, start, process, at, sample.interval)

    def _fold(  # noqa: PLR0913, PLR0917 - one sample of one owner
        self, key: object, attributes: Attributes, start: int, usage: Usage, at: int,
        interval: float,
    ) -> None:  # fmt: skip
        picks = self._picks.get(key)
        if picks is None:
            picks = self._picks[key] = _Picks(attributes, start, usage, at)
        picks.fold(usage, at, interval)

    def close(self, add: AddPoint) -> None:
        """Write out the open window's points (nothing when no sample came since the last)."""
        picks, self._picks, self._index = self._picks, {}, None
        for key, one in picks.items():
            tree = key is None
            attributes, last, at = one.attributes, one.last, one.last_ns
            io, direction = keys.PROCESS_DISK_IO, keys.DISK_IO_DIRECTION
            counters: list[tuple[str, str, str, float | None]] = [
                (io, direction, keys.DISK_IO_READ, last.read_bytes),
                (io, direction, keys.DISK_IO_WRITE, last.write_bytes),
            ]
            if not tree:  # the tree's CPU time is written at every sample
                counters[:0] = [
                    (keys.PROCESS_CPU_TIME, keys.CPU_MODE, keys.CPU_MODE_USER, last.cpu_user),
                    (keys.PROCESS_CPU_TIME, keys.CPU_MODE, keys.CPU_MODE_SYSTEM, last.cpu_system),
                ]
            for name, key_name, mode, value in counters:
                add(name, {**attributes, key_name: mode}, one.start_ns, at, value)
            for name, (value, when) in one.highs.items():
                if not (tree and name in _TREE_EVERY_SAMPLE):
                    add(name, attributes, one.start_ns, when, value)
            if one.busiest is not None:
                percent, begin, end = one.busiest
                add(keys.PROCESS_CPU_UTILIZATION, attributes, begin, end,
                    percent / 100.0 / self._cpus)  # fmt: skip
