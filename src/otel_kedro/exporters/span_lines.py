"""One ended span, one OTLP JSON line, written as the span ends: the crash-safe trace writer.

A run's spans used to wait in a ``BatchSpanProcessor`` for up to two seconds, so a process that
died abruptly (SIGKILL, the OOM killer, ``os._exit``) lost every span it had ended since the last
batch. Here each span is appended as its own ``ExportTraceServiceRequest`` line when it ends.

``opentelemetry-exporter-otlp-json-common`` encodes one span in ~100 µs (it re-encodes the resource
and builds intermediate message objects for every request), which would put ~0.1 ms on every
node and dataset hook. :class:`SpanLineEncoder` writes the same JSON for the shapes our spans take
(string, bool, int, finite float attributes and their arrays; events; status) in a fraction of
that: the JSON text is written directly (strings through ``json``'s own C escaper, no
intermediate dicts: half the cost of building them for ``json.dumps``), with the resource and
scope encoded once; any other shape (links, trace state, dropped
counts, maps, bytes, non-finite floats) goes through the reference encoder. A test compares both
encoders on generated spans.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring_ascii
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import StatusCode

from otel_kedro.exporters.files import AtomicAppendStream

_FLAGS_HAS_IS_REMOTE = 0x100
_FLAGS_IS_REMOTE = 0x200
# A string as compact OTLP JSON writes it (``json``'s own C escaper, ASCII-only as json.dumps).
string_json = encode_basestring_ascii


class Unsupported(Exception):  # noqa: N818 - internal signal: use the reference encoder
    """A value the fast path does not encode."""


def any_value_json(value: object) -> str:
    """OTLP JSON ``AnyValue`` text of one of our value types; :class:`Unsupported` for the rest
    (NaN and infinities included: JSON has no spelling for them).
    """
    # bool before int: bool is an int subclass.
    if isinstance(value, str):
        return '{"stringValue":' + string_json(value) + "}"
    if isinstance(value, bool):
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, int):
        return '{"intValue":"' + str(value) + '"}'
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unsupported
        return '{"doubleValue":' + float.__repr__(value) + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return '{"arrayValue":{}}'
        return '{"arrayValue":{"values":[' + ",".join([any_value_json(v) for v in value]) + "]}}"
    raise Unsupported


def attributes_json(attributes: Mapping[str, object]) -> str:
    """OTLP JSON ``KeyValue`` list text, in the attributes' order, as the reference encoder
    writes it for our value types (an empty key is left out, as proto3 JSON leaves defaults).
    """
    return (
        "["
        + ",".join([('{"key":' + string_json(key) + ',"value":' if key else '{"value":')
                    + any_value_json(value) + "}"
                    for key, value in attributes.items()])
        + "]"
    )  # fmt: skip


def resource_json(resource: Resource) -> str:
    """OTLP JSON ``Resource`` text: no ``attributes`` key when there are none, as the encoder."""
    return (
        '{"attributes":' + attributes_json(resource.attributes) + "}"
        if resource.attributes
        else "{}"
    )


def scope_json(scope: InstrumentationScope | None) -> str:
    """OTLP JSON ``InstrumentationScope`` text, as the reference encoder writes it."""
    if scope is None:
        return "{}"
    fields = ['"name":' + string_json(scope.name)] if scope.name else []
    if scope.version:
        fields.append('"version":' + string_json(scope.version))
    if scope.attributes:
        fields.append('"attributes":' + attributes_json(scope.attributes))
    return "{" + ",".join(fields) + "}"


def _span_json(span: ReadableSpan) -> str:
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
    parts = [f'{{"traceId":"{context.trace_id:032x}","spanId":"{context.span_id:016x}"']
    if parent is not None:
        parts.append(f',"parentSpanId":"{parent.span_id:016x}"')
    parts.append(f',"flags":{flags}')
    if span.name:
        parts.append(',"name":' + string_json(span.name))
    parts.append(f',"kind":{span.kind.value + 1}')  # OTLP numbers kinds from 1 (INTERNAL)
    if span.start_time:
        parts.append(f',"startTimeUnixNano":"{span.start_time}"')
    if span.end_time:
        parts.append(f',"endTimeUnixNano":"{span.end_time}"')
    if span.attributes:
        parts.append(',"attributes":' + attributes_json(span.attributes))
    if span.events:
        parts.append(',"events":[' + ",".join([_event_json(e) for e in span.events]) + "]")
    status = []
    if span.status.description:
        status.append('"message":' + string_json(span.status.description))
    if span.status.status_code is not StatusCode.UNSET:
        status.append(f'"code":{span.status.status_code.value}')
    parts.append(',"status":{' + ",".join(status) + "}}")
    return "".join(parts)


def _event_json(event: Event) -> str:
    if event.dropped_attributes:
        raise Unsupported
    fields = [f'"timeUnixNano":"{event.timestamp}"'] if event.timestamp else []
    if event.name:
        fields.append('"name":' + string_json(event.name))
    if event.attributes:
        fields.append('"attributes":' + attributes_json(event.attributes))
    return "{" + ",".join(fields) + "}"


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
        scope_url = scope.schema_url if scope is not None else ""
        prefix = (
            '{"resourceSpans":[{"resource":' + resource_json(resource)
            + ',"scopeSpans":[{"scope":' + scope_json(scope) + ',"spans":['
        )  # fmt: skip
        suffix = "]" + (',"schemaUrl":' + string_json(scope_url) if scope_url else "") + "}]"
        if resource.schema_url:
            suffix += ',"schemaUrl":' + string_json(resource.schema_url)
        suffix += "}]}\n"
        if len(self._prefixes) < self._LIMIT:
            self._prefixes[key] = (resource, scope, prefix, suffix)
        return prefix, suffix

    def line(self, span: ReadableSpan) -> str:
        """The span as one ``ExportTraceServiceRequest`` JSON line (ending in a newline)."""
        try:
            prefix, suffix = self._frame(span)
            return prefix + _span_json(span) + suffix
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
