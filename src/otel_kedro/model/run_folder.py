"""The one reader of a run folder: its OTLP JSON Lines files back as OpenTelemetry SDK objects.

Every consumer of a finished run — the summary, the duration histograms, OTLP delivery and
replay, Heap — reads through here, so the files are decoded one way only. Spans come back as
SDK ``ReadableSpan`` objects and metrics as ``MetricsData``: exactly what the privacy runner and
the SDK's OTLP exporters take. A line that cannot be decoded (a torn last line after a crash,
garbage) is skipped with one warning naming the file, never fatal: every intact line is used.

Each intact line keeps its byte range in the file (:class:`Line`), which is how the delivery
ledger names what an endpoint acknowledged: the files only grow, so a range names the same
line for ever, and lines appended after a run ended are the ranges nobody acknowledged.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Generic, NamedTuple, TypeVar, cast

from otel_kedro.model.metric_series import HistogramPoint, MetricSeries, NumberPoint

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.metrics.export import (
        HistogramDataPoint,
        Metric,
        MetricsData,
        NumberDataPoint,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.util.types import AttributeValue

    from otel_kedro.model.metric_series import AttributeValue as PointValue
    from otel_kedro.model.metric_series import SeriesKind

TRACES_FILE: Final = "traces.jsonl"
METRICS_FILE: Final = "metrics.jsonl"
LOGS_FILE: Final = "logs.jsonl"
DELIVERY_FILE: Final = "delivery.json"
INFO_FILE: Final = "info.json"
REPORT_FILE: Final = "report.html"
# The OTLP JSON Lines files of a run folder, each one OTLP export request per line.
SIGNAL_FILES: Final = (TRACES_FILE, METRICS_FILE, LOGS_FILE)
# Written into a run folder when it is created: the folders otel-kedro may read and write.
RUN_MARKER: Final = ".otel-kedro-run"

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class Decoded(Generic[_T]):
    """What a file held: the decoded items, and how many lines could not be decoded."""

    items: list[_T]
    skipped_lines: int = 0


class Line(NamedTuple):
    """One intact line of a signal file: its bytes ``[start, end)`` (newline included) and its
    JSON document.
    """

    start: int
    end: int
    document: dict[str, Any]


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a real folder (not a symlink) that otel-kedro created for a run, as
    its marker file says.
    """
    try:
        return not path.is_symlink() and path.is_dir() and (path / RUN_MARKER).is_file()
    except OSError:
        return False


def read_lines(path: Path) -> Decoded[Line]:
    """The intact lines of an OTLP JSON Lines file with their byte ranges, in file order.

    A line that is not a JSON object (torn by a full disk or a crash, or garbage) is skipped and
    counted, with one warning naming the file; a missing file has no lines.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Decoded([])
    lines: list[Line] = []
    torn: list[tuple[int, int]] = []
    start = 0
    size = len(data)
    while start < size:
        newline = data.find(b"\n", start)
        end = size if newline < 0 else newline + 1
        raw = data[start:end]
        if raw.strip():
            try:
                document = json.loads(raw)
            except ValueError:
                document = None
            if isinstance(document, dict):
                lines.append(Line(start, end, document))
            else:
                torn.append((start, end))
        start = end
    if torn:
        from otel_kedro.diagnostics import warn_once

        where = ", ".join(f"bytes {a}-{b}" for a, b in torn[:3])
        where += ", ..." if len(torn) > 3 else ""
        warn_once(
            f"{path}: skipped {len(torn)} torn or unreadable line(s) ({where}); "
            f"the {len(lines)} intact line(s) are used."
        )
    return Decoded(lines, len(torn))


def spans_of_line(document: Mapping[str, Any]) -> list[ReadableSpan]:
    """The spans of one ``traces.jsonl`` line (an ``ExportTraceServiceRequest``)."""
    return list(_iter_spans(document))


def metrics_of_line(document: Mapping[str, Any]) -> MetricsData:
    """The metrics of one ``metrics.jsonl`` line (an ``ExportMetricsServiceRequest``)."""
    return _metrics_data(document)


def duration_s(span: ReadableSpan) -> float:
    """A span's wall time in seconds (0 for a span with no end)."""
    return max(0, (span.end_time or 0) - (span.start_time or 0)) / 1e9


class RunNotFoundError(LookupError):
    """A run named on the command line is not there, or the name fits several runs."""


