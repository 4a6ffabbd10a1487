"""OTLP delivery of a run's local trace file (HTTP/protobuf or gRPC), with a bounded wait.

The local ``traces.jsonl`` is the source of truth (it holds the spans of every process of the run,
ParallelRunner workers included), so a run is delivered by sending that file, passed through the
OTLP destination's privacy chain, once the run has ended. The same code serves
``otel-kedro replay``. Each destination that acknowledged a run is recorded in the run folder's
``delivery.json``, so no run is sent twice to one destination unless forced.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import unquote

from otel_kedro.exporters.delivery import delivered, record_delivery
from otel_kedro.exporters.files import TRACES_FILE

if TYPE_CHECKING:
    from google.protobuf.message import Message
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    from otel_kedro.processors.chain import Chain

_M = TypeVar("_M", bound="Message")
GRPC: Final = "grpc"
HTTP: Final = "http/protobuf"
_ID_KEYS: Final = {"traceId": 32, "spanId": 16, "parentSpanId": 16}


@dataclasses.dataclass(frozen=True)
class OtlpTarget:
    """Where and how to send: protocol, endpoint, headers, per-request timeout (seconds)."""

    protocol: str
    endpoint: str
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 10.0
    metrics_endpoint: str = ""  # where metrics go; by default derived from ``endpoint``

    @property
    def metrics_url(self) -> str:
        """The metrics endpoint: as configured, else the traces one with ``/v1/metrics``."""
        if self.metrics_endpoint:
            return self.metrics_endpoint
        if self.protocol == HTTP and self.endpoint.endswith("/v1/traces"):
            return self.endpoint[: -len("traces")] + "metrics"
        return self.endpoint

    @property
    def key(self) -> str:
        """The destination's name in ``delivery.json``."""
        return f"otlp {self.protocol} {self.endpoint}"


def target_from_env(environ: Mapping[str, str], endpoint: str | None = None) -> OtlpTarget:
    """The target the standard ``OTEL_EXPORTER_OTLP_*`` variables describe (spec defaults)."""
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or HTTP
    ).strip()
    if protocol not in {GRPC, HTTP}:
        raise ValueError(f"OTLP protocol {protocol!r} is not supported; use {GRPC} or {HTTP}")
    base = endpoint or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()

    def url_of(signal: str) -> str:
        specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "").strip()
        if endpoint is None and specific:
            return specific
        if protocol == HTTP:
            return (base or "http://localhost:4318").rstrip("/") + f"/v1/{signal}"
        return base or "http://localhost:4317"

    raw_headers = environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or environ.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    headers = tuple(
        (unquote(k).strip().lower(), unquote(v).strip())
        for k, _, v in (pair.partition("=") for pair in raw_headers.split(",") if "=" in pair)
    )
    timeout = environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT", ""
    )
    # The specification says milliseconds; 10 s is its default.
    timeout_s = float(timeout) / 1000 if timeout.strip().isdigit() else 10.0
    return OtlpTarget(protocol, url_of("traces"), headers, timeout_s, url_of("metrics"))


def prepare(target: OtlpTarget) -> None:
    """Import what sending traces and metrics needs now, while the run is starting, so that the
    bounded wait at its end is spent sending rather than importing (50 to 100 ms for requests
    or grpc).
    """
    from google.protobuf import json_format  # noqa: F401
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2  # noqa: F401
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: F401

    if target.protocol == GRPC:
        import grpc  # noqa: F401
        from opentelemetry.proto.collector.metrics.v1 import (  # noqa: F401
            metrics_service_pb2_grpc,
        )
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc  # noqa: F401
    else:
        import requests  # noqa: F401


def read_requests(folder: Path) -> list[ExportTraceServiceRequest]:
    """Every request line of a run's ``traces.jsonl``, as protobuf messages."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    return read_json_lines(folder / TRACES_FILE, ExportTraceServiceRequest)


def read_json_lines(path: Path, message: type[_M]) -> list[_M]:
    """Every line of an OTLP JSON Lines file as a protobuf ``message``; none if it is absent."""
    from google.protobuf import json_format

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    requests = []
    for line in text.splitlines():
        if line.strip():
            document = json.loads(line)
            _hex_to_base64(document)
            requests.append(json_format.ParseDict(document, message()))
    return requests


def _hex_to_base64(node: Any) -> None:
    """OTLP JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            else:
                _hex_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_to_base64(item)


