"""``metrics.jsonl``: metric series as OTLP JSON Lines requests, encoded without the OpenTelemetry
SDK.

The same encoding as ``opentelemetry-exporter-otlp-json-common`` gives the SDK's ``Metric``
objects (a test compares the two on generated series): cumulative sums with
``aggregationTemporality: 2``, ``isMonotonic`` only when true, gauges without a start time,
integers as ``asInt`` strings and floats as ``asDouble``, histogram counts as strings, empty
fields left out. Every writer of ``metrics.jsonl`` (a Kedro run, ``otel-kedro run``) uses it:
the SDK's metrics package and that encoder cost ≈ 28 ms to import, which every run would pay.
The writer is a transport: the series arrive already through the files chain.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from otel_kedro.exporters.append import AtomicAppendStream
from otel_kedro.exporters.span_line import Value, key_values, resource_of
from otel_kedro.model.metric_series import HistogramPoint, MetricSeries, NumberPoint

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


def _histogram_point(point: HistogramPoint) -> dict[str, object]:
    encoded: dict[str, object] = {}
    if point.attributes:
        encoded["attributes"] = key_values(point.attributes)
    if point.start_ns:
        encoded["startTimeUnixNano"] = str(point.start_ns)
    if point.time_ns:
        encoded["timeUnixNano"] = str(point.time_ns)
    if point.observations:
        encoded["count"] = str(point.observations)
    encoded["sum"] = point.total  # the encoder writes the sum even when zero
    if point.bucket_counts:
        encoded["bucketCounts"] = [str(count) for count in point.bucket_counts]
    if point.bounds:
        encoded["explicitBounds"] = list(point.bounds)
    if point.low is not None:
        encoded["min"] = point.low
    if point.high is not None:
        encoded["max"] = point.high
    return encoded


def _metric(series: MetricSeries) -> dict[str, object]:
    encoded: dict[str, object] = {"name": series.name}
    if series.description:
        encoded["description"] = series.description
    if series.unit:
        encoded["unit"] = series.unit
    if series.kind == "histogram":
        histograms = [_histogram_point(p) for p in series.points if isinstance(p, HistogramPoint)]
        encoded["histogram"] = {
            "dataPoints": histograms,
            "aggregationTemporality": AGGREGATION_CUMULATIVE,
        }
        return encoded
    gauge = series.kind == "gauge"
    points = [_point(p, gauge=gauge) for p in series.points if isinstance(p, NumberPoint)]
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


def metrics_request(  # noqa: PLR0913 - the request's parts, all but two keyword-only
    series: Sequence[MetricSeries],
    resource: Mapping[str, Value],
    *,
    scope_name: str,
    scope_version: str,
    schema_url: str,
    resource_schema_url: str = "",
) -> dict[str, object]:
    """An ``ExportMetricsServiceRequest`` holding ``series``, as the OTLP JSON encoding has it."""
    resource_metrics: dict[str, object] = {
        "resource": resource_of(resource),
        "scopeMetrics": [
            {
                "scope": {"name": scope_name, "version": scope_version},
                "metrics": [_metric(one) for one in series],
                "schemaUrl": schema_url,
            }
        ],
    }
    if resource_schema_url:
        resource_metrics["schemaUrl"] = resource_schema_url
    return {"resourceMetrics": [resource_metrics]}


class MetricsLineWriter:
    """Appends one request per call to a file, each with a single ``write(2)``; safe to share
    between threads (the sampler's and the run's end).

    ``resource`` is written as given (already processed); the scope is otel-kedro's at
    ``scope_version``.
    """

    def __init__(
        self,
        path: Path,
        resource: Mapping[str, Value],
        scope_version: str,
        *,
        resource_schema_url: str = "",
    ) -> None:
        from otel_kedro import attributes as keys

        self._stream = AtomicAppendStream(path)
        self._resource = resource
        self._resource_schema_url = resource_schema_url
        self._scope = (keys.INSTRUMENTATION_SCOPE, scope_version, keys.SCHEMA_URL)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The file this writer appends to."""
        return Path(self._stream.name)

    def add_series(self, series: Sequence[MetricSeries]) -> None:
        """Append the series as one line (nothing for no series); ``ValueError`` once closed."""
        if not series:
            return
        name, version, schema_url = self._scope
        request = metrics_request(
            series, self._resource, scope_name=name, scope_version=version,
            schema_url=schema_url, resource_schema_url=self._resource_schema_url,
        )  # fmt: skip
        line = json.dumps(request, separators=(",", ":")) + "\n"
        with self._lock:
            if self._stream.closed:
                raise ValueError(f"{self.path} is closed")
            self._stream.append(line)

    def close(self) -> None:
        """Release the file; later additions raise ``ValueError``."""
        with self._lock:
            self._stream.close()
