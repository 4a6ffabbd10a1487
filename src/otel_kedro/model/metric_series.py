"""Metric data points as plain values, between a source that measures and a writer that encodes.

The process source and the Kedro duration histograms produce these, the files chain runs on
their attributes, and ``exporters.metrics_line`` encodes them as OTLP JSON: the SDK's metrics
package and its JSON encoder (≈ 28 ms of imports) are never loaded to write ``metrics.jsonl``.
Named tuples rather than frozen dataclasses: as immutable, and a tenth of the cost to define on
``otel-kedro run``'s start-up path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple, TypeAlias

AttributeValue: TypeAlias = "str | bool | int | float"
SeriesKind: TypeAlias = Literal["counter", "updown", "gauge", "histogram"]


class NumberPoint(NamedTuple):
    """One measurement: ``start_ns`` begins a cumulative series (ignored for gauges)."""

    attributes: Mapping[str, AttributeValue]
    start_ns: int
    time_ns: int
    value: int | float


class HistogramPoint(NamedTuple):
    """One cumulative explicit-bucket histogram point. ``bucket_counts`` has one more entry than
    ``bounds`` (buckets are ``(lower, upper]``), or both are empty for a series kept without
    buckets; ``low`` and ``high`` are None when not recorded.
    """

    attributes: Mapping[str, AttributeValue]
    start_ns: int
    time_ns: int
    observations: int  # OTLP's count (a named tuple's ``count`` is its method)
    total: float
    bucket_counts: tuple[int, ...]
    bounds: tuple[float, ...]
    low: float | None
    high: float | None


class MetricSeries(NamedTuple):
    """One metric's points: a monotonic counter, an up-down counter (both cumulative sums), a
    gauge or a cumulative histogram, as the OpenTelemetry data model has them.
    """

    name: str
    description: str
    unit: str
    kind: SeriesKind
    points: tuple[NumberPoint, ...] | tuple[HistogramPoint, ...]
