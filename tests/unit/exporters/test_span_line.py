"""exporters.span_line: one span encoded without the SDK equals the SDK encoder's line."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from otel_kedro.exporters.span_line import STATUS_ERROR, FinishedSpan, append_span, span_request
from otel_kedro.model.run_folder import read_spans
from tests.support.otlp_json import read_spans as decode_spans

SCHEMA = "https://opentelemetry.io/schemas/1.44.0"
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
values = st.one_of(
    texts,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(texts, max_size=3).map(tuple),
    st.lists(st.integers(min_value=0, max_value=2**40), max_size=3).map(tuple),
)
attribute_sets = st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=5)


def sdk_line(span: FinishedSpan, resource: dict[str, object]) -> dict[str, object]:
    """The same span through the SDK's own encoder."""
    parent = (
        SpanContext(int(span.trace_id, 16), int(span.parent_span_id, 16), span.remote_parent)
        if span.parent_span_id
        else None
    )
    readable = ReadableSpan(
        name=span.name,
        context=SpanContext(
            int(span.trace_id, 16),
            int(span.span_id, 16),
            False,
            TraceFlags(1),
            TraceState.from_header([span.trace_state]) if span.trace_state else None,
        ),
        parent=parent,
        resource=Resource(resource),  # type: ignore[arg-type]
        attributes=dict(span.attributes),
        kind=SpanKind.INTERNAL,
        status=Status(StatusCode(span.status_code), span.status_message or None),
        start_time=span.start_ns,
        end_time=span.end_ns,
        instrumentation_scope=InstrumentationScope("otel_kedro", "1.2", SCHEMA),
    )
    return encode_spans([readable]).to_dict()  # type: ignore[no-any-return]


@settings(max_examples=60, deadline=None)
@given(
    attributes=attribute_sets,
    resource=attribute_sets,
    name=texts,
    failed=st.booleans(),
    parent=st.sampled_from(["", "00f067aa0ba902b7"]),
    remote=st.booleans(),
)
def test_equals_the_sdk_encoding(  # noqa: PLR0917 - Hypothesis draws each
    attributes: dict[str, object],
    resource: dict[str, object],
    name: str,
    failed: bool,
    parent: str,
    remote: bool,
) -> None:
    """For any attributes, resource, status and parent, the line is the SDK encoder's."""
    span = FinishedSpan(
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="a3ce929d0e0e4736",
        parent_span_id=parent,
        name=name,
        start_ns=1_800_000_000_000_000_000,
        end_ns=1_800_000_001_500_000_000,
        attributes=attributes,  # type: ignore[arg-type]
        status_code=STATUS_ERROR if failed else 0,
        status_message="exit code 3" if failed else "",
        remote_parent=remote and bool(parent),
        trace_state="vendor=value" if parent else "",
    )
    ours = span_request(
        span,
        resource,
        scope_name="otel_kedro",
        scope_version="1.2",
        schema_url=SCHEMA,  # type: ignore[arg-type]
    )
    assert json.loads(json.dumps(ours)) == json.loads(json.dumps(sdk_line(span, resource)))


def test_read_back_by_the_run_folder_reader_and_protobuf(tmp_path: Path) -> None:
    """The appended line is one OTLP request that opentelemetry-proto and our reader decode."""
    span = FinishedSpan(
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="a3ce929d0e0e4736",
        parent_span_id="00f067aa0ba902b7",
        name="sleep",
        start_ns=10,
        end_ns=20,
        attributes={"process.command_args": ("sleep", "*****"), "process.exit.code": 0},
        remote_parent=True,
    )
    request = span_request(
        span, {"service.name": "svc"}, scope_name="s", scope_version="1", schema_url=SCHEMA
    )
    append_span(tmp_path / "traces.jsonl", request)
    append_span(tmp_path / "traces.jsonl", request)
    (decoded, _) = decode_spans(tmp_path / "traces.jsonl")
    assert decoded.parent_id == "00f067aa0ba902b7"
    assert decoded.attributes["process.command_args"] == ["sleep", "*****"]
    assert decoded.resource["service.name"] == "svc"
    spans = read_spans(tmp_path).items
    assert [s.name for s in spans] == ["sleep", "sleep"]
    assert spans[0].parent is not None
    assert spans[0].parent.span_id == int("00f067aa0ba902b7", 16)
