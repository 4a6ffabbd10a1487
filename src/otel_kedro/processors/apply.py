"""The one privacy runner: a destination's chain applied to every shape telemetry takes.

The chain itself works on one shape, attributes in and attributes out (plus free text). Each
function here is a small adapter from one signal to that shape and back: spans with their
events and links, resources, the SDK's metric points, log records (body, attributes), Heap
properties (plain metric series: :mod:`.series`).
SDK objects are immutable, so adapters rebuild them with public SDK constructors; every field
the chain does not process (ids, parent, times, kind, status code, scope, dropped counts) is
carried over unchanged (pinned by a contract test). Every exporter of ours receives what comes
out of here.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AttributeValue

from otel_kedro.model.log_record import CapturedLog
from otel_kedro.processors.chain import Chain
from otel_kedro.processors.series import PointAttributes

if TYPE_CHECKING:
    # The SDK's metric and log types are only met on the remote path (the files read back),
    # where the SDK is loaded anyway; a run writes plain series and captured records.
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.metrics.export import (
        HistogramDataPoint,
        Metric,
        MetricsData,
        NumberDataPoint,
    )


def _unchanged(processed: dict[str, AttributeValue], original: dict[str, AttributeValue]) -> bool:
    """True when processing kept every value (a list equals the tuple the SDK stored)."""
    if processed is original or processed == original:
        return True
    if len(processed) != len(original):
        return False
    for key, value in processed.items():
        before = original.get(key)
        after = tuple(value) if isinstance(value, list) else value
        if after != (tuple(before) if isinstance(before, list) else before):
            return False
    return True


def _bounded(processed: dict[str, AttributeValue], dropped: int) -> BoundedAttributes:
    bounded = BoundedAttributes(maxlen=None, attributes=processed)
    bounded.dropped = dropped
    return bounded


class _ResourceCache:
    """Resources are shared by every span of a provider: process each one once.

    ``facts`` are resource attributes that override the provider's (a forked worker's own
    ``process.pid``, where the provider was built by its parent).
    """

    def __init__(self, chain: Chain, facts: Mapping[str, AttributeValue] | None = None) -> None:
        self._chain = chain
        self._facts = dict(facts or {})
        self._cache: dict[int, tuple[Resource, Resource]] = {}

    def __call__(self, resource: Resource) -> Resource:
        cached = self._cache.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        before = dict(resource.attributes)
        original = {**before, **self._facts} if self._facts else before
        attributes = self._chain.attributes(original)
        processed = (
            resource
            if _unchanged(attributes, before)
            else Resource(attributes, resource.schema_url)
        )
        self._cache[id(resource)] = (resource, processed)
        return processed


def process_span(span: ReadableSpan, chain: Chain, resource: Resource) -> ReadableSpan:
    """The same span with the chain applied to every attribute set and free text in it.

    When the chain changes nothing (the common case for the local files), the original span is
    returned as it is: rebuilding costs more than checking.
    """
    # SDK attribute maps take a lock on every read: copy each to a plain dict once.
    raw = span.attributes
    original = dict(raw) if raw else {}
    old_events, old_links = span.events, span.links  # each access copies: read once
    event_attributes = [dict(e.attributes) if e.attributes else {} for e in old_events]
    link_attributes = [dict(k.attributes) if k.attributes else {} for k in old_links]
    attributes = chain.attributes(original)
    events = [chain.attributes(a) for a in event_attributes]
    event_names = [chain.text(e.name) for e in old_events]
    links = [chain.attributes(a) for a in link_attributes]
    name = chain.text(span.name)
    status = span.status
    description = chain.text(status.description) if status.description else status.description
    if (
        resource is span.resource
        and name == span.name
        and description == status.description
        and _unchanged(attributes, original)
        and all(map(_unchanged, events, event_attributes))
        and all(new == e.name for new, e in zip(event_names, old_events, strict=True))
        and all(map(_unchanged, links, link_attributes))
    ):
        return span
    new_events = BoundedList.from_seq(
        None,
        [
            Event(name, _bounded(processed, event.dropped_attributes), event.timestamp)
            for name, processed, event in zip(event_names, events, old_events, strict=True)
        ],
    )
    new_events.dropped = span.dropped_events
    new_links = BoundedList.from_seq(
        None,
        [
            Link(link.context, _bounded(processed, link.dropped_attributes))
            for processed, link in zip(links, old_links, strict=True)
        ],
    )
    new_links.dropped = span.dropped_links
    if description != status.description:
        status = Status(status.status_code, description)
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=resource,
        attributes=_bounded(attributes, span.dropped_attributes),
        events=new_events,
        links=new_links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def apply_to_spans(spans: Sequence[ReadableSpan], chain: Chain) -> list[ReadableSpan]:
    """Every span through the chain (each distinct resource processed once)."""
    resources = _ResourceCache(chain)
    return [process_span(span, chain, resources(span.resource)) for span in spans]


def apply_to_resource(resource: Resource, chain: Chain) -> Resource:
    """The resource with the chain applied to its attributes."""
    return _ResourceCache(chain)(resource)


def apply_to_properties(
    properties: Mapping[str, AttributeValue], chain: Chain
) -> dict[str, AttributeValue]:
    """Event properties (Heap) are an attribute set: the chain applies to them as they are."""
    return chain.attributes(properties)


_Point = TypeVar("_Point", "NumberDataPoint", "HistogramDataPoint")


class _MetricAttributes(PointAttributes):
    """:class:`PointAttributes` for the SDK's metric objects (read back from a run folder)."""

    def point(self, point: _Point) -> _Point:
        return dataclasses.replace(point, attributes=self(point.attributes))

    def metric(self, metric: Metric) -> Metric:
        from opentelemetry.sdk.metrics.export import ExponentialHistogram, Gauge, Histogram, Sum

        data = metric.data
        if isinstance(data, Gauge):
            data = Gauge([self.point(p) for p in data.data_points])
        elif isinstance(data, Sum):
            data = Sum(
                [self.point(p) for p in data.data_points],
                data.aggregation_temporality,
                data.is_monotonic,
            )
        elif isinstance(data, Histogram):
            data = Histogram(
                [self.point(p) for p in data.data_points], data.aggregation_temporality
            )
        elif isinstance(data, ExponentialHistogram):
            data = ExponentialHistogram(
                [dataclasses.replace(p, attributes=self(p.attributes)) for p in data.data_points],
                data.aggregation_temporality,
            )
        return dataclasses.replace(metric, data=data)


