"""The tee in front of a run's writer: every span written first and then timed; workers' lines
added at the end from the trace file, the run's own never twice."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_kedro import attributes as keys
from otel_kedro.model.metric_series import HistogramPoint
from otel_kedro.runs.span_durations import DurationTee, record_other_processes, traces_offset
from otel_kedro.sources.kedro.durations import KedroDurations


def node_counts(durations: KedroDurations) -> dict[str, int]:
    (series,) = [m for m in durations.series() if m.name == keys.KEDRO_NODE_DURATION]
    return {
        str(p.attributes[keys.CICD_TASK_NAME]): p.observations
        for p in series.points
        if isinstance(p, HistogramPoint)
    }


def worker_line(pid: int, node: str) -> str:
    span = {"name": node, "startTimeUnixNano": "0", "endTimeUnixNano": "1000000000",
            "attributes": [{"key": keys.CICD_TASK_NAME, "value": {"stringValue": node}},
                           {"key": keys.CICD_TASK_RUN_RESULT, "value": {"stringValue": "success"}}]}  # fmt: skip
    resource = {"attributes": [{"key": "process.pid", "value": {"intValue": str(pid)}}]}
    request = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}
    return json.dumps(request, separators=(",", ":")) + "\n"


def test_spans_are_written_then_timed_and_workers_lines_added_once(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    durations = KedroDurations()
    tee = DurationTee(SimpleSpanProcessor(exporter), durations)
    provider = TracerProvider(resource=Resource({"process.pid": 4242}))
    provider.add_span_processor(tee)
    tracer = provider.get_tracer("test")
    traces = tmp_path / "traces.jsonl"
    traces.write_text(worker_line(os.getpid(), "before the run"))  # never read: before the offset
    offset = traces_offset(traces)
    span = tracer.start_span("main_node", attributes={keys.CICD_TASK_NAME: "main_node",
                                                      keys.CICD_TASK_RUN_RESULT: "success"})  # fmt: skip
    span.end()
    assert [s.name for s in exporter.get_finished_spans()] == ["main_node"]
    assert tee.own_pids == {os.getpid(), 4242}
    # What the run's writer appended for its own span, and what two workers appended.
    traces.open("a").write(
        worker_line(4242, "main_node") + worker_line(77, "w1") + worker_line(78, "w2")
    )
    record_other_processes(durations, traces, offset, tee.own_pids)
    assert node_counts(durations) == {"main_node": 1, "w1": 1, "w2": 1}
    assert tee.force_flush()
    tee.shutdown()


def test_a_failure_to_time_a_span_never_reaches_the_run(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(KedroDurations):
        def observe(self, name: str, values: object, seconds: float) -> None:  # type: ignore[override]
            raise RuntimeError("boom")

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(DurationTee(SimpleSpanProcessor(exporter), Broken()))
    provider.get_tracer("test").start_span("n").end()
    assert len(exporter.get_finished_spans()) == 1, "written all the same"
    assert "cannot record the duration" in caplog.text
