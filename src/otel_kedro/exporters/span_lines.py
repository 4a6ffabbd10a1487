"""One ended span, one OTLP JSON line, written as the span ends: the crash-safe trace writer.

A run's spans used to wait in a ``BatchSpanProcessor`` for up to two seconds, so a process that
died abruptly (SIGKILL, the OOM killer, ``os._exit``) lost every span it had ended since the last
batch. Here each span is appended as its own ``ExportTraceServiceRequest`` line when it ends.

``opentelemetry-exporter-otlp-json-common`` encodes one span in ~100 µs (it re-encodes the resource
and builds intermediate message objects for every request), which would put ~0.1 ms on every
node and dataset hook. :class:`SpanLineEncoder` writes the same JSON for the shapes our spans take
(string, bool, int, finite float attributes and their arrays; events; status) in a fraction of
that, with the resource and scope encoded once; any other shape (links, trace state, dropped
counts, maps, bytes, non-finite floats) goes through the reference encoder. A test compares both
encoders on generated spans.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import StatusCode

from otel_kedro.exporters.files import AtomicAppendStream

_FLAGS_HAS_IS_REMOTE = 0x100
_FLAGS_IS_REMOTE = 0x200
# Compact OTLP JSON, NaN and infinities refused (the fast paths send those to the reference
# encoder); one encoder, as json.dumps with options builds one per call.
compact_json = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


class Unsupported(Exception):  # noqa: N818 - internal signal: use the reference encoder
    """A value the fast path does not encode."""


def any_value(value: object) -> dict[str, Any]:
    """OTLP JSON ``AnyValue`` of one of our value types; :class:`Unsupported` for the rest."""
    # bool before int: bool is an int subclass.
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unsupported
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]} if value else {}}
    raise Unsupported


def encode_attributes(attributes: Mapping[str, object] | None) -> list[dict[str, Any]]:
    """OTLP JSON ``KeyValue`` list, as the reference encoder writes it for our value types."""
    if not attributes:
        return []
    return [
        {"key": key, "value": any_value(value)} if key else {"value": any_value(value)}
        for key, value in attributes.items()
    ]


def scope_dict(scope: InstrumentationScope | None) -> dict[str, Any]:
    """OTLP JSON ``InstrumentationScope``, as the reference encoder writes it."""
    if scope is None:
        return {}
    result: dict[str, Any] = {"name": scope.name} if scope.name else {}
    if scope.version:
        result["version"] = scope.version
    attributes = encode_attributes(scope.attributes)
    if attributes:
        result["attributes"] = attributes
    return result


def _span_dict(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    if (
        context is None
        or span.links
        or len(context.trace_state)
        or span.dropped_attributes
        or span.dropped_events
        or span.dropped_links
    ):
        raise Unsupported
    parent = span.parent
    remote = parent is not None and parent.is_remote
    flags = _FLAGS_HAS_IS_REMOTE | (_FLAGS_IS_REMOTE if remote else 0)
    result: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
    }
    if parent is not None:
        result["parentSpanId"] = f"{parent.span_id:016x}"
    result["flags"] = flags
    if span.name:
        result["name"] = span.name
    result["kind"] = span.kind.value + 1  # OTLP numbers kinds from 1 (INTERNAL)
    if span.start_time:
        result["startTimeUnixNano"] = str(span.start_time)
    if span.end_time:
        result["endTimeUnixNano"] = str(span.end_time)
    attributes = encode_attributes(span.attributes)
    if attributes:
        result["attributes"] = attributes
    events = [_event_dict(event) for event in span.events]
    if events:
        result["events"] = events
    status: dict[str, Any] = {}
    if span.status.description:
        status["message"] = span.status.description
    if span.status.status_code is not StatusCode.UNSET:
        status["code"] = span.status.status_code.value
    result["status"] = status
    return result


def _event_dict(event: Event) -> dict[str, Any]:
    if event.dropped_attributes:
        raise Unsupported
    encoded: dict[str, Any] = {}
    if event.timestamp:
        encoded["timeUnixNano"] = str(event.timestamp)
    if event.name:
        encoded["name"] = event.name
    attributes = encode_attributes(event.attributes)
    if attributes:
        encoded["attributes"] = attributes
    return encoded


class SpanLineEncoder:
    """Encodes one span as one OTLP JSON request line; resources and scopes are encoded once."""

    _LIMIT = 64

    def __init__(self) -> None:
        self._prefixes: dict[tuple[int, int], tuple[Resource, object, str, str]] = {}

    def _frame(self, span: ReadableSpan) -> tuple[str, str]:
        resource, scope = span.resource, span.instrumentation_scope
        key = (id(resource), id(scope))
        cached = self._prefixes.get(key)
        if cached is not None and cached[0] is resource and cached[1] is scope:
            return cached[2], cached[3]
        resource_attributes = encode_attributes(resource.attributes)
        encoded_resource = {"attributes": resource_attributes} if resource_attributes else {}
        scope_url = scope.schema_url if scope is not None else ""
        prefix = (
            '{"resourceSpans":[{"resource":' + compact_json(encoded_resource)
            + ',"scopeSpans":[{"scope":' + compact_json(scope_dict(scope)) + ',"spans":['
        )  # fmt: skip
        suffix = "]" + (',"schemaUrl":' + compact_json(scope_url) if scope_url else "") + "}]"
        if resource.schema_url:
            suffix += ',"schemaUrl":' + compact_json(resource.schema_url)
        suffix += "}]}\n"
        if len(self._prefixes) < self._LIMIT:
            self._prefixes[key] = (resource, scope, prefix, suffix)
        return prefix, suffix

    def line(self, span: ReadableSpan) -> str:
        """The span as one ``ExportTraceServiceRequest`` JSON line (ending in a newline)."""
        try:
            prefix, suffix = self._frame(span)
            return prefix + compact_json(_span_dict(span)) + suffix
        except (Unsupported, ValueError):
            from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans

            return json.dumps(encode_spans([span]).to_dict(), separators=(",", ":")) + "\n"


class SpanLineExporter(SpanExporter):
    """Appends each exported span as its own line to an OTLP JSON Lines file, in one
    ``write(2)`` per call (a batch of spans is one write of several whole lines).
    """

    def __init__(self, path: Path) -> None:
        self._stream = AtomicAppendStream(path)
        self._encoder = SpanLineEncoder()
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append the spans, one line each."""
        if not spans:
            return SpanExportResult.SUCCESS
        with self._lock:
            if self._stream.closed:
                return SpanExportResult.FAILURE
            # A failed write is cut back to whole lines and reported by the stream; FAILURE
            # (not raising) keeps the SDK from printing a traceback to the user's console.
            written = self._stream.append("".join(self._encoder.line(span) for span in spans))
        return SpanExportResult.SUCCESS if written else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Close the file; later exports fail instead of writing."""
        with self._lock:
            self._stream.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:  # noqa: ARG002 - SDK signature
        """Every export is already on disk."""
        return True
