"""Synthetic run folders written with the real OTLP JSON encoder, for tests of the run views whose
figures must be exact (durations, peaks, regressions), which a real run cannot promise.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from otel_kedro.model.run_folder import RUN_MARKER

SECOND = 1_000_000_000


@dataclasses.dataclass(frozen=True)
class FakeNode:
    """A node of a synthetic run: when it ran (seconds from the run start) and its usage."""

    name: str
    start_s: float
    seconds: float
    peak: int | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    error: str | None = None
    thread: str = "MainThread"


def write_run(
    folder: Path,
    nodes: Sequence[FakeNode],
    *,
    pipeline: str = "__default__",
    start_ns: int = 1_700_000_000 * SECOND,
    result: str = "success",
    runner: str = "SequentialRunner",
) -> Path:
    """Write ``traces.jsonl`` of a run with these nodes into ``folder`` (created, with the
    marker that makes it a run folder).
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RUN_MARKER).write_text("")
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"process.pid": 4242, "service.name": "fake"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("otel_kedro", "0.1.0")
    end_ns = start_ns + int(max((n.start_s + n.seconds for n in nodes), default=0) * SECOND)
    run = tracer.start_span(
        f"RUN {pipeline}",
        start_time=start_ns,
        attributes={
            "cicd.pipeline.name": pipeline,
            "cicd.pipeline.run.id": folder.name,
            "cicd.pipeline.result": result,
            "kedro.runner": runner,
            "kedro.version": "1.7.0",
        },
    )
    context = set_span_in_context(run)
    for node in nodes:
        begin = start_ns + int(node.start_s * SECOND)
        attributes: dict[str, object] = {
            "cicd.pipeline.task.name": node.name,
            "cicd.pipeline.task.run.result": "failure" if node.error else "success",
            "kedro.node.inputs": list(node.inputs),
            "kedro.node.outputs": list(node.outputs),
            "thread.name": node.thread,
        }
        if node.peak is not None:
            attributes["kedro.node.memory.peak"] = node.peak
        span = tracer.start_span(
            node.name,
            context=context,
            start_time=begin,
            attributes=attributes,  # type: ignore[arg-type]
        )
        if node.error:
            span.record_exception(ValueError(node.error))
            span.set_status(Status(StatusCode.ERROR, f"ValueError: {node.error}"))
        span.end(end_time=begin + int(node.seconds * SECOND))
    failed = [n for n in nodes if n.error]
    if failed and result == "failure":  # as real runs do: the run span records it too
        run.record_exception(ValueError(failed[0].error))
        run.set_status(Status(StatusCode.ERROR, f"ValueError: {failed[0].error}"))
    run.end(end_time=end_ns)
    line = json.dumps(encode_spans(memory.get_finished_spans()).to_dict())
    (folder / "traces.jsonl").write_text(line + "\n", encoding="utf-8")
    return folder
