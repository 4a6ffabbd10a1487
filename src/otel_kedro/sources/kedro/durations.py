"""Kedro's duration histograms (node, dataset load/save, run), aggregated by the OpenTelemetry SDK.

A private ``MeterProvider`` (never the global one, so a user's own provider is untouched) with an
``InMemoryMetricReader`` aggregates cumulative ``Histogram`` instruments through one ``View`` per
instrument with explicit bucket boundaries; :meth:`KedroDurations.metrics` reads the points back
as SDK ``Metric`` objects for any exporter. Buckets are the SDK's: ``(lower, upper]``.

The SDK starts a cumulative series when its first value is recorded and stamps points with the
collection time; neither can be set through its API. So when the caller gives ``start_time`` (or
``now``) the points' start (or time) is rewritten to it, and nothing else is touched.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Final, Literal

from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics import Histogram as HistogramInstrument
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    InMemoryMetricReader,
    Metric,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from otel_kedro import attributes as keys

# Explicit histogram boundaries in seconds: 5 ms (a parameter load) to 2 h (a long node), about
# three per decade, so both a dataset load and a training node land in informative buckets.
DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1800.0, 3600.0, 7200.0,
)  # fmt: skip
# Distinct attribute sets per histogram before the SDK folds the rest into one overflow point
# (its default, 2000, is below the dataset count of some large projects).
CARDINALITY_LIMIT: Final = 20_000

_DESCRIPTIONS: Final = {
    keys.KEDRO_NODE_DURATION: "Wall time of a Kedro node run, with its loads and saves.",
    keys.KEDRO_DATASET_LOAD_DURATION: "Wall time of a Kedro dataset load.",
    keys.KEDRO_DATASET_SAVE_DURATION: "Wall time of a Kedro dataset save.",
    keys.KEDRO_RUN_DURATION: "Wall time of a Kedro pipeline run.",
}


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


class KedroDurations:
    """Thread-safe recorder of node, dataset and run durations, as cumulative histograms.

    Hooks of a ThreadRunner call it concurrently (the SDK's aggregations are locked); negative
    or non-finite durations (a clock step) are ignored rather than skewing sums. ``start_time``
    (Unix seconds) starts every series; without it each series starts at its first value.
    """

    def __init__(
        self, *, start_time: float | None = None, boundaries: Sequence[float] = DURATION_BUCKETS
    ) -> None:
        bounds = tuple(sorted({float(bound) for bound in boundaries}))
        if not all(math.isfinite(bound) for bound in bounds):
            raise ValueError(f"histogram boundaries must be finite, not {boundaries!r}")
        self._start = None if start_time is None else _ns(start_time)
        self._reader = InMemoryMetricReader(
            preferred_temporality={HistogramInstrument: AggregationTemporality.CUMULATIVE}
        )
        aggregation = ExplicitBucketHistogramAggregation(bounds)
        views = [
            View(
                instrument_name=name,
                aggregation=aggregation,
                aggregation_cardinality_limit=CARDINALITY_LIMIT,
            )
            for name in _DESCRIPTIONS
        ]
        provider = MeterProvider(
            metric_readers=[self._reader],
            resource=Resource.get_empty(),  # exporters add the run's resource
            exemplar_filter=AlwaysOffExemplarFilter(),  # no trace ids in these points
            shutdown_on_exit=False,  # no atexit reference: it is freed with this object
            views=views,
        )
        meter = provider.get_meter(keys.INSTRUMENTATION_SCOPE, schema_url=keys.SCHEMA_URL)
        self._histograms = {
            name: meter.create_histogram(name, unit="s", description=description)
            for name, description in _DESCRIPTIONS.items()
        }

    def _record(self, name: str, attributes: dict[str, str], seconds: float) -> None:
        if math.isfinite(seconds) and seconds >= 0:  # the SDK would log a warning for each
            self._histograms[name].record(seconds, attributes)

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
        """The histograms recorded so far (cumulative), stamped ``now`` (Unix s) when given."""
        data = self._reader.get_metrics_data()
        if data is None:
            return []
        at = None if now is None else _ns(now)
        return [
            self._stamped(metric, metric.data, at)
            for resource_metrics in data.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
            if isinstance(metric.data, Histogram) and metric.data.data_points
        ]

    def _stamped(self, metric: Metric, data: Histogram, at: int | None) -> Metric:
        """The metric with its points' start (and time) set to the caller's, where given."""
        if self._start is None and at is None:
            return metric
        start = self._start
        points = [
            dataclasses.replace(
                point,
                start_time_unix_nano=point.start_time_unix_nano if start is None else start,
                time_unix_nano=point.time_unix_nano if at is None else at,
            )
            for point in data.data_points
        ]
        return dataclasses.replace(metric, data=dataclasses.replace(data, data_points=points))
