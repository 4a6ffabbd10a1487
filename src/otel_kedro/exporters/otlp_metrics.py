"""The metrics half of OTLP delivery: a run's ``metrics.jsonl`` as protobuf requests, with the
OTLP destination's privacy chain applied to the resource and to every data point's attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from otel_kedro.exporters.delivery import record_delivery
from otel_kedro.exporters.files import METRICS_FILE
from otel_kedro.exporters.otlp import OtlpTarget, read_json_lines, replace_attributes, send

if TYPE_CHECKING:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    from otel_kedro.processors.chain import Chain

# What a backend that does not take metrics answers: HTTP 404/405/501, gRPC UNIMPLEMENTED.
_UNSUPPORTED_HTTP: Final = frozenset({404, 405, 501})
_POINT_FIELDS: Final = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


def read_metric_requests(folder: Path) -> list[ExportMetricsServiceRequest]:
    """Every request line of a run's ``metrics.jsonl`` (none when the sampler was off)."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    return read_json_lines(folder / METRICS_FILE, ExportMetricsServiceRequest)


def apply_metrics_chain(request: ExportMetricsServiceRequest, chain: Chain) -> None:
    """Run the chain over the resource and every data point's attributes, in place."""
    for resource_metrics in request.resource_metrics:
        replace_attributes(resource_metrics.resource.attributes, chain)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind in _POINT_FIELDS:
                    for point in getattr(metric, kind).data_points:
                        replace_attributes(point.attributes, chain)


def deliver_metrics(folder: Path, target: OtlpTarget, chain: Chain) -> None:
    """Send the run's metrics and record the outcome; a backend without a metrics endpoint is
    recorded as such (never retried), any other failure raises and is left for replay.
    """
    requests = read_metric_requests(folder)
    for request in requests:
        apply_metrics_chain(request, chain)
    try:
        send(requests, target, metrics=True)
    except Exception as error:
        if not _unsupported(error):
            raise
        record_delivery(folder, f"{target.key} metrics", unsupported=type(error).__name__)
        return
    record_delivery(folder, f"{target.key} metrics", requests=len(requests))


def _unsupported(error: Exception) -> bool:
    response = getattr(error, "response", None)
    if response is not None and getattr(response, "status_code", None) in _UNSUPPORTED_HTTP:
        return True
    code = getattr(error, "code", None)
    status = code() if callable(code) else None
    return getattr(status, "name", "") == "UNIMPLEMENTED"
