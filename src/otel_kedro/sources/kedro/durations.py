"""Kedro's duration histograms (node, dataset load/save, run), aggregated as spans end.

What each histogram holds, and why (a run's ``metrics.jsonl`` must not grow with its node count
beyond one small point per node):

- ``kedro.node.duration``: one series per node (``cicd.pipeline.task.name``,
  ``cicd.pipeline.task.run.result``) with count, sum, min and max and no bucket bounds. A node
  runs once per run, so per-node buckets would hold one count among 20 and cost about 200 bytes a
  node; per-node quantiles across runs come from the Collector's ``span_metrics`` (see
  ``collector-config/grafana.yaml``), per-node means from ``_sum / _count``.
- ``kedro.dataset.load.duration`` / ``kedro.dataset.save.duration``: bucketed, one series per
  dataset type (``kedro.dataset.type``), a set bounded by the project's code rather than its
  size; each dataset's own loads and saves are spans in ``traces.jsonl``.
- ``kedro.run.duration``: bucketed, per pipeline and ``cicd.pipeline.result``.

A plain locked aggregator rather than the SDK's ``MeterProvider``: a record costs about a
microsecond on the thread that ends the span, and the points come out as plain
:class:`~otel_kedro.model.metric_series.MetricSeries` with the run's start as every cumulative
series' start. Buckets are ``(lower, upper]``, as the
SDK's.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Final, Literal

from otel_kedro import attributes as keys
from otel_kedro.model.metric_series import HistogramPoint, MetricSeries
from otel_kedro.model.usage import NodeFigure

# Explicit histogram boundaries in seconds: 5 ms (a parameter load) to 2 h (a long node), about
# three per decade, so both a dataset load and a training node land in informative buckets.
DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1800.0, 3600.0, 7200.0,
)  # fmt: skip
# How many nodes the summary names per ranking (slowest, hungriest).
TOP_NODES: Final = 3

_DESCRIPTIONS: Final = {
    keys.KEDRO_NODE_DURATION: "Wall time of a Kedro node run, with its loads and saves.",
    keys.KEDRO_DATASET_LOAD_DURATION: "Wall time of a Kedro dataset load.",
    keys.KEDRO_DATASET_SAVE_DURATION: "Wall time of a Kedro dataset save.",
    keys.KEDRO_RUN_DURATION: "Wall time of a Kedro pipeline run.",
}
_BUCKETED: Final = frozenset(
    {keys.KEDRO_DATASET_LOAD_DURATION, keys.KEDRO_DATASET_SAVE_DURATION, keys.KEDRO_RUN_DURATION}
)

_Key = tuple[tuple[str, str], ...]
_Ranked = tuple[float, int, NodeFigure]  # (what ranks, arrival, the node): arrival breaks ties


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


@dataclasses.dataclass(slots=True)  # one per node: a run of 10,000 holds 10,000
class _Series:
    start_ns: int
    buckets: list[int] | None
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf


class KedroDurations:
    """Thread-safe recorder of node, dataset and run durations, as cumulative histograms.

    Hooks of a ThreadRunner end spans concurrently; negative or non-finite durations (a clock
    step) are ignored rather than skewing sums. ``start_time`` (Unix seconds) starts every
    series; without it each series starts at its first value. :meth:`observe` takes a span's
    name and attributes and keeps, besides the histograms, the few nodes the summary names.
    """

    def __init__(
        self, *, start_time: float | None = None, boundaries: Sequence[float] = DURATION_BUCKETS
    ) -> None:
        bounds = tuple(sorted({float(bound) for bound in boundaries}))
        if not all(math.isfinite(bound) for bound in bounds):
            raise ValueError(f"histogram boundaries must be finite, not {boundaries!r}")
        self._bounds = bounds
        self._start = None if start_time is None else _ns(start_time)
        self._series: dict[str, dict[_Key, _Series]] = {name: {} for name in _DESCRIPTIONS}
        self._slowest: list[_Ranked] = []
        self._hungriest: list[_Ranked] = []
        self._undecided: list[tuple[str, str, float]] = []  # (kind, name, seconds)
        self._seen = 0
        self._lock = threading.Lock()

    def _record(self, name: str, key: _Key, seconds: float) -> None:
        if not (math.isfinite(seconds) and seconds >= 0):
            return
        with self._lock:
            series = self._series[name].get(key)
            if series is None:
                start = self._start if self._start is not None else time.time_ns()
                buckets = [0] * (len(self._bounds) + 1) if name in _BUCKETED else None
                series = self._series[name][key] = _Series(start, buckets)
            series.count += 1
            series.total += seconds
            series.low = min(series.low, seconds)
            series.high = max(series.high, seconds)
            if series.buckets is not None:
                series.buckets[bisect.bisect_left(self._bounds, seconds)] += 1

    def record_node(self, name: str, seconds: float, result: str) -> None:
        """One node run: its full name and ``success`` / ``failure``."""
        key = ((keys.CICD_TASK_NAME, name), (keys.CICD_TASK_RUN_RESULT, result))
        self._record(keys.KEDRO_NODE_DURATION, key, seconds)

    def record_dataset(
        self, operation: Literal["load", "save"], dataset_type: str | None, seconds: float
    ) -> None:
        """One dataset load or save, by the dataset's type (None: a type nobody knows)."""
        if operation not in ("load", "save"):
            raise ValueError(f"operation must be 'load' or 'save', not {operation!r}")
        load = operation == "load"
        metric = keys.KEDRO_DATASET_LOAD_DURATION if load else keys.KEDRO_DATASET_SAVE_DURATION
        key = ((keys.KEDRO_DATASET_TYPE, dataset_type),) if dataset_type else ()
        self._record(metric, key, seconds)

    def record_run(self, pipeline: str, seconds: float, result: str) -> None:
        """One pipeline run: its name and ``cicd.pipeline.result``."""
        key = ((keys.CICD_PIPELINE_NAME, pipeline), (keys.CICD_PIPELINE_RESULT, result))
        self._record(keys.KEDRO_RUN_DURATION, key, seconds)

    def observe(self, name: str, values: Mapping[str, object], seconds: float) -> None:
        """One ended span, by what it is: a node, a dataset load or save, a run (else nothing).

        A node or run without its result yet is recorded by :meth:`decide` with the run's.
        """
        if keys.CICD_TASK_NAME in values:
            node = str(values[keys.CICD_TASK_NAME])
            result = values.get(keys.CICD_TASK_RUN_RESULT)
            if result is None:
                with self._lock:
                    self._undecided.append(("node", node, seconds))
            else:
                self.record_node(node, seconds, str(result))
            peak = values.get(keys.KEDRO_NODE_MEMORY_PEAK)
            self._rank(NodeFigure(name, seconds, peak if isinstance(peak, int) else None))
        elif keys.KEDRO_DATASET_NAME in values:
            kind = values.get(keys.KEDRO_DATASET_TYPE)
            operation: Literal["load", "save"] = (
                "load" if name.startswith(keys.LOAD_SPAN_PREFIX) else "save"
            )
            self.record_dataset(operation, str(kind) if kind else None, seconds)
        elif keys.CICD_PIPELINE_RUN_ID in values:
            pipeline = str(values.get(keys.CICD_PIPELINE_NAME, ""))
            result = values.get(keys.CICD_PIPELINE_RESULT)
            if result is None:
                with self._lock:
                    self._undecided.append(("run", pipeline, seconds))
            else:
                self.record_run(pipeline, seconds, str(result))

    def _rank(self, figure: NodeFigure) -> None:
        """Keep the slowest and the hungriest few nodes (bounded heaps, never every node)."""
        with self._lock:
            self._seen += 1
            _push(self._slowest, (figure.seconds, self._seen, figure))
            if figure.peak_bytes is not None:
                _push(self._hungriest, (float(figure.peak_bytes), self._seen, figure))

    def decide(self, result: str) -> None:
        """Record the nodes and runs that ended without a result, with the run's ``result``."""
        with self._lock:
            undecided, self._undecided = self._undecided, []
        for kind, name, seconds in undecided:
            if kind == "node":
                self.record_node(name, seconds, result)
            else:
                self.record_run(name, seconds, result)

    def top_nodes(self) -> list[NodeFigure]:
        """The slowest and the hungriest nodes seen (at most ``2 * TOP_NODES``)."""
        with self._lock:
            figures = [f for _, _, f in self._slowest] + [f for _, _, f in self._hungriest]
        return list({id(figure): figure for figure in figures}.values())

    def series(self, now: float | None = None) -> list[MetricSeries]:
        """The histograms recorded so far (cumulative), stamped ``now`` (Unix s) or now."""
        at = time.time_ns() if now is None else _ns(now)
        result = []
        with self._lock:
            for name, by_key in self._series.items():
                if not by_key:
                    continue
                points = tuple(_point(key, series, self._bounds, at)
                               for key, series in by_key.items())  # fmt: skip
                result.append(MetricSeries(name, _DESCRIPTIONS[name], "s", "histogram", points))
        return result


