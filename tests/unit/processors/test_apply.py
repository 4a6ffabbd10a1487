"""Contract of the exporter wrapper: only attributes and free text change, nothing else."""

from __future__ import annotations

import copy
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from otel_kedro.processors.apply import ProcessedSpanExporter
from otel_kedro.processors.chain import Chain


class _Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Any) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource({"service.name": "svc", "host.name": "box"}, "https://schema/1"),
        span_limits=SpanLimits(
            max_span_attributes=3, max_events=2, max_links=1, max_event_attributes=1
        ),
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("scope", "1.2.3", schema_url="https://schema/scope")
    other = tracer.start_span("other")
    other.end()
    link_context = other.get_span_context()
    with tracer.start_as_current_span(
        "root",
        kind=trace.SpanKind.SERVER,
        links=[Link(link_context, {"l": "v"}), Link(link_context)],
    ) as root:
        for index in range(5):
            root.set_attribute(f"a{index}", f"value {index}")
        root.add_event("first", {"e1": "x", "e2": "y"}, timestamp=123)
        root.add_event("second")
        root.add_event("third")
        with tracer.start_as_current_span("child") as child:
            child.set_status(Status(StatusCode.ERROR, "boom password=hunter2"))
            child.record_exception(ValueError("bad"))
    return list(memory.get_finished_spans())


def _encoded(spans: list[ReadableSpan]) -> dict[str, Any]:
    return encode_spans(spans).to_dict()


def test_identity_chain_changes_nothing() -> None:
    spans = _spans()
    keep = _Keep()
    ProcessedSpanExporter(keep, Chain(steps=(), text_steps=())).export(spans)
    assert _encoded(keep.spans) == _encoded(spans)
    original = next(s for s in spans if s.name == "root")
    rebuilt = next(s for s in keep.spans if s.name == "root")
    assert (
        (rebuilt.dropped_attributes, rebuilt.dropped_events, rebuilt.dropped_links)
        == (
            original.dropped_attributes,
            original.dropped_events,
            original.dropped_links,
        )
        == (2, 1, 1)
    )
    assert [e.dropped_attributes for e in rebuilt.events] == [
        e.dropped_attributes for e in original.events
    ]


def _strip_text(node: Any) -> Any:
    """Every value except attribute values, names and status messages."""
    if isinstance(node, dict):
        return {
            k: _strip_text(v)
            for k, v in node.items()
            if k not in {"attributes", "name", "message"} or isinstance(v, (int, float))
        }
    if isinstance(node, list):
        return [_strip_text(v) for v in node]
    return node


def test_a_rewriting_chain_changes_only_attributes_and_text() -> None:
    spans = _spans()
    before = copy.deepcopy(_encoded(spans))
    upper = Chain(
        steps=(lambda attrs: {k: str(v).upper() for k, v in attrs.items()},),
        text_steps=(str.upper,),
    )
    keep = _Keep()
    ProcessedSpanExporter(keep, upper).export(spans)
    after = _encoded(keep.spans)
    assert _strip_text(after) == _strip_text(before)
    assert _encoded(spans) == before, "the original spans must not be touched"
    resource = after["resourceSpans"][0]["resource"]["attributes"]
    assert {a["key"]: a["value"]["stringValue"] for a in resource}["host.name"] == "BOX"
    child = next(s for s in keep.spans if s.name == "CHILD")
    assert child.status.description == "BOOM PASSWORD=HUNTER2"
    root = next(s for s in keep.spans if s.name == "ROOT")
    original_root = next(s for s in spans if s.name == "root")
    assert [dict(link.attributes or {}) for link in root.links] == [
        {k: str(v).upper() for k, v in (link.attributes or {}).items()}
        for link in original_root.links
    ]
    assert [dict(e.attributes or {}) for e in root.events] == [
        {k: str(v).upper() for k, v in (e.attributes or {}).items()} for e in original_root.events
    ]


def _upper_chain() -> Chain:
    def upper(attributes: Any) -> dict[str, Any]:
        return {k: v.upper() if isinstance(v, str) else v for k, v in attributes.items()}

    return Chain(steps=(upper,), text_steps=(str.upper,))


class TestMetricsAndProperties:
    def _data(self) -> Any:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        reader = InMemoryMetricReader()
        provider = MeterProvider(
            metric_readers=[reader], resource=Resource({"host.name": "box"}, "https://s/1")
        )
        meter = provider.get_meter("scope", "1.0")
        meter.create_counter("c").add(1, {"who": "alice"})
        meter.create_histogram("h").record(0.5, {"who": "bob"})
        meter.create_gauge("g").set(2, {"who": "carol"})
        return reader.get_metrics_data()

    def test_every_point_and_the_resource_go_through_the_chain(self) -> None:
        """Data points of every kind and each resource are processed; names, values, units,
        times and scopes are carried over unchanged.
        """
        from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics

        from otel_kedro.processors.apply import apply_to_metrics_data

        data = self._data()
        processed = apply_to_metrics_data(data, _upper_chain())
        before = encode_metrics(data).to_dict()
        after = encode_metrics(processed).to_dict()
        text_before = str(before).replace("alice", "ALICE").replace("bob", "BOB")
        text_before = text_before.replace("carol", "CAROL").replace("'box'", "'BOX'")
        assert str(after) == text_before
        assert "alice" in str(before), "the original is not mutated"

    def test_heap_properties_are_an_attribute_set(self) -> None:
        """Heap properties go through the same chain as span attributes."""
        from otel_kedro.processors.apply import apply_to_properties

        assert apply_to_properties({"command": "kedro run", "n": 1}, _upper_chain()) == {
            "command": "KEDRO RUN",
            "n": 1,
        }
