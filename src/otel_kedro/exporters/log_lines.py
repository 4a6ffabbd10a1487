"""One batch of log records, one OTLP JSON line: the fast encoder of ``logs.jsonl``.

The reference encoder (``opentelemetry-exporter-otlp-json-common``) builds intermediate message
objects for every record and costs about 60 ms of imports per run. :func:`logs_request_line`
writes the same ``ExportLogsServiceRequest`` JSON for the shapes log records of a run take
(string bodies; string, bool, int and finite float attributes and their arrays), grouped by
resource and scope in first-seen order as the reference encoder groups them; any other shape (a
mapping or bytes body or attribute, a non-finite float) sends the whole batch through the
reference encoder. A test compares both on generated records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from otel_kedro.exporters.span_lines import Unsupported, any_value, encode_attributes, scope_dict

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord

_DUMPS = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _record_dict(readable: ReadableLogRecord) -> dict[str, Any]:
    record = readable.log_record
    result: dict[str, Any] = {}
    if record.timestamp:
        result["timeUnixNano"] = str(record.timestamp)
    if record.observed_timestamp:
        result["observedTimeUnixNano"] = str(record.observed_timestamp)
    severity = getattr(record.severity_number, "value", None)
    if severity:
        result["severityNumber"] = severity
    if record.severity_text:
        result["severityText"] = record.severity_text
    result["body"] = {} if record.body is None else any_value(record.body)
    attributes = encode_attributes(record.attributes)
    if attributes:
        result["attributes"] = attributes
    if readable.dropped_attributes:
        result["droppedAttributesCount"] = readable.dropped_attributes
    flags = int(record.trace_flags) if record.trace_flags is not None else 0
    if flags:
        result["flags"] = flags
    if record.trace_id:
        result["traceId"] = f"{record.trace_id:032x}"
    if record.span_id:
        result["spanId"] = f"{record.span_id:016x}"
    if record.event_name:
        result["eventName"] = record.event_name
    return result


def _fast_request(batch: Sequence[ReadableLogRecord]) -> dict[str, Any]:
    # Grouped by equal resources, as the reference encoder groups them, without hashing one per
    # record (a Resource's hash serialises its attributes): each new object is compared with
    # the few groups there are.
    groups: list[tuple[Any, dict[Any, list[dict[str, Any]]]]] = []
    by_object: dict[int, dict[Any, list[dict[str, Any]]]] = {}
    for readable in batch:
        resource = readable.resource
        scopes = by_object.get(id(resource))
        if scopes is None:
            scopes = next((found for known, found in groups if known == resource), None)
            if scopes is None:
                scopes = {}
                groups.append((resource, scopes))
            by_object[id(resource)] = scopes
        scope = readable.instrumentation_scope or None
        scopes.setdefault(scope, []).append(_record_dict(readable))
    resource_logs = []
    for resource, scopes in groups:
        scope_logs = []
        for scope, records in scopes.items():
            entry: dict[str, Any] = {"scope": scope_dict(scope), "logRecords": records}
            if scope is not None and scope.schema_url:
                entry["schemaUrl"] = scope.schema_url
            scope_logs.append(entry)
        encoded = encode_attributes(resource.attributes)
        group: dict[str, Any] = {
            "resource": {"attributes": encoded} if encoded else {},
            "scopeLogs": scope_logs,
        }
        if resource.schema_url:
            group["schemaUrl"] = resource.schema_url
        resource_logs.append(group)
    return {"resourceLogs": resource_logs}


def logs_request_line(batch: Sequence[ReadableLogRecord]) -> str:
    """The batch as one ``ExportLogsServiceRequest`` JSON line (newline included)."""
    try:
        return _DUMPS(_fast_request(batch)) + "\n"
    except (Unsupported, ValueError):
        from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs

        return json.dumps(encode_logs(batch).to_dict(), separators=(",", ":")) + "\n"
