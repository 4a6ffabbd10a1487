"""The privacy runner on log records: body, attributes and resource change, nothing else."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.processors.apply import apply_to_logs, process_captured_log, process_log
from otel_kedro.processors.chain import Chain
from otel_kedro.processors.identifiers import HASH_PREFIX
from otel_kedro.runs.chains import destination_chain
from tests.support.log_records import sdk_handler, translated


def _records() -> list[ReadableLogRecord]:
    """Real records from the SDK's LoggingHandler: a message with a secret, an exception with
    one, and a structured body, emitted inside a span."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(
        resource=Resource({"service.name": "svc", "host.name": "box"}, "https://schema/1"),
        shutdown_on_exit=False,
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    handler = sdk_handler(provider, logging.NOTSET)
    logger = logging.getLogger("test_apply_logs")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    tracer = TracerProvider().get_tracer("t")
    try:
        with tracer.start_as_current_span("node"):
            logger.info("connect with password=hunter2secret to %s", "db")
            try:
                raise RuntimeError("refused token=Zq8vN3kLp0sW7xY2")  # noqa: TRY301
            except RuntimeError:
                logger.exception("failed")
            logger.warning({"detail": "api_key=Zq8vN3kLp0sW7xY2", "count": 3})
            logger.info("nothing to hide")
    finally:
        logger.removeHandler(handler)
    return list(memory.get_finished_logs())


def _encoded(records: list[ReadableLogRecord]) -> Any:
    return encode_logs(records).to_dict()


class TestProcessLog:
    """``process_log`` and ``apply_to_logs``."""

    def test_secrets_leave_body_and_exception_attributes(self) -> None:
        """The files chain scrubs the message, the exception message and its stack trace."""
        chain = destination_chain(PrivacySettings(), "files")
        processed = apply_to_logs(_records(), chain)
        text = str(_encoded(processed))
        assert "hunter2secret" not in text
        assert "Zq8vN3kLp0sW7xY2" not in text
        assert processed[0].log_record.body == "connect with password=***** to db"
        attributes = processed[1].log_record.attributes or {}
        assert attributes["exception.type"] == "RuntimeError"
        assert "token=*****" in str(attributes["exception.stacktrace"])
        body = processed[2].log_record.body
        assert isinstance(body, dict)
        assert body["count"] == 3
        assert body["detail"] == "api_key=*****"

    def test_everything_else_is_carried_over(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Ids, times, severity, scope and dropped counts survive: the encoded records differ
        only in what the chain changed."""
        monkeypatch.setenv("OTEL_KEDRO_CONFIG_DIR", str(tmp_path / "config"))
        records = _records()
        span_ids = {r.log_record.span_id for r in records}
        assert len(span_ids) == 1
        assert trace.INVALID_SPAN_ID not in span_ids
        chain = destination_chain(PrivacySettings(), "otlp")
        processed = apply_to_logs(records, chain)
        before, after = _encoded(records), _encoded(processed)
        for old, new in zip(
            before["resourceLogs"][0]["scopeLogs"][0]["logRecords"],
            after["resourceLogs"][0]["scopeLogs"][0]["logRecords"],
            strict=True,
        ):
            for key in set(old) - {"body", "attributes"}:
                assert new[key] == old[key], key
        resource = processed[0].resource.attributes
        assert str(resource["host.name"]).startswith(HASH_PREFIX), "OTLP hashes host names"

    def test_an_unchanged_record_is_returned_as_it_is(self) -> None:
        """A chain that changes nothing rebuilds nothing."""
        record = _records()[3]
        assert process_log(record, Chain((), ()), record.resource) is record


class TestProcessCapturedLog:
    """``process_captured_log``: what the capture queues, through a chain."""

    def test_secrets_leave_the_body_and_the_rest_is_carried_over(self) -> None:
        """The files chain scrubs the message; every other field is the record's."""
        chain = destination_chain(PrivacySettings(), "files")
        record = translated("test_apply_logs", "connect with password=hunter2secret to db")[0]
        processed = process_captured_log(record, chain)
        assert processed.body == "connect with password=***** to db"
        assert processed._replace(body=record.body) == record

    def test_structured_bodies_and_attributes_are_scrubbed(self) -> None:
        """A mapping body is processed as one attribute value; attributes as attributes."""
        chain = destination_chain(PrivacySettings(), "files")
        record = translated("test_apply_logs", "plain")[0]._replace(
            body={"detail": "api_key=Zq8vN3kLp0sW7xY2", "count": 3},
            attributes={"db.password": "hunter2secret", "rows": 4},
        )
        processed = process_captured_log(record, chain)
        assert processed.body == {"detail": "api_key=*****", "count": 3}
        assert processed.attributes == {"db.password": "*****", "rows": 4}

    def test_an_unchanged_record_is_returned_as_it_is(self) -> None:
        """A chain that changes nothing rebuilds nothing."""
        record = translated("test_apply_logs", "nothing to hide")[0]
        chain = destination_chain(PrivacySettings(), "files")
        assert process_captured_log(record, Chain((), ())) is record
        assert process_captured_log(record, chain) is record
