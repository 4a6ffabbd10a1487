"""Decode what otel-kedro writes with the real protobuf classes of opentelemetry-proto."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

_HEX = {"traceId": 32, "spanId": 16, "parentSpanId": 16}


@dataclasses.dataclass
class DecodedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    start_ns: int
    end_ns: int
    resource: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.status_code == Status.STATUS_CODE_ERROR


def _hex_ids_to_base64(node: Any) -> None:
    """OTLP JSON carries ids as hex; protobuf's JSON mapping wants base64. Check and convert."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _HEX and isinstance(value, str) and value:
                assert re.fullmatch(rf"[0-9a-f]{{{_HEX[key]}}}", value), (key, value)
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def _attrs(key_values: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


def decode_line(line: str) -> ExportTraceServiceRequest:
    document = json.loads(line)
    _hex_ids_to_base64(document)
    return json_format.Parse(json.dumps(document), ExportTraceServiceRequest())


def read_spans(path: Path) -> list[DecodedSpan]:
    """Every span of a traces.jsonl file; every line must decode."""
    spans: list[DecodedSpan] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        request = decode_line(line)
        for resource_spans in request.resource_spans:
            resource = _attrs(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                spans.extend(_decoded(span, resource) for span in scope_spans.spans)
    return spans


def _decoded(span: Span, resource: dict[str, Any]) -> DecodedSpan:
    return DecodedSpan(
        name=span.name,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex(),
        kind=span.kind,
        status_code=span.status.code,
        status_message=span.status.message,
        attributes=_attrs(span.attributes),
        events=[(event.name, _attrs(event.attributes)) for event in span.events],
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        resource=resource,
    )


@dataclasses.dataclass
class DecodedLog:
    body: Any
    trace_id: str
    span_id: str
    severity_number: int
    severity_text: str
    scope: str
    attributes: dict[str, Any]
    time_ns: int
    resource: dict[str, Any]


def decode_logs_line(line: str) -> ExportLogsServiceRequest:
    document = json.loads(line)
    _hex_ids_to_base64(document)
    return json_format.Parse(json.dumps(document), ExportLogsServiceRequest())


def decoded_logs(requests: list[ExportLogsServiceRequest]) -> list[DecodedLog]:
    """Every log record of the requests (from a file or a receiver), with its resource."""
    logs: list[DecodedLog] = []
    for request in requests:
        for resource_logs in request.resource_logs:
            resource = _attrs(resource_logs.resource.attributes)
            for scope_logs in resource_logs.scope_logs:
                logs.extend(
                    _decoded_log(record, scope_logs.scope.name, resource)
                    for record in scope_logs.log_records
                )
    return logs


def read_logs(path: Path) -> list[DecodedLog]:
    """Every log record of a logs.jsonl file; every line must decode."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return decoded_logs([decode_logs_line(line) for line in lines])


def _decoded_log(record: LogRecord, scope: str, resource: dict[str, Any]) -> DecodedLog:
    return DecodedLog(
        body=_value(record.body),
        trace_id=record.trace_id.hex(),
        span_id=record.span_id.hex(),
        severity_number=record.severity_number,
        severity_text=record.severity_text,
        scope=scope,
        attributes=_attrs(record.attributes),
        time_ns=record.time_unix_nano,
        resource=resource,
    )