def run_folders(base: Path) -> list[Path]:
    """The run folders directly under ``base``, newest first.

    Folder names start with the run id, a UTC timestamp, so they sort by start; the folder's
    modification time breaks ties and orders runs whose id is not a timestamp.
    """
    if not base.is_dir():
        return []
    found = [p for p in base.iterdir() if not p.is_symlink() and is_run_folder(p)]
    return sorted(found, key=lambda p: (p.name[:1].isdigit(), p.name, _mtime(p)), reverse=True)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def resolve_run(base: Path, ref: str | None) -> Path:
    """The run folder ``ref`` names: a folder path, a run id or a unique prefix of one (a
    folder name under ``base``), or, for None, the newest run under ``base``.
    """
    if ref is None:
        folders = run_folders(base)
        if not folders:
            raise RunNotFoundError(f"no run folders in {base}; run `kedro run` first.")
        return folders[0]
    path = Path(ref)
    if is_run_folder(path):
        return path.resolve()
    folders = run_folders(base)
    exact = [p for p in folders if p.name == ref]
    matches = exact or [p for p in folders if p.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(
            f"no run {ref!r}: not a run folder, and no run in {base} starts with it "
            "(see `otel-kedro ls`)."
        )
    names = ", ".join(p.name for p in matches[:5]) + (", ..." if len(matches) > 5 else "")
    raise RunNotFoundError(
        f"{ref!r} fits {len(matches)} runs in {base} ({names}); give more of the run id."
    )


def read_spans(folder: Path) -> Decoded[ReadableSpan]:
    """Every span of a run folder's ``traces.jsonl``, in file order."""
    return _read_lines(folder / TRACES_FILE, _spans_of_request)


def read_metric_series(folder: Path, names: Collection[str] | None = None) -> Decoded[MetricSeries]:
    """Every metric of a run folder's ``metrics.jsonl`` as plain series, line after line (only
    those called ``names``, when given): for readers that look at points, without loading the
    SDK's metrics package (≈ 13 ms) as :func:`read_metrics` must.
    """
    return _read_lines(folder / METRICS_FILE, lambda document: _series_of_line(document, names))


def read_metrics(folder: Path, names: Collection[str] | None = None) -> Decoded[MetricsData]:
    """Every request line of a run folder's ``metrics.jsonl``, as one ``MetricsData`` each
    (only the metrics called ``names``, when given: the others are not even decoded).
    """
    return _read_lines(folder / METRICS_FILE, lambda document: [_metrics_data(document, names)])


def logs_of_line(document: Mapping[str, Any]) -> list[ReadableLogRecord]:
    """The log records of one decoded ``logs.jsonl`` line."""
    return list(_iter_logs(document))


def read_logs(folder: Path) -> Decoded[list[ReadableLogRecord]]:
    """Every request line of a run folder's ``logs.jsonl``, as the log records it holds (one
    list per line, so a sender can keep the file's requests).
    """
    return _read_lines(folder / LOGS_FILE, lambda document: [list(_iter_logs(document))])


def _read_lines(path: Path, decode: Callable[[dict[str, Any]], list[_T]]) -> Decoded[_T]:
    lines = read_lines(path)
    items: list[_T] = []
    skipped = lines.skipped_lines
    for line in lines.items:
        try:
            items.extend(decode(line.document))
        except (ValueError, TypeError, KeyError, AttributeError):  # noqa: PERF203 - per line
            skipped += 1
    return Decoded(items, skipped)


# Decoding --------------------------------------------------------------------------------------


def _any_value(value: Mapping[str, Any]) -> Any:
    """An OTLP JSON ``AnyValue`` of any kind (a log body may be a map or bytes)."""
    if "kvlistValue" in value:
        return {
            str(item["key"]): _any_value(item.get("value", {}))
            for item in value["kvlistValue"].get("values", [])
        }
    if "bytesValue" in value:
        import base64

        return base64.b64decode(value["bytesValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    return _value(value)


def _value(value: Mapping[str, Any]) -> AttributeValue | None:
    """An OTLP JSON ``AnyValue`` as an attribute value (int64 is written as a string)."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        items = [_value(v) for v in value["arrayValue"].get("values", [])]
        return tuple(i for i in items if i is not None)
    return None


def attributes_of(key_values: Sequence[Mapping[str, Any]] | None) -> dict[str, AttributeValue]:
    """OTLP JSON ``KeyValue`` list as a plain mapping (maps and bytes are not attribute values)."""
    result: dict[str, AttributeValue] = {}
    for item in key_values or ():
        value = _value(item.get("value", {}))
        if value is not None:
            result[str(item["key"])] = value
    return result


def _resource(document: Mapping[str, Any], schema_url: str) -> Resource:
    from opentelemetry.sdk.resources import Resource

    return Resource(attributes_of(document.get("attributes")), schema_url)


def _scope(document: Mapping[str, Any], schema_url: str) -> InstrumentationScope:
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    return InstrumentationScope(
        str(document.get("name", "")),
        document.get("version") or None,
        schema_url or None,
        attributes_of(document.get("attributes")) or None,
    )


def _span_context(trace_id: str, span_id: str, flags: int, state: str = "") -> Any:
    from opentelemetry.trace import SpanContext, TraceFlags, TraceState

    return SpanContext(
        int(trace_id, 16),
        int(span_id, 16),
        is_remote=False,
        trace_flags=TraceFlags(flags & 0xFF),
        trace_state=TraceState.from_header([state]) if state else None,
    )


def _spans_of_request(document: Mapping[str, Any]) -> list[ReadableSpan]:
    return list(_iter_spans(document))


def _iter_spans(document: Mapping[str, Any]) -> Iterator[ReadableSpan]:
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode

    for resource_spans in document.get("resourceSpans", []):
        resource = _resource(
            resource_spans.get("resource", {}), resource_spans.get("schemaUrl", "")
        )
        for scope_spans in resource_spans.get("scopeSpans", []):
            scope = _scope(scope_spans.get("scope", {}), scope_spans.get("schemaUrl", ""))
            for span in scope_spans.get("spans", []):
                trace_id = span["traceId"]
                parent_id = span.get("parentSpanId")
                flags = int(span.get("flags", 1))
                status = span.get("status", {})
                yield ReadableSpan(
                    name=str(span.get("name", "")),
                    context=_span_context(
                        trace_id, span["spanId"], flags, span.get("traceState", "")
                    ),
                    parent=_span_context(trace_id, parent_id, flags) if parent_id else None,
                    resource=resource,
                    attributes=attributes_of(span.get("attributes")),
                    events=[
                        Event(
                            str(e.get("name", "")),
                            attributes_of(e.get("attributes")),
                            int(e.get("timeUnixNano", 0)),
                        )
                        for e in span.get("events", [])
                    ],
                    links=[
                        Link(
                            _span_context(
                                link["traceId"], link["spanId"], int(link.get("flags", 1))
                            ),
                            attributes_of(link.get("attributes")),
                        )
                        for link in span.get("links", [])
                    ],
                    # OTLP numbers kinds from 1 (INTERNAL); the SDK's enum from 0.
                    kind=SpanKind(max(0, int(span.get("kind", 1)) - 1)),
                    status=Status(StatusCode(int(status.get("code", 0))), status.get("message")),
                    start_time=int(span.get("startTimeUnixNano", 0)),
                    end_time=int(span.get("endTimeUnixNano", 0)),
                    instrumentation_scope=scope,
                )


def _point_attributes(point: Mapping[str, Any]) -> Mapping[str, PointValue]:
    # Our writers give points scalar attributes only; a foreign line's array passes through.
    return cast("Mapping[str, PointValue]", attributes_of(point.get("attributes")))


def _number_values(point: Mapping[str, Any]) -> NumberPoint:
    value: float = int(point["asInt"]) if "asInt" in point else float(point.get("asDouble", 0.0))
    return NumberPoint(
        _point_attributes(point),
        int(point.get("startTimeUnixNano", 0)),
        int(point.get("timeUnixNano", 0)),
        value,
    )


def _histogram_values(point: Mapping[str, Any]) -> HistogramPoint:
    return HistogramPoint(
        _point_attributes(point),
        int(point.get("startTimeUnixNano", 0)),
        int(point.get("timeUnixNano", 0)),
        int(point.get("count", 0)),
        float(point.get("sum", 0.0)),
        tuple(int(c) for c in point.get("bucketCounts", [])),
        tuple(float(b) for b in point.get("explicitBounds", [])),
        # Left out where they equal the sum (one value): None keeps them out on replay too.
        float(point["min"]) if "min" in point else None,
        float(point["max"]) if "max" in point else None,
    )


def _number_point(point: Mapping[str, Any]) -> NumberDataPoint:
    from opentelemetry.sdk.metrics.export import NumberDataPoint

    return NumberDataPoint(*_number_values(point))


def _histogram_point(point: Mapping[str, Any]) -> HistogramDataPoint:
    from opentelemetry.sdk.metrics.export import HistogramDataPoint

    values = _histogram_values(point)
    return HistogramDataPoint(
        *values[:5],
        list(values.bucket_counts),
        list(values.bounds),
        values.low,  # type: ignore[arg-type]
        values.high,  # type: ignore[arg-type]
    )


def _series(document: Mapping[str, Any]) -> MetricSeries | None:
    """One metric as plain values (no SDK objects), for readers that only look at points."""
    kind: SeriesKind
    points: tuple[NumberPoint, ...] | tuple[HistogramPoint, ...]
    if "gauge" in document:
        kind = "gauge"
        points = tuple(_number_values(p) for p in document["gauge"].get("dataPoints", []))
    elif "sum" in document:
        body = document["sum"]
        kind = "counter" if body.get("isMonotonic", False) else "updown"
        points = tuple(_number_values(p) for p in body.get("dataPoints", []))
    elif "histogram" in document:
        kind = "histogram"
        body = document["histogram"]
        points = tuple(_histogram_values(p) for p in body.get("dataPoints", []))
    else:  # kinds this project never writes (exponential histograms, summaries)
        return None
    name = str(document.get("name", ""))
    return MetricSeries(
        name, document.get("description", ""), document.get("unit", ""), kind, points
    )


def _series_of_line(
    document: Mapping[str, Any], names: Collection[str] | None
) -> list[MetricSeries]:
    return [
        series
        for resource_metrics in document["resourceMetrics"]
        for scope_metrics in resource_metrics.get("scopeMetrics", [])
        for metric in scope_metrics.get("metrics", [])
        if (names is None or metric.get("name") in names)
        and (series := _series(metric)) is not None
    ]


def _metric(document: Mapping[str, Any]) -> Metric | None:
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Gauge,
        Histogram,
        Metric,
        Sum,
    )

    data: Gauge | Sum | Histogram
    if "gauge" in document:
        data = Gauge([_number_point(p) for p in document["gauge"].get("dataPoints", [])])
    elif "sum" in document:
        body = document["sum"]
        data = Sum(
            [_number_point(p) for p in body.get("dataPoints", [])],
            AggregationTemporality(int(body.get("aggregationTemporality", 2))),
            bool(body.get("isMonotonic", False)),
        )
    elif "histogram" in document:
        body = document["histogram"]
        data = Histogram(
            [_histogram_point(p) for p in body.get("dataPoints", [])],
            AggregationTemporality(int(body.get("aggregationTemporality", 2))),
        )
    else:  # kinds this project never writes (exponential histograms, summaries)
        return None
    return Metric(
        str(document.get("name", "")),
        document.get("description") or None,
        document.get("unit") or None,
        data,
    )


def _metrics_data(document: Mapping[str, Any], names: Collection[str] | None = None) -> MetricsData:
    from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics

    resources = []
    for resource_metrics in document["resourceMetrics"]:
        schema_url = resource_metrics.get("schemaUrl", "")
        scopes = []
        for scope_metrics in resource_metrics.get("scopeMetrics", []):
            scope_url = scope_metrics.get("schemaUrl", "")
            metrics = [
                _metric(m)
                for m in scope_metrics.get("metrics", [])
                if names is None or m.get("name") in names
            ]
            scopes.append(
                ScopeMetrics(
                    _scope(scope_metrics.get("scope", {}), scope_url),
                    [m for m in metrics if m is not None],
                    scope_url,
                )
            )
        resource = _resource(resource_metrics.get("resource", {}), schema_url)
        resources.append(ResourceMetrics(resource, scopes, schema_url))
    return MetricsData(resources)


def _iter_logs(document: Mapping[str, Any]) -> Iterator[ReadableLogRecord]:
    from opentelemetry import trace
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.context import Context
    from opentelemetry.sdk._logs import ReadableLogRecord

    for resource_logs in document["resourceLogs"]:
        resource = _resource(resource_logs.get("resource", {}), resource_logs.get("schemaUrl", ""))
        for scope_logs in resource_logs.get("scopeLogs", []):
            scope = _scope(scope_logs.get("scope", {}), scope_logs.get("schemaUrl", ""))
            for record in scope_logs.get("logRecords", []):
                flags = int(record.get("flags", 0))
                span: trace.Span = trace.INVALID_SPAN  # never the reader's own current span
                if record.get("traceId") and record.get("spanId"):
                    span = trace.NonRecordingSpan(
                        _span_context(record["traceId"], record["spanId"], flags)
                    )
                context = trace.set_span_in_context(span, Context())
                severity = record.get("severityNumber")
                yield ReadableLogRecord(
                    LogRecord(
                        timestamp=int(record.get("timeUnixNano", 0)) or None,
                        observed_timestamp=int(record.get("observedTimeUnixNano", 0)) or None,
                        context=context,
                        severity_text=record.get("severityText") or None,
                        severity_number=SeverityNumber(int(severity)) if severity else None,
                        body=_any_value(record["body"]) if "body" in record else None,
                        attributes=attributes_of(record.get("attributes")),
                        event_name=record.get("eventName") or None,
                    ),
                    resource=resource,
                    instrumentation_scope=scope,
                )
