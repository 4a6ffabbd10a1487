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
    any_value,
    compact_json,
    encode_attributes,
)

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.resources import Resource

    from otel_kedro.model.log_record import CapturedLog


def _record_dict(record: CapturedLog) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if record.timestamp:
        result["timeUnixNano"] = str(record.timestamp)
    if record.observed_timestamp:
        result["observedTimeUnixNano"] = str(record.observed_timestamp)
    if record.severity_number:
        result["severityNumber"] = record.severity_number
    if record.severity_text:
        result["severityText"] = record.severity_text
    result["body"] = {} if record.body is None else any_value(record.body)
    attributes = encode_attributes(record.attributes)
    if attributes:
        result["attributes"] = attributes
    if record.dropped_attributes:
        result["droppedAttributesCount"] = record.dropped_attributes
    if record.trace_flags:
        result["flags"] = record.trace_flags
    if record.trace_id:
        result["traceId"] = f"{record.trace_id:032x}"
    if record.span_id:
        result["spanId"] = f"{record.span_id:016x}"
    return result


def _fast_request(records: Sequence[CapturedLog], resource: Resource) -> dict[str, Any]:
    scopes: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        scopes.setdefault(record.scope, []).append(_record_dict(record))
    encoded = encode_attributes(resource.attributes)
    group: dict[str, Any] = {
        "resource": {"attributes": encoded} if encoded else {},
        "scopeLogs": [
            {"scope": {"name": scope} if scope else {}, "logRecords": entries}
            for scope, entries in scopes.items()
        ],
    }
    if resource.schema_url:
        group["schemaUrl"] = resource.schema_url
    return {"resourceLogs": [group]}


def logs_request_line(records: Sequence[CapturedLog], resource: Resource) -> str:
    """The records, all of ``resource``, as one ``ExportLogsServiceRequest`` JSON line
    (newline included).
    """
    try:
        return compact_json(_fast_request(records, resource)) + "\n"
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
