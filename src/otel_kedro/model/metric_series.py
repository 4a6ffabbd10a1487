"""Metric data points as plain values, between a source that measures and a writer that encodes.

The process source produces these; the SDK's ``Metric`` objects are built from them where the
SDK is loaded anyway (a Kedro run), and ``exporters.metrics_line`` encodes them as OTLP JSON
without the SDK where start-up time matters (``otel-kedro run``). Named tuples rather than
frozen dataclasses: as immutable, and a tenth of the cost to define on that start-up path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple, TypeAlias

AttributeValue: TypeAlias = "str | bool | int | float"
SeriesKind: TypeAlias = Literal["counter", "updown", "gauge"]


class NumberPoint(NamedTuple):
    """One measurement: ``start_ns`` begins a cumulative series (ignored for gauges)."""

    attributes: Mapping[str, AttributeValue]
    start_ns: int
    time_ns: int
    value: int | float


class MetricSeries(NamedTuple):
    """One metric's points: a monotonic counter, an up-down counter (both cumulative sums) or
    a gauge, as the OpenTelemetry data model has them.
    """

    name: str
    description: str
    unit: str
    kind: SeriesKind
    points: tuple[NumberPoint, ...]
