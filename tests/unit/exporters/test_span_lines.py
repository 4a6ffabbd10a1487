"""The fast span line encoder writes what the reference OTLP JSON encoder writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from otel_kedro.exporters.span_lines import SpanLineEncoder, SpanLineExporter
from tests.support.attribute_values import ARRAYS, SCALARS, TEXT

_value = st.one_of(SCALARS, ARRAYS, st.lists(st.booleans(), max_size=3))
_attributes = st.dictionaries(TEXT, _value, max_size=5)
_ids = st.integers(min_value=1, max_value=2**64 - 1)


@st.composite
def spans(draw: st.DrawFn) -> ReadableSpan:
    trace_id = draw(st.integers(min_value=1, max_value=2**128 - 1))
    flags = TraceFlags(TraceFlags.SAMPLED)
    state = TraceState([("k", "v")]) if draw(st.booleans()) and draw(st.booleans()) else None
    parent = (
        SpanContext(trace_id, draw(_ids), draw(st.booleans()), flags)
        if draw(st.booleans())
        else None
    )
    links = (
        [Link(SpanContext(trace_id, draw(_ids), False, flags), draw(_attributes))]
        if draw(st.integers(0, 4)) == 0
        else []
    )
    start = draw(st.integers(min_value=0, max_value=2**63 - 1))
    code = draw(st.sampled_from(list(StatusCode)))
    description = draw(TEXT) if code is StatusCode.ERROR else None
    scope = draw(
        st.sampled_from(
            [
                None,
                InstrumentationScope("otel_kedro", "0.1"),
                InstrumentationScope("user", None, "https://schema", {"a": 1}),
            ]
        )
    )
    return ReadableSpan(
        name=draw(TEXT),
        context=SpanContext(trace_id, draw(_ids), False, flags, state),
        parent=parent,
        resource=draw(
            st.sampled_from(
                [Resource({"service.name": "kedro", "process.pid": 7}), Resource({}, "https://r")]
            )
        ),
        attributes=draw(_attributes),
        events=[
            Event(draw(TEXT), draw(_attributes), draw(st.integers(0, 2**63 - 1)))
            for _ in range(draw(st.integers(0, 2)))
        ],
        links=links,
        kind=draw(st.sampled_from(list(SpanKind))),
        status=Status(code, description),
        start_time=start,
        end_time=draw(st.integers(min_value=start, max_value=2**63 - 1)),
        instrumentation_scope=scope,
    )


class TestSpanLineEncoder:
    @settings(max_examples=300, deadline=None)
    @given(spans())
    def test_a_line_is_the_reference_encoders_request(self, span: ReadableSpan) -> None:
        """Every span, fast path or fallback, encodes to the reference encoder's document."""
        line = SpanLineEncoder().line(span)
        assert line.endswith("\n")
        assert "\n" not in line[:-1]
        assert json.loads(line) == json.loads(json.dumps(encode_spans([span]).to_dict()))

    def test_a_run_s_spans_take_the_fast_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Spans shaped as a run records them (string, int, float, bool attributes and arrays,
        an exception event, an error status, a remote parent) never need the reference encoder.
        """
        import opentelemetry.exporter.otlp.json.common.trace_encoder as reference

        parent = SpanContext(7, 8, True, TraceFlags(TraceFlags.SAMPLED))
        context = SpanContext(7, 9, False, TraceFlags(TraceFlags.SAMPLED))
        event = Event("exception", {"exception.type": "ValueError", "exception.message": "é"}, 5)
        span = ReadableSpan(
            "north.filter_region", context, parent, Resource({"service.name": "demo"}),
            {"kedro.node.tags": ["a", "b"], "kedro.node.cpu_time": 0.25, "n": 3, "ok": False,
             "empty": []},
            (event,), status=Status(StatusCode.ERROR, "failed"),
            instrumentation_scope=InstrumentationScope("otel_kedro", "0.1.0"), start_time=1,
            end_time=2,
        )  # fmt: skip
        expected = json.loads(json.dumps(encode_spans([span]).to_dict()))
        monkeypatch.delattr(reference, "encode_spans")
        assert json.loads(SpanLineEncoder().line(span)) == expected

    def test_the_frame_is_reused_and_still_correct_for_another_resource(self) -> None:
        """The cached resource/scope frame never leaks into a span of another resource."""
        encoder = SpanLineEncoder()
        context = SpanContext(1, 2, False, TraceFlags(TraceFlags.SAMPLED))
        for resource in (Resource({"a": "1"}), Resource({"a": "2"}), Resource({"a": "1"})):
            span = ReadableSpan("s", context, resource=resource, start_time=1, end_time=2)
            assert json.loads(encoder.line(span)) == encode_spans([span]).to_dict()


def test_the_exporter_appends_one_whole_line_per_span(tmp_path: Path) -> None:
    """A batch is written as one line per span, each a request of its own."""
    exporter = SpanLineExporter(tmp_path / "traces.jsonl")
    context = SpanContext(1, 2, False, TraceFlags(TraceFlags.SAMPLED))
    batch = [ReadableSpan(f"s{i}", context, start_time=1, end_time=2) for i in range(3)]
    exporter.export(batch)
    exporter.shutdown()
    lines = (tmp_path / "traces.jsonl").read_text().splitlines()
    names = [
        json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] for line in lines
    ]
    assert names == ["s0", "s1", "s2"]
