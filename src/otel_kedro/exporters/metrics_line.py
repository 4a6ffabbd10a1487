"""Metric series as one OTLP JSON Lines request, encoded without the OpenTelemetry SDK.

The same encoding as ``opentelemetry-exporter-otlp-json-common`` gives the SDK's ``Metric``
objects (a test compares the two on the same samples): cumulative sums with
``aggregationTemporality: 2``, ``isMonotonic`` only when true, gauges without a start time,
integers as ``asInt`` strings and floats as ``asDouble``, empty fields left out. Used by
``otel-kedro run``, whose start-up budget leaves no room for the SDK's import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from otel_kedro.exporters.append import AtomicAppendStream
from otel_kedro.exporters.span_line import Value, key_values, resource_of
from otel_kedro.model.metric_series import MetricSeries, NumberPoint

AGGREGATION_CUMULATIVE: Final = 2


def _point(point: NumberPoint, *, gauge: bool) -> dict[str, object]:
    encoded: dict[str, object] = {}
    if point.attributes:
        encoded["attributes"] = key_values(point.attributes)
    if not gauge and point.start_ns:  # proto3 JSON leaves out zeros
        encoded["startTimeUnixNano"] = str(point.start_ns)
    if point.time_ns:
        encoded["timeUnixNano"] = str(point.time_ns)
    value = point.value
    if isinstance(value, int) and not isinstance(value, bool):
        encoded["asInt"] = str(value)
    else:
        encoded["asDouble"] = float(value)
    return encoded


def _metric(series: MetricSeries) -> dict[str, object]:
    encoded: dict[str, object] = {"name": series.name}
    if series.description:
        encoded["description"] = series.description
    if series.unit:
        encoded["unit"] = series.unit
    gauge = series.kind == "gauge"
    points = [_point(point, gauge=gauge) for point in series.points]
    if gauge:
        encoded["gauge"] = {"dataPoints": points}
    else:
        data: dict[str, object] = {
            "dataPoints": points,
            "aggregationTemporality": AGGREGATION_CUMULATIVE,
        }
        if series.kind == "counter":
            data["isMonotonic"] = True
        encoded["sum"] = data
    return encoded


def metrics_request(
    series: Sequence[MetricSeries],
    resource: Mapping[str, Value],
    *,
    scope_name: str,
    scope_version: str,
    schema_url: str,
) -> dict[str, object]:
    """An ``ExportMetricsServiceRequest`` holding ``series``, as the OTLP JSON encoding has it."""
    return {
        "resourceMetrics": [
            {
                "resource": resource_of(resource),
                "scopeMetrics": [
                    {
                        "scope": {"name": scope_name, "version": scope_version},
                        "metrics": [_metric(one) for one in series],
                        "schemaUrl": schema_url,
                    }
                ],
            }
        ]
    }


class MetricsLineWriter:
    """Appends one request per call to a file, each with a single ``write(2)``."""

    def __init__(self, path: Path, resource: Mapping[str, Value], scope_version: str) -> None:
        from otel_kedro import attributes as keys

        self._stream = AtomicAppendStream(path)
        self._resource = resource
        self._scope = (keys.INSTRUMENTATION_SCOPE, scope_version, keys.SCHEMA_URL)

    def add_series(self, series: Sequence[MetricSeries]) -> None:
        """Append the series as one line (nothing for no series)."""
        if not series:
            return
        name, version, schema_url = self._scope
        request = metrics_request(
            series, self._resource, scope_name=name, scope_version=version, schema_url=schema_url
        )
        self._stream.write(json.dumps(request, separators=(",", ":")) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Release the file."""
        self._stream.close()
