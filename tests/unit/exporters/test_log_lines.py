"""The log line encoder writes what the reference OTLP JSON encoder writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs
from opentelemetry.sdk.resources import Resource

from otel_kedro.exporters.log_lines import as_sdk_record, logs_request_line
from otel_kedro.model.log_record import CapturedLog
from tests.support.attribute_values import ARRAYS, SCALARS, TEXT

_value = st.one_of(SCALARS, ARRAYS, st.dictionaries(TEXT, TEXT, max_size=2), st.binary(max_size=4))
_resources = [Resource({"service.name": "kedro", "process.pid": 7}), Resource({}, "https://r")]


@st.composite
def records(draw: st.DrawFn) -> CapturedLog:
    in_span = draw(st.booleans())
    return CapturedLog(
        timestamp=draw(st.integers(min_value=0, max_value=2**63 - 1)),
        observed_timestamp=draw(st.integers(min_value=0, max_value=2**63 - 1)),
        severity_number=draw(st.integers(min_value=0, max_value=24)),
        severity_text=draw(st.sampled_from(["", "INFO", "WARN", "Level 5"])),
        body=draw(st.one_of(st.none(), TEXT, _value)),
        # Keys are never empty: the capture's translation drops those, as the SDK does.
        attributes=draw(st.dictionaries(st.text(min_size=1, max_size=8), _value, max_size=4)),
        dropped_attributes=draw(st.sampled_from([0, 0, 3])),
        trace_id=draw(st.integers(min_value=1, max_value=2**128 - 1)) if in_span else 0,
        span_id=draw(st.integers(min_value=1, max_value=2**64 - 1)) if in_span else 0,
        trace_flags=draw(st.sampled_from([0, 1])) if in_span else 0,
        scope=draw(st.sampled_from(["", "kedro.io.data_catalog", "user"])),
    )


def _reference(batch: list[CapturedLog], resource: Resource) -> object:
    sdk_batch = [as_sdk_record(record, resource) for record in batch]
    return json.loads(json.dumps(encode_logs(sdk_batch).to_dict()))


@settings(max_examples=300, deadline=None)
@given(st.lists(records(), min_size=1, max_size=5), st.sampled_from(_resources))
def test_a_line_is_the_reference_encoders_request(
    batch: list[CapturedLog], resource: Resource
) -> None:
    """Every batch, fast path or fallback, encodes to the reference encoder's document."""
    line = logs_request_line(batch, resource)
    assert line.endswith("\n")
    assert "\n" not in line[:-1]
    assert json.loads(line) == _reference(batch, resource)


def test_a_run_s_records_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records as a run's logging writes them never need the reference encoder."""
    import opentelemetry.exporter.otlp.json.common._log_encoder as reference

    batch = [_run_record("kedro.runner"), _run_record("user"), _run_record("kedro.runner")]
    expected = _reference(batch, _resources[0])
    monkeypatch.delattr(reference, "encode_logs")
    document = json.loads(logs_request_line(batch, _resources[0]))
    assert document == expected
    scopes = document["resourceLogs"][0]["scopeLogs"]
    assert [(s["scope"]["name"], len(s["logRecords"])) for s in scopes] == [
        ("kedro.runner", 2),
        ("user", 1),
    ]


def _run_record(scope: str) -> CapturedLog:
    return CapturedLog(
        timestamp=1_700_000_000_000_000_000,
        observed_timestamp=1_700_000_000_000_000_001,
        severity_number=9,
        severity_text="INFO",
        body="Running node: n0: step([d0]) -> [d1]",
        attributes={"code.file.path": "task.py", "code.line.number": 12, "ratio": 0.5},
        dropped_attributes=0,
        trace_id=0x5B8EFFF798038103D269B633813FC60C,
        span_id=0xEEE19B7EC3C1B174,
        trace_flags=1,
        scope=scope,
    )