def apply_to_metrics_data(data: MetricsData, chain: Chain) -> MetricsData:
    """A whole metrics request through the chain: each resource and every data point."""
    from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics

    points = _MetricAttributes(chain)
    resources = _ResourceCache(chain)
    return MetricsData(
        [
            ResourceMetrics(
                resources(rm.resource),
                [
                    ScopeMetrics(sm.scope, [points.metric(m) for m in sm.metrics], sm.schema_url)
                    for sm in rm.scope_metrics
                ],
                rm.schema_url,
            )
            for rm in data.resource_metrics
        ]
    )


# The key a structured (non-text) log body is processed under, as one attribute value.
_BODY_KEY = "log.record.body"


def _process_body(body: object, chain: Chain) -> object:
    """A log body through the chain: text as free text (like a span name), anything else
    (a mapping, a sequence) as one attribute value, so secrets in it are scrubbed too.
    """
    if isinstance(body, str):
        return chain.text(body)
    if body is None or isinstance(body, (bool, int, float, bytes)):
        return body
    processed = chain.attributes({_BODY_KEY: body})  # type: ignore[dict-item]
    return processed.get(_BODY_KEY)


def process_log(record: ReadableLogRecord, chain: Chain, resource: Resource) -> ReadableLogRecord:
    """The same log record with the chain applied to its body, attributes (exception message
    and stack trace included) and resource; ids, times, severity and scope are kept.
    """
    from opentelemetry.sdk._logs import ReadableLogRecord  # remote delivery only: lazy

    original_record = record.log_record
    raw = original_record.attributes
    original = dict(raw) if raw else {}
    attributes = chain.attributes(original)
    body = _process_body(original_record.body, chain)
    if (
        resource is record.resource
        and body == original_record.body
        and _unchanged(attributes, original)
    ):
        return record
    log_record = copy.copy(original_record)  # a plain object: ids and times carried over
    log_record.body = body  # type: ignore[assignment]
    bounded = BoundedAttributes(
        maxlen=None, attributes=attributes, immutable=False, extended_attributes=True
    )
    bounded.dropped = record.dropped_attributes
    log_record.attributes = bounded
    return ReadableLogRecord(
        log_record=log_record,
        resource=resource,
        instrumentation_scope=record.instrumentation_scope,
        limits=record.limits,
    )


def process_captured_log(record: CapturedLog, chain: Chain) -> CapturedLog:
    """A captured record with the chain applied to its body and attributes (the record
    itself when nothing changed); the run's resource is processed once, apart.
    """
    attributes = chain.attributes(record.attributes)
    body = _process_body(record.body, chain)
    if body == record.body and _unchanged(attributes, record.attributes):
        return record
    return record._replace(body=body, attributes=attributes)


def apply_to_logs(records: Sequence[ReadableLogRecord], chain: Chain) -> list[ReadableLogRecord]:
    """Every log record through the chain (each distinct resource processed once)."""
    resources = _ResourceCache(chain)
    return [process_log(record, chain, resources(record.resource)) for record in records]


class ProcessedSpanExporter(SpanExporter):
    """Applies a chain to each span, then hands the batch to the wrapped exporter; ``facts``
    override resource attributes of every span (see :class:`_ResourceCache`).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        chain: Chain,
        facts: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        self._exporter = exporter
        self._chain = chain
        self._resources = _ResourceCache(chain, facts)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Process, then export."""
        processed = [process_span(s, self._chain, self._resources(s.resource)) for s in spans]
        return self._exporter.export(processed)

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the wrapped exporter."""
        return self._exporter.force_flush(timeout_millis)
