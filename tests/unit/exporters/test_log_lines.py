"""The fast log line encoder writes what the reference OTLP JSON encoder writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TraceFlags

from otel_kedro.exporters.log_lines import logs_request_line
from tests.support.attribute_values import ARRAYS, SCALARS, TEXT

_value = st.one_of(SCALARS, ARRAYS, st.dictionaries(TEXT, TEXT, max_size=2), st.binary(max_size=4))
# The first two are equal but distinct objects: the reference encoder groups them as one.
_resources = [
    Resource({"service.name": "kedro", "process.pid": 7}),
    Resource({"service.name": "kedro", "process.pid": 7}),
    Resource({}, "https://r"),
]
_scopes = [
    None,
    InstrumentationScope("otel_kedro", "0.1"),
    InstrumentationScope("user", None, "https://schema", {"a": 1}),
]


@st.composite
def records(draw: st.DrawFn) -> ReadableLogRecord:
    in_span = draw(st.booleans())
    record = LogRecord(
        timestamp=draw(st.none() | st.integers(min_value=0, max_value=2**63 - 1)),
        observed_timestamp=draw(st.integers(min_value=0, max_value=2**63 - 1)),
        trace_id=draw(st.integers(min_value=1, max_value=2**128 - 1)) if in_span else 0,
        span_id=draw(st.integers(min_value=1, max_value=2**64 - 1)) if in_span else 0,
        trace_flags=TraceFlags(draw(st.sampled_from([0, 1]))),
        severity_text=draw(st.sampled_from([None, "", "INFO", "WARN"])),
        severity_number=draw(st.sampled_from([None, *SeverityNumber])),
        body=draw(st.one_of(st.none(), TEXT, _value)),
        attributes=draw(st.dictionaries(TEXT, _value, max_size=4)),
        event_name=draw(st.sampled_from([None, "", "kedro.event"])),
    )
    return ReadableLogRecord(
        record,
        resource=draw(st.sampled_from(_resources)),
        instrumentation_scope=draw(st.sampled_from(_scopes)),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(records(), min_size=1, max_size=5))
def test_a_line_is_the_reference_encoders_request(batch: list[ReadableLogRecord]) -> None:
    """Every batch, fast path or fallback, encodes to the reference encoder's document."""
    line = logs_request_line(batch)
    assert line.endswith("\n")
    assert "\n" not in line[:-1]
    assert json.loads(line) == json.loads(json.dumps(encode_logs(batch).to_dict()))


def test_a_run_s_records_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records as a run's logging writes them never need the reference encoder."""
    import opentelemetry.exporter.otlp.json.common._log_encoder as reference

    expected = json.loads(json.dumps(encode_logs(_run_batch()).to_dict()))
    monkeypatch.delattr(reference, "encode_logs")
    assert json.loads(logs_request_line(_run_batch())) == expected


def _run_batch() -> list[ReadableLogRecord]:
    record = LogRecord(
        timestamp=1_700_000_000_000_000_000,
        observed_timestamp=1_700_000_000_000_000_001,
        trace_id=0x5B8EFFF798038103D269B633813FC60C,
        span_id=0xEEE19B7EC3C1B174,
        trace_flags=TraceFlags(1),
        severity_text="INFO",
        severity_number=SeverityNumber.INFO,
        body="Running node: n0: step([d0]) -> [d1]",
        attributes={"code.file.path": "task.py", "code.line.number": 12, "ratio": 0.5},
    )
    return [ReadableLogRecord(record, resource=_resources[0], instrumentation_scope=_scopes[1])]
