"""OTLP JSON Lines ``metrics.jsonl``: process-tree samples and Kedro durations as OTLP metrics.

Every sample becomes its own data point with its own timestamp, so a memory spike seen by one
sample survives however the lines are batched; the SDK's ``MeterProvider`` is not used for
samples because its aggregation keeps only the last value per export interval. Names follow the
process semantic conventions 1.44: counters and up-down counters are cumulative ``Sum`` points
(monotonic and not), gauges are ``Gauge`` points. Tree totals carry no ``process.pid``; each
process's points carry ``process.pid``, ``process.parent_pid`` and ``process.executable.name``
(never its command line). The encoding is ``opentelemetry-exporter-otlp-json-common``'s, one
``ExportMetricsServiceRequest`` per line, appended with a single ``write(2)``.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal, TypeVar

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import AttributeValue

from otel_kedro import attributes as keys
from otel_kedro.exporters.files import METRICS_FILE, AtomicAppendStream
from otel_kedro.model.usage import ProcessUsage, TreeSample

SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.44.0"
# Explicit histogram boundaries in seconds: 5 ms (a parameter load) to 2 h (a long node), about
# three per decade, so both a dataset load and a training node land in informative buckets.
DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1800.0, 3600.0, 7200.0,
)  # fmt: skip

Attributes = dict[str, AttributeValue]
AttributeFunction = Callable[[Attributes], Mapping[str, AttributeValue]]
_Kind = Literal["counter", "updown", "gauge"]
_P = TypeVar("_P", NumberDataPoint, HistogramDataPoint)


@dataclasses.dataclass(frozen=True)
class _Spec:
    kind: _Kind
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
        self.by_name: dict[str, list[NumberDataPoint]] = {name: [] for name in _SPECS}

    def add(
        self, name: str, attributes: Attributes, start: int, at: int, value: float | None
    ) -> None:
        if value is None:
            return
        self.by_name[name].append(NumberDataPoint(attributes, start, at, value))

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

    def metrics(self) -> list[Metric]:
        result = []
        for name, points in self.by_name.items():
            if not points:
                continue
            spec = _SPECS[name]
            data: Sum | Gauge
            if spec.kind == "gauge":
                data = Gauge(points)
            else:
                data = Sum(points, AggregationTemporality.CUMULATIVE, spec.kind == "counter")
            result.append(Metric(name, spec.description, spec.unit, data))
        return result


def process_metrics(samples: Iterable[TreeSample], *, start_time: float, cpus: int) -> list[Metric]:
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
    return points.metrics()


@dataclasses.dataclass
class _Histogram:
    bounds: tuple[float, ...]
    counts: list[int]
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def record(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1  # buckets are (lower, upper]
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)


class KedroDurations:
    """Thread-safe accumulator of node, dataset and run durations, as cumulative histograms.

    Hooks of a ThreadRunner call it concurrently; :meth:`metrics` gives the histograms so far.
    Negative or non-finite durations (a clock step) are ignored rather than skewing sums.
    """

    def __init__(
        self, *, start_time: float | None = None, boundaries: Sequence[float] = DURATION_BUCKETS
    ) -> None:
        self._start = time.time() if start_time is None else start_time
        self._bounds = tuple(sorted(boundaries))
        self._histograms: dict[tuple[str, tuple[tuple[str, str], ...]], _Histogram] = {}
        self._lock = threading.Lock()

    def _record(self, name: str, attributes: dict[str, str], seconds: float) -> None:
        if not math.isfinite(seconds) or seconds < 0:
            return
        key = (name, tuple(attributes.items()))
        with self._lock:
            histogram = self._histograms.get(key)
            if histogram is None:
                histogram = _Histogram(self._bounds, [0] * (len(self._bounds) + 1))
                self._histograms[key] = histogram
            histogram.record(seconds)

    def record_node(self, name: str, seconds: float, result: str) -> None:
        """One node run: its full name and ``success`` / ``failure``."""
        attributes = {keys.CICD_TASK_NAME: name, keys.CICD_TASK_RUN_RESULT: result}
        self._record(keys.KEDRO_NODE_DURATION, attributes, seconds)

    def record_dataset(self, operation: Literal["load", "save"], name: str, seconds: float) -> None:
        """One dataset load or save."""
        if operation not in ("load", "save"):
            raise ValueError(f"operation must be 'load' or 'save', not {operation!r}")
        load = operation == "load"
        metric = keys.KEDRO_DATASET_LOAD_DURATION if load else keys.KEDRO_DATASET_SAVE_DURATION
        self._record(metric, {keys.KEDRO_DATASET_NAME: name}, seconds)

    def record_run(self, pipeline: str, seconds: float, result: str) -> None:
        """One pipeline run: its name and ``cicd.pipeline.result``."""
        attributes = {keys.CICD_PIPELINE_NAME: pipeline, keys.CICD_PIPELINE_RESULT: result}
        self._record(keys.KEDRO_RUN_DURATION, attributes, seconds)

    def metrics(self, now: float | None = None) -> list[Metric]:
        """The histograms recorded so far (cumulative since the accumulator started)."""
        at = _ns(time.time() if now is None else now)
        start = _ns(self._start)
        by_name: dict[str, list[HistogramDataPoint]] = {}
        with self._lock:
            for (name, attributes), h in self._histograms.items():
                point = HistogramDataPoint(
                    attributes=dict(attributes),
                    start_time_unix_nano=start,
                    time_unix_nano=at,
                    count=sum(h.counts),
                    sum=h.total,
                    bucket_counts=list(h.counts),
                    explicit_bounds=list(h.bounds),
                    min=h.low,
                    max=h.high,
                )
                by_name.setdefault(name, []).append(point)
        cumulative = AggregationTemporality.CUMULATIVE
        return [
            Metric(name, _DURATION_DESCRIPTIONS[name], "s", Histogram(points, cumulative))
            for name, points in by_name.items()
        ]


_DURATION_DESCRIPTIONS: Final = {
    keys.KEDRO_NODE_DURATION: "Wall time of a Kedro node run, with its loads and saves.",
    keys.KEDRO_DATASET_LOAD_DURATION: "Wall time of a Kedro dataset load.",
    keys.KEDRO_DATASET_SAVE_DURATION: "Wall time of a Kedro dataset save.",
    keys.KEDRO_RUN_DURATION: "Wall time of a Kedro pipeline run.",
}


class _Privacy:
    """Applies a destination's attribute function to data points, each distinct set once."""

    def __init__(self, function: AttributeFunction | None) -> None:
        self._function = function
        self._cache: dict[tuple[tuple[str, object], ...], Attributes] = {}

    def __call__(self, attributes: Mapping[str, AttributeValue] | None) -> Attributes:
        original = dict(attributes or {})
        if self._function is None:
            return original
        try:
            key = tuple(sorted(original.items()))
            hash(key)
        except TypeError:  # a list value: not cacheable
            return dict(self._function(original))
        cached = self._cache.get(key)
        if cached is None:
            cached = dict(self._function(original))
            if len(self._cache) < 4096:
                self._cache[key] = cached
        return cached

    def metric(self, metric: Metric) -> Metric:
        data = metric.data
        if isinstance(data, Gauge):
            data = Gauge([self._point(p) for p in data.data_points])
        elif isinstance(data, Sum):
            data = Sum(
                [self._point(p) for p in data.data_points],
                data.aggregation_temporality,
                data.is_monotonic,
            )
        elif isinstance(data, Histogram):
            data = Histogram(
                [self._point(p) for p in data.data_points], data.aggregation_temporality
            )
        else:  # exponential histograms are not produced here; left as they are
            return metric
        return dataclasses.replace(metric, data=data)

    def _point(self, point: _P) -> _P:
        return dataclasses.replace(point, attributes=self(point.attributes))


