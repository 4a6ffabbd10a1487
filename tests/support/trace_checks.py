"""Assertions about the shape of one run's trace: one trace, right parents, one span per node."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.kedro_projects import run_folders
from tests.support.otlp_json import DecodedSpan, read_spans


def only_run_spans(project: Path) -> list[DecodedSpan]:
    """The spans of the single run folder the project has."""
    folders = run_folders(project)
    assert len(folders) == 1, folders
    return read_spans(folders[0] / "traces.jsonl")


def check_run_trace(
    spans: list[DecodedSpan], *, command: bool, expect_nodes: frozenset[str] | None = None
) -> dict[str, DecodedSpan]:
    """Check the trace invariants and return the node spans by name."""
    assert spans, "no spans written"
    assert len({s.trace_id for s in spans}) == 1, "a run must be exactly one trace"
    assert len({s.span_id for s in spans}) == len(spans), "a span was written twice"
    by_id = {s.span_id: s for s in spans}

    runs = [s for s in spans if s.name.startswith("RUN ")]
    assert len(runs) == 1, [s.name for s in runs]
    run = runs[0]
    assert run.kind == Span.SPAN_KIND_SERVER
    commands = [s for s in spans if s.name.startswith("kedro")]
    if command:
        assert len(commands) == 1, [s.name for s in commands]
        assert run.parent_id == commands[0].span_id
        assert commands[0].attributes["process.command_args"][:2] == ["kedro", "run"]
    else:
        assert commands == []

    node_spans = [s for s in spans if s.parent_id == run.span_id]
    counts = Counter(s.name for s in node_spans)
    assert all(n == 1 for n in counts.values()), f"nodes traced more than once: {counts}"
    nodes = {s.name: s for s in node_spans}
    if expect_nodes is not None:
        assert set(nodes) == expect_nodes
    for span in node_spans:
        assert span.attributes["cicd.pipeline.task.name"] == span.name
        assert span.attributes["code.function.name"]

    for span in spans:
        if span in node_spans or span is run or span in commands:
            continue
        if span.name.startswith("STARTUP "):  # start-up phases: children of the command span
            assert commands, "start-up phases without a command span"
            assert span.parent_id == commands[0].span_id, span.name
            assert span.end_ns <= run.start_ns, f"{span.name} overlaps the run"
            continue
        assert span.name.startswith(("LOAD ", "SAVE ")), span.name
        parent = by_id.get(span.parent_id)
        assert parent is not None, f"{span.name} has no parent in the file"
        assert parent.parent_id == run.span_id, f"{span.name} is not under a node span"
        assert span.attributes["kedro.dataset.name"] == span.name.split(" ", 1)[1]
        assert parent.start_ns <= span.start_ns <= span.end_ns <= parent.end_ns
    return nodes