def _attribute_values(key_values: Iterable[KeyValue]) -> dict[str, Any]:
    """Protobuf attributes as plain Python values (scalars and arrays of scalars)."""
    result: dict[str, Any] = {}
    for item in key_values:
        kind = item.value.WhichOneof("value")
        if kind == "array_value":
            result[item.key] = [
                getattr(v, v.WhichOneof("value") or "string_value")
                for v in item.value.array_value.values
            ]
        elif kind in {"string_value", "bool_value", "int_value", "double_value"}:
            result[item.key] = getattr(item.value, kind)
    return result


def replace_attributes(key_values: Any, chain: Chain) -> None:
    """Apply the chain to a repeated ``KeyValue`` field in place. Values the chain cannot see
    (maps, bytes; span attributes never hold them) are dropped: nothing unprocessed leaves.
    """
    processed = chain.attributes(_attribute_values(key_values))
    del key_values[:]
    for key, value in processed.items():
        item = key_values.add()
        item.key = key
        _set_any(item.value, value)


def _set_any(target: Any, value: Any) -> None:
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, (list, tuple)):
        for element in value:
            _set_any(target.array_value.values.add(), element)
    else:
        target.string_value = str(value)


def apply_chain(request: ExportTraceServiceRequest, chain: Chain) -> None:
    """Run the destination's chain over every attribute set and text field of a request."""
    for resource_spans in request.resource_spans:
        replace_attributes(resource_spans.resource.attributes, chain)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                span.name = chain.text(span.name)
                if span.status.message:
                    span.status.message = chain.text(span.status.message)
                replace_attributes(span.attributes, chain)
                for event in span.events:
                    replace_attributes(event.attributes, chain)
                for link in span.links:
                    replace_attributes(link.attributes, chain)


def send(requests: Sequence[Message], target: OtlpTarget, *, metrics: bool = False) -> None:
    """Send every request (traces, or metrics); raise on the first that is not acknowledged."""
    if target.protocol == GRPC:
        _send_grpc(requests, target, metrics=metrics)
        return
    import requests as http

    headers = {"Content-Type": "application/x-protobuf", **dict(target.headers)}
    with http.Session() as session:
        session.trust_env = False  # proxies from the environment must not reroute telemetry
        for request in requests:
            response = session.post(
                target.metrics_url if metrics else target.endpoint,
                data=request.SerializeToString(),
                headers=headers,
                timeout=target.timeout_s,
            )
            response.raise_for_status()


def _send_grpc(requests: Sequence[Message], target: OtlpTarget, *, metrics: bool) -> None:
    import grpc
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import (
        MetricsServiceStub,
    )
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    endpoint = target.metrics_url if metrics else target.endpoint
    address = endpoint.split("://", 1)[-1].rstrip("/")
    secure = endpoint.startswith("https://")
    options = [("grpc.enable_http_proxy", 0)]  # as for HTTP: no proxy from the environment
    channel = (
        grpc.secure_channel(address, grpc.ssl_channel_credentials(), options=options)
        if secure
        else grpc.insecure_channel(address, options=options)
    )
    with channel:
        stub_class: Any = MetricsServiceStub if metrics else TraceServiceStub
        stub = stub_class(channel)
        for request in requests:
            stub.Export(request, timeout=target.timeout_s, metadata=list(target.headers))


def deliver_run(folder: Path, target: OtlpTarget, chain: Chain, *, force: bool = False) -> int:
    """Send one run folder's spans, then its metrics, unless ``target`` already acknowledged
    them; the number of spans sent. Each signal is recorded on its own, so a backend that takes
    traces but not metrics (Jaeger, Phoenix) is not sent the traces again.
    """
    from otel_kedro.exporters.otlp_metrics import deliver_metrics

    record = delivered(folder)
    spans = 0
    if force or target.key not in record:
        requests = read_requests(folder)
        for request in requests:
            apply_chain(request, chain)
        send(requests, target)
        spans = sum(
            len(scope.spans) for request in requests for rs in request.resource_spans
            for scope in rs.scope_spans
        )  # fmt: skip
        record_delivery(folder, target.key, spans=spans)
    if force or f"{target.key} metrics" not in record:
        deliver_metrics(folder, target, chain)
    return spans
