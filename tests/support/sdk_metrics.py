"""Plain metric series as the SDK's ``Metric`` objects: the oracle the tests hold our encoder to
(the SDK's own OTLP JSON encoder takes these) and the shape the run-folder reader gives back."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    Sum,
)

from otel_kedro.model.metric_series import HistogramPoint, MetricSeries, NumberPoint


def sdk_metrics(series: Iterable[MetricSeries]) -> list[Metric]:
    """Cumulative sums, gauges and cumulative explicit-bucket histograms, point for point."""
    result = []
    for one in series:
        data: Sum | Gauge | Histogram
        if one.kind == "histogram":
            histograms = [
                HistogramDataPoint(dict(p.attributes), p.start_ns, p.time_ns, p.observations,
                                   p.total, list(p.bucket_counts), list(p.bounds),
                                   p.low, p.high)  # type: ignore[arg-type]
                for p in one.points
                if isinstance(p, HistogramPoint)
            ]  # fmt: skip
            data = Histogram(histograms, AggregationTemporality.CUMULATIVE)
        else:
            numbers = [
                NumberDataPoint(dict(p.attributes), p.start_ns, p.time_ns, p.value)
                for p in one.points
                if isinstance(p, NumberPoint)
            ]
            if one.kind == "gauge":
                data = Gauge(numbers)
            else:
                data = Sum(numbers, AggregationTemporality.CUMULATIVE, one.kind == "counter")
        result.append(Metric(one.name, one.description, one.unit, data))
    return result
