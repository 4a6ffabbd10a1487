"""Decode ``metrics.jsonl`` with the real protobuf classes of opentelemetry-proto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric


def value(any_value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue`` (None when unset)."""
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attrs(key_values: Any) -> dict[str, Any]:
    """OTLP ``KeyValue`` list as a dict."""
    return {kv.key: value(kv.value) for kv in key_values}


def read_requests(path: Path) -> list[ExportMetricsServiceRequest]:
    """Every line must be one ExportMetricsServiceRequest in OTLP JSON."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json_format.Parse(line, ExportMetricsServiceRequest()) for line in lines]


def metrics_by_name(requests: list[ExportMetricsServiceRequest]) -> dict[str, list[Metric]]:
    """Every metric of every request, by name, in file order."""
    found: dict[str, list[Metric]] = {}
    for request in requests:
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found.setdefault(metric.name, []).append(metric)
    return found


def number_points(metrics: list[Metric]) -> list[tuple[dict[str, Any], int, int, float]]:
    """(attributes, start, time, value) of every sum or gauge point."""
    points = []
    for metric in metrics:
        data = metric.sum.data_points if metric.HasField("sum") else metric.gauge.data_points
        for p in data:
            number = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
            points.append((attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano, number))
    return points
