"""Exporter wrappers that apply a destination's chain to everything an exporter receives.

SDK spans are immutable once ended, so the wrapper rebuilds each one with public SDK
constructors: processed attributes on the span, its events and links, a processed status
description, name and resource; every other field (ids, parent, times, kind, status code,
scope, dropped counts) is carried over unchanged (pinned by a contract test).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AttributeValue

from otel_kedro.processors.chain import Chain


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
    """Resources are shared by every span of a provider: process each one once."""

    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        self._cache: dict[int, tuple[Resource, Resource]] = {}

    def __call__(self, resource: Resource) -> Resource:
        cached = self._cache.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        original = dict(resource.attributes)
        attributes = self._chain.attributes(original)
        processed = (
            resource
            if _unchanged(attributes, original)
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
        and all(map(_unchanged, links, link_attributes))
    ):
        return span
    new_events = BoundedList.from_seq(
        None,
        [
            Event(event.name, _bounded(processed, event.dropped_attributes), event.timestamp)
            for processed, event in zip(events, old_events, strict=True)
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


class ProcessedSpanExporter(SpanExporter):
    """Applies a chain to each span, then hands the batch to the wrapped exporter."""

    def __init__(self, exporter: SpanExporter, chain: Chain) -> None:
        self._exporter = exporter
        self._chain = chain
        self._resources = _ResourceCache(chain)

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
