"""The run destination's processor: spans on disk as they end, journaled as they start, through
the files chain (never a raw value)."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from otel_kedro.config.settings import Settings
from otel_kedro.model.inflight import INFLIGHT_FILE, read_journal
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.journal import WriteThroughProcessor
from tests.support.otlp_json import read_spans

SECRET_URL = "postgresql://admin:S3cretPassw0rd@db/x"  # noqa: S105 - a planted secret


def _setup(tmp_path: Path) -> tuple[WriteThroughProcessor, trace.Tracer]:
    chain = destination_chain(Settings().privacy, "files", project_path=tmp_path)
    processor = WriteThroughProcessor(tmp_path, chain, main=True)
    provider = TracerProvider(resource=Resource({"service.name": "kedro", "db.url": SECRET_URL}))
    provider.add_span_processor(processor)
    return processor, provider.get_tracer("otel_kedro", "0.1")


def test_a_started_span_is_journaled_processed_and_an_ended_one_written_at_once(
    tmp_path: Path,
) -> None:
    """The journal holds the start with the files chain applied; the span's line is in
    traces.jsonl as soon as end() returns, before any flush or shutdown."""
    processor, tracer = _setup(tmp_path)
    node = tracer.start_span("node", attributes={"connection": SECRET_URL, "n": 1})
    journal = read_journal(tmp_path)
    assert journal is not None
    (start,) = journal.starts
    assert start.name == "node"
    assert start.attributes["n"] == 1
    assert "S3cretPassw0rd" not in (tmp_path / INFLIGHT_FILE).read_text()
    assert start.attributes["connection"] == "postgresql://*****@db/x"
    (process,) = journal.processes.values()
    assert process.main
    assert process.resource["db.url"] == "postgresql://*****@db/x"
    assert (tmp_path / "traces.jsonl").read_text() == ""

    node.end()
    (written,) = read_spans(tmp_path / "traces.jsonl")
    assert written.name == "node"
    assert written.span_id == start.span_id
    assert written.attributes["connection"] == "postgresql://*****@db/x"
    processor.shutdown()


def test_dataset_spans_are_not_journaled(tmp_path: Path) -> None:
    """A dataset span is created already finished: it is written, never journaled."""
    processor, tracer = _setup(tmp_path)
    with tracer.start_as_current_span("node"):
        tracer.start_span("LOAD d", attributes={"kedro.dataset.name": "d"}).end()
    journal = read_journal(tmp_path)
    assert journal is not None
    assert [s.name for s in journal.starts] == ["node"]
    assert [s.name for s in read_spans(tmp_path / "traces.jsonl")] == ["LOAD d", "node"]
    lines = (tmp_path / INFLIGHT_FILE).read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    processor.shutdown()
