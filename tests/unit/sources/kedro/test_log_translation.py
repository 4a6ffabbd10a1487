"""The capture translates a ``logging`` record exactly as the OpenTelemetry SDK's
``LoggingHandler`` does (held to it on generated records, limits included), cheaper."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from otel_kedro.exporters.log_lines import as_sdk_record
from otel_kedro.sources.kedro.log_translation import LogTranslator, severity_number
from tests.support.attribute_values import ARRAYS, SCALARS, TEXT
from tests.support.log_records import sdk_handler

_RESOURCE = Resource({"service.name": "kedro"})
_tracer = TracerProvider().get_tracer("t")


class QuotaError(Exception):
    """Not a builtin: ``exception.type`` is its module-qualified name."""


class _Opaque:
    def __str__(self) -> str:
        return "opaque object"


_ERRORS = st.sampled_from([ValueError("bad value"), KeyError("k"), RuntimeError(), QuotaError(3)])
_EXTRA = st.one_of(
    SCALARS, ARRAYS, st.none(), st.binary(max_size=3), st.dictionaries(TEXT, TEXT, max_size=2),
    st.just(_Opaque()),
)  # fmt: skip
_MESSAGES = st.one_of(
    st.tuples(st.just("%s and %d"), st.tuples(TEXT, st.integers(-5, 5))),
    st.tuples(TEXT.filter(lambda t: "%" not in t), st.just(())),
    st.tuples(
        st.one_of(st.integers(), st.lists(TEXT, max_size=2), st.just(_Opaque())), st.just(())
    ),
)


@st.composite
def log_records(draw: st.DrawFn) -> logging.LogRecord:
    msg, args = draw(_MESSAGES)
    exc_info = None
    if draw(st.booleans()):
        try:
            raise draw(_ERRORS)  # noqa: TRY301 - a real traceback for the record
        except Exception:  # noqa: BLE001 - the exception is the test's input
            exc_info = sys.exc_info()
    record = logging.LogRecord(
        name=draw(st.sampled_from(["kedro.io.data_catalog", "user", "", "a.b.c"])),
        level=draw(st.integers(min_value=0, max_value=60)),
        pathname="/project/src/nodes.py",
        lineno=draw(st.integers(min_value=0, max_value=9999)),
        msg=msg,
        args=args,
        exc_info=exc_info,
        func=draw(st.sampled_from([None, "step"])),
    )
    for key, value in draw(
        st.dictionaries(st.sampled_from(["a", "kedro.x", "code"]), _EXTRA, max_size=3)
    ).items():
        setattr(record, key, value)
    return record


def _without_observed_time(document: dict[str, Any]) -> dict[str, Any]:
    for group in document.get("resourceLogs", []):
        for scope in group.get("scopeLogs", []):
            for entry in scope.get("logRecords", []):
                entry.pop("observedTimeUnixNano", None)
    return document


def _reference(record: logging.LogRecord, in_span: bool) -> dict[str, Any]:
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=_RESOURCE, shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    handler = sdk_handler(provider)
    if in_span:
        with _tracer.start_as_current_span("node"):
            handler.emit(record)
    else:
        handler.emit(record)
    return _without_observed_time(
        json.loads(json.dumps(encode_logs(memory.get_finished_logs()).to_dict()))
    )


def _ours(record: logging.LogRecord, in_span: bool) -> dict[str, Any]:
    translator = LogTranslator()
    if in_span:
        with _tracer.start_as_current_span("node"):
            captured = translator.translate(record, trace.get_current_span().get_span_context())
    else:
        captured = translator.translate(record, trace.get_current_span().get_span_context())
    document = encode_logs([as_sdk_record(captured, _RESOURCE)]).to_dict()
    return _without_observed_time(json.loads(json.dumps(document)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_records(), st.booleans())
def test_the_translation_is_the_sdk_handlers(record: logging.LogRecord, in_span: bool) -> None:
    """Body, severity, attributes (extras of every kind, code location, exception), ids and
    scope: the same OTLP document as the SDK's handler makes of the same record."""
    ours = _ours(record, in_span)
    # Same span ids on both sides: the reference ran in its own span, so compare the shape.
    reference = _reference(record, in_span)
    for document in (ours, reference):
        for group in document["resourceLogs"]:
            for scope in group["scopeLogs"]:
                for entry in scope["logRecords"]:
                    assert ("spanId" in entry) == in_span
                    entry.pop("traceId", None)
                    entry.pop("spanId", None)
    assert ours == reference


@pytest.mark.filterwarnings("ignore::UserWarning")  # the SDK says it dropped attributes
@pytest.mark.parametrize(
    ("variables"),
    [
        {"OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT": "2"},
        {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "4"},
        {"OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT": "6", "OTEL_ATTRIBUTE_COUNT_LIMIT": "3"},
    ],
)
def test_attribute_limits_from_the_environment_apply_as_in_the_sdk(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    """With limits set, plain records and records with extras are bounded as the SDK bounds
    them (dropped count included)."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    plain = logging.LogRecord("user", logging.INFO, "/p/nodes.py", 3, "hello %s", ("x",), None, "f")
    extra = logging.LogRecord("user", logging.WARNING, "/p/nodes.py", 4, "w", (), None, "f")
    extra.dataset = "companies_long_name"
    for record in (plain, extra):
        assert _ours(record, False) == _reference(record, False)


@pytest.mark.parametrize("level", range(70))
def test_severity_numbers_follow_the_sdks_table(level: int) -> None:
    """Every level, custom ones between and beyond the standard five included."""
    from opentelemetry.sdk._logs._internal import std_to_otel

    assert severity_number(level) == std_to_otel(level).value


@pytest.mark.filterwarnings("ignore::UserWarning")  # the SDK says it dropped attributes
def test_the_default_limits_without_the_variables_are_the_sdks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no limit variable set the translator does not ask the SDK; a record with more
    extras than the SDK's default count (128) is cut as the SDK cuts it, values kept whole."""
    import os

    from otel_kedro.sources.kedro import log_translation

    for name in log_translation._LIMIT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not any(name.endswith("_LIMIT") and name.startswith("OTEL_") for name in os.environ)
    record = logging.LogRecord("user", logging.INFO, "/p/nodes.py", 5, "many", (), None, "f")
    for index in range(140):
        setattr(record, f"extra_{index:03}", "v" * 300)
    ours = _ours(record, False)
    assert ours == _reference(record, False)
    entry = ours["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert len(entry["attributes"]) == 128
    assert entry["droppedAttributesCount"] == 140 + 3 - 128