class MetricsFileWriter:
    """Appends OTLP metrics to ``folder/metrics.jsonl``, one request per call, one line each.

    ``attributes`` is the destination's privacy function (``chain.attributes``), applied to the
    resource and to every data point before anything is written.
    """

    def __init__(
        self,
        folder: Path,
        resource: Resource,
        scope_version: str,
        *,
        attributes: AttributeFunction | None = None,
        start_time: float | None = None,
    ) -> None:
        self._privacy = _Privacy(attributes)
        self._resource = Resource(self._privacy(resource.attributes), resource.schema_url)
        self._scope = InstrumentationScope(keys.INSTRUMENTATION_SCOPE, scope_version, SCHEMA_URL)
        self._cpus = available_cpus()
        self._start_time = start_time
        self._tree_start: float | None = None
        self._stream = AtomicAppendStream(folder / METRICS_FILE)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The file this writer appends to."""
        return Path(self._stream.name)

    def add_samples(self, samples: Sequence[TreeSample]) -> None:
        """Append one line holding every point of these samples (nothing for no samples).

        The tree's cumulative series start at ``start_time`` when given, else at the creation
        of the oldest process of the first sample (the counters have counted since then).
        """
        if not samples:
            return
        with self._lock:
            if self._tree_start is None:  # fixed once: a cumulative series keeps its start
                first = samples[0]
                created = [p.create_time for p in first.processes]
                start = self._start_time
                if start is None:
                    start = min(created) if created else first.timestamp - first.interval
                self._tree_start = min(start, first.timestamp)
            tree_start = self._tree_start
        self.add_metrics(process_metrics(samples, start_time=tree_start, cpus=self._cpus))

    def add_metrics(self, metrics: Sequence[Metric]) -> None:
        """Append the metrics (e.g. :meth:`KedroDurations.metrics`) as one line."""
        if not metrics:
            return
        from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics

        with self._lock:
            processed = [self._privacy.metric(m) for m in metrics]
            scope = ScopeMetrics(self._scope, processed, SCHEMA_URL)
            data = MetricsData(
                [ResourceMetrics(self._resource, [scope], self._resource.schema_url)]
            )
            line = json.dumps(encode_metrics(data).to_dict(), separators=(",", ":")) + "\n"
            if self._stream.closed:
                raise ValueError(f"{self.path} is closed")
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        """Release the file; later additions raise ``ValueError``."""
        with self._lock:
            self._stream.close()
