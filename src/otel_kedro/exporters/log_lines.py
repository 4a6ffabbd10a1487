"""A batch of a run's log records, one OTLP JSON line: the encoder of ``logs.jsonl``.

The reference encoder (``opentelemetry-exporter-otlp-json-common``) builds intermediate message
objects for every record and costs about 60 ms of imports per run. :func:`logs_request_line`
writes the same ``ExportLogsServiceRequest`` JSON for the shapes log records of a run take
(string bodies; string, bool, int and finite float attributes and their arrays): one resource
(the run's), records grouped by scope (the logger's name) in first-seen order, as the reference
encoder groups them. Any other shape (a mapping or bytes body or attribute, a non-finite float)
sends the whole batch through the reference encoder, as SDK records (:func:`as_sdk_record`). A
test compares both on generated records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from otel_kedro.exporters.span_lines import (
    Unsupported,
    any_value_json,
    attributes_json,
    resource_json,
    string_json,
)

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.resources import Resource

    from otel_kedro.model.log_record import CapturedLog


def _record_json(record: CapturedLog) -> str:
    fields = [f'"timeUnixNano":"{record.timestamp}"'] if record.timestamp else []
    if record.observed_timestamp:
        fields.append(f'"observedTimeUnixNano":"{record.observed_timestamp}"')
    if record.severity_number:
        fields.append(f'"severityNumber":{int(record.severity_number)}')
    if record.severity_text:
        fields.append('"severityText":' + string_json(record.severity_text))
    fields.append('"body":' + ("{}" if record.body is None else any_value_json(record.body)))
    if record.attributes:
        fields.append('"attributes":' + attributes_json(record.attributes))
    if record.dropped_attributes:
        fields.append(f'"droppedAttributesCount":{int(record.dropped_attributes)}')
    if record.trace_flags:
        fields.append(f'"flags":{int(record.trace_flags)}')
    if record.trace_id:
        fields.append(f'"traceId":"{record.trace_id:032x}"')
    if record.span_id:
        fields.append(f'"spanId":"{record.span_id:016x}"')
    return "{" + ",".join(fields) + "}"


def _fast_line(records: Sequence[CapturedLog], resource: Resource) -> str:
    scopes: dict[str, list[str]] = {}
    for record in records:
        scopes.setdefault(record.scope, []).append(_record_json(record))
    groups = ",".join(
        '{"scope":' + ('{"name":' + string_json(scope) + "}" if scope else "{}")
        + ',"logRecords":[' + ",".join(entries) + "]}"
        for scope, entries in scopes.items()
    )  # fmt: skip
    schema = ',"schemaUrl":' + string_json(resource.schema_url) if resource.schema_url else ""
    return (
        '{"resourceLogs":[{"resource":'
        + resource_json(resource)
        + ',"scopeLogs":['
        + groups
        + "]"
        + schema
        + "}]}\n"
    )


def logs_request_line(records: Sequence[CapturedLog], resource: Resource) -> str:
    """The records, all of ``resource``, as one ``ExportLogsServiceRequest`` JSON line
    (newline included).
    """
    try:
        return _fast_line(records, resource)
    except (Unsupported, ValueError):
        from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs

        batch = [as_sdk_record(record, resource) for record in records]
        return json.dumps(encode_logs(batch).to_dict(), separators=(",", ":")) + "\n"


def as_sdk_record(record: CapturedLog, resource: Resource) -> ReadableLogRecord:
    """The same record as the SDK's ``ReadableLogRecord`` (for the reference encoder)."""
    from opentelemetry import trace
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.attributes import BoundedAttributes
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    span = trace.NonRecordingSpan(
        trace.SpanContext(
            record.trace_id, record.span_id, is_remote=False,
            trace_flags=trace.TraceFlags(record.trace_flags),
        )
    )  # fmt: skip
    attributes: dict[str, Any] | BoundedAttributes = record.attributes
    if record.dropped_attributes:  # the SDK keeps the count on its bounded map only
        attributes = BoundedAttributes(
            maxlen=None, attributes=record.attributes, immutable=False, extended_attributes=True
        )
        attributes.dropped = record.dropped_attributes
    log_record = LogRecord(
        timestamp=record.timestamp,
        observed_timestamp=record.observed_timestamp,
        context=trace.set_span_in_context(span),
        severity_text=record.severity_text,
        severity_number=SeverityNumber(record.severity_number),
        body=record.body,
        attributes=attributes,
    )
    return ReadableLogRecord(
        log_record, resource=resource, instrumentation_scope=InstrumentationScope(record.scope)
    )
