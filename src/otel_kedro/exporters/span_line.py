"""One finished span as one OTLP JSON Lines request, encoded without the OpenTelemetry SDK.

``otel-kedro run`` records a single span (the wrapped command) and must start and end within
100 ms; importing the SDK and its JSON encoder alone costs about as much. The encoding here is
the one ``opentelemetry-exporter-otlp-json-common`` writes (hex ids, int64 as strings, enum
values as numbers), so the run-folder reader, ``otel-kedro replay`` and the Collector's
``otlpjsonfile`` receiver read it like any other line; a test decodes it with opentelemetry-proto.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple, TypeAlias

from otel_kedro.exporters.append import AtomicAppendStream

Value: TypeAlias = "str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]"

SPAN_KIND_INTERNAL: Final = 1
STATUS_UNSET: Final = 0
STATUS_ERROR: Final = 2
_HAS_IS_REMOTE: Final = 0x100  # SpanFlags: the parent's remoteness is known
_IS_REMOTE: Final = 0x200  # SpanFlags: the parent is in another process


# A named tuple rather than a frozen dataclass: as immutable, and a tenth of the cost to define
# (~0.5 ms of `otel-kedro run`'s 100 ms start-up budget, which imports this module).
class FinishedSpan(NamedTuple):
    """A span that has ended, with its attributes already through the privacy chain."""

    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    parent_span_id: str  # 16 hex digits, or "" for a root span
    name: str
    start_ns: int
    end_ns: int
    attributes: Mapping[str, Value]
    kind: int = SPAN_KIND_INTERNAL
    status_code: int = STATUS_UNSET
    status_message: str = ""
    remote_parent: bool = False
    trace_state: str = ""


def any_value(value: Value) -> dict[str, object]:
    """An OTLP ``AnyValue`` in the JSON encoding (int64 as a string, as protobuf maps it)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    items = [any_value(item) for item in value]
    return {"arrayValue": {"values": items} if items else {}}


def key_values(attributes: Mapping[str, Value]) -> list[dict[str, object]]:
    """Attributes as OTLP ``KeyValue`` objects, in their order."""
    return [{"key": key, "value": any_value(value)} for key, value in attributes.items()]


def resource_of(attributes: Mapping[str, Value]) -> dict[str, object]:
    """An OTLP ``Resource``: no ``attributes`` key when there are none, as the encoder does."""
    return {"attributes": key_values(attributes)} if attributes else {}


def span_request(
    span: FinishedSpan,
    resource: Mapping[str, Value],
    *,
    scope_name: str,
    scope_version: str,
    schema_url: str,
) -> dict[str, object]:
    """An ``ExportTraceServiceRequest`` holding ``span``, as the OTLP JSON encoding has it."""
    # proto3's JSON mapping leaves out fields at their default (an empty name, status UNSET).
    status: dict[str, object] = {}
    if span.status_message:
        status["message"] = span.status_message
    if span.status_code:
        status["code"] = span.status_code
    encoded: dict[str, object] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "flags": _HAS_IS_REMOTE | (_IS_REMOTE if span.remote_parent else 0),
    }
    if span.name:
        encoded["name"] = span.name
    encoded["kind"] = span.kind
    encoded["startTimeUnixNano"] = str(span.start_ns)
    encoded["endTimeUnixNano"] = str(span.end_ns)
    encoded["status"] = status
    if span.attributes:
        encoded["attributes"] = key_values(span.attributes)
    if span.parent_span_id:
        encoded["parentSpanId"] = span.parent_span_id
    if span.trace_state:
        encoded["traceState"] = span.trace_state
    return {
        "resourceSpans": [
            {
                "resource": resource_of(resource),
                "scopeSpans": [
                    {
                        "scope": {"name": scope_name, "version": scope_version},
                        "spans": [encoded],
                        "schemaUrl": schema_url,
                    }
                ],
            }
        ]
    }


def append_span(path: Path, request: Mapping[str, object]) -> None:
    """Append one request as one line with a single ``write(2)``."""
    stream = AtomicAppendStream(path)
    try:
        stream.write(json.dumps(request, separators=(",", ":")) + "\n")
    finally:
        stream.close()