def in_chunks(series: Sequence[MetricSeries], points: int) -> Iterator[list[MetricSeries]]:
    """``series`` as consecutive lists holding at most ``points`` data points each, a series
    split across lists where it has more: written one list per line, the end of a run of
    thousands of nodes never encodes one document of every node's point at once.
    """
    chunk: list[MetricSeries] = []
    size = 0
    for one in series:
        for start in range(0, len(one.points), points):
            part = one.points[start : start + points]
            if chunk and size + len(part) > points:
                yield chunk
                chunk, size = [], 0
            chunk.append(one._replace(points=part))
            size += len(part)
    if chunk:
        yield chunk


def _point(key: _Key, series: _Series, bounds: tuple[float, ...], at: int) -> HistogramPoint:
    """One series as a point. A bucketless series has no bucket counts (OTLP allows none with
    no bounds) and, holding one value, no min and max: they would repeat the sum.
    """
    bucketed = series.buckets is not None
    single = not bucketed and series.count == 1
    return HistogramPoint(
        attributes=dict(key),
        start_ns=min(series.start_ns, at),
        time_ns=at,
        observations=series.count,
        total=series.total,
        bucket_counts=tuple(series.buckets) if series.buckets is not None else (),
        bounds=bounds if bucketed else (),
        low=None if single else series.low,
        high=None if single else series.high,
    )


def _push(heap: list[_Ranked], item: _Ranked) -> None:
    """Keep the ``TOP_NODES`` largest items of a min-heap."""
    if len(heap) < TOP_NODES:
        heapq.heappush(heap, item)
    elif item[:2] > heap[0][:2]:
        heapq.heapreplace(heap, item)
