"""The one run-folder reader: OTLP JSON Lines back into SDK objects, exactly and tolerantly."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from otel_kedro.model.run_folder import (
    METRICS_FILE,
    TRACES_FILE,
    duration_s,
    read_metrics,
    read_spans,
)

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_VALUES = st.one_of(
    _TEXT,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(_TEXT, max_size=3).map(tuple),
    st.lists(st.integers(min_value=0, max_value=9), max_size=3).map(tuple),
)
_ATTRIBUTES = st.dictionaries(st.text("abcdefgh.", min_size=1, max_size=8), _VALUES, max_size=5)


def _spans(attributes: dict[str, object], name: str, kind: SpanKind) -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "demo", "n": 3}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("otel_kedro", "0.1.0")
    with tracer.start_as_current_span("parent") as parent:
        child = tracer.start_span(
            name,
            kind=kind,
            attributes=attributes,  # type: ignore[arg-type]
            links=[Link(parent.get_span_context(), {"link.key": "v"})],
        )
        child.add_event("an event", {"event.key": 1})
        child.set_status(Status(StatusCode.ERROR, "it failed"))
        child.end()
    return list(exporter.get_finished_spans())


def _write_lines(path: Path, documents: list[dict]) -> None:
    path.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")


class TestReadSpans:
    @settings(max_examples=60, deadline=None)
    @given(attributes=_ATTRIBUTES, name=_TEXT, kind=st.sampled_from(list(SpanKind)))
    def test_what_the_encoder_wrote_reads_back_to_the_same_encoding(
        self, tmp_path_factory, attributes, name, kind
    ) -> None:
        """Decoding then re-encoding gives the very same OTLP JSON (ids, kinds, times, events,
        links, status, resource and scope included).
        """
        folder = tmp_path_factory.mktemp("run")
        written = encode_spans(_spans(attributes, name, kind)).to_dict()
        _write_lines(folder / TRACES_FILE, [written])
        decoded = read_spans(folder)
        assert decoded.skipped_lines == 0
        assert len(decoded.items) == 2
        assert encode_spans(decoded.items).to_dict() == written

    def test_a_torn_or_garbage_line_is_skipped_and_counted(self, tmp_path: Path) -> None:
        """One bad line costs that line only: the spans around it are still read."""
        spans = _spans({"k": "v"}, "child", SpanKind.INTERNAL)
        line = json.dumps(encode_spans(spans).to_dict())
        (tmp_path / TRACES_FILE).write_text(
            f'{line}\nnot json at all\n{{"resourceSpans": [{{"scopeSpans": 3}}]}}\n'
            f"{line}\n{line[: len(line) // 2]}",
            encoding="utf-8",
        )
        decoded = read_spans(tmp_path)
        assert len(decoded.items) == 4
        assert decoded.skipped_lines == 3

    def test_a_missing_file_is_an_empty_run(self, tmp_path: Path) -> None:
        """A run folder without traces has no spans and no skipped lines."""
        decoded = read_spans(tmp_path)
        assert (decoded.items, decoded.skipped_lines) == ([], 0)

    def test_duration_is_end_minus_start_in_seconds(self) -> None:
        """duration_s matches the SDK's nanosecond times."""
        span = _spans({}, "child", SpanKind.INTERNAL)[0]
        assert duration_s(span) == (span.end_time - span.start_time) / 1e9
        assert duration_s(span) >= 0


class TestReadMetrics:
    def test_gauges_sums_and_histograms_read_back_to_the_same_encoding(
        self, tmp_path: Path
    ) -> None:
        """Every kind this project writes survives a write/read/encode round trip."""
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader], resource=Resource({"a": "b"}))
        meter = provider.get_meter("otel_kedro", "0.1.0")
        meter.create_counter("c", unit="s").add(2.5, {"cpu.mode": "user"})
        meter.create_up_down_counter("u").add(-3, {"x": 1})
        meter.create_histogram("h", unit="s").record(0.2, {"kedro.dataset.name": "d"})
        meter.create_gauge("g").set(7.0)
        data = reader.get_metrics_data()
        assert data is not None
        written = encode_metrics(data).to_dict()
        _write_lines(tmp_path / METRICS_FILE, [written, written])
        decoded = read_metrics(tmp_path)
        assert decoded.skipped_lines == 0
        assert [encode_metrics(d).to_dict() for d in decoded.items] == [written, written]
