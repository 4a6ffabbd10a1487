"""Streaming ``traces.jsonl`` for the spans other processes wrote: the run's own lines are
skipped undecoded, the rest yield name, attributes and wall time, one line at a time."""

from __future__ import annotations

import json
from pathlib import Path

from otel_kedro.model.span_stream import SpanFacts, spans_of_other_processes, writer_pid


def line(pid: int | None, *spans: tuple[str, dict[str, str], int, int]) -> str:
    resource = [] if pid is None else [{"key": "process.pid", "value": {"intValue": str(pid)}}]
    encoded = [
        {"name": name, "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
         "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]}
        for name, values, start, end in spans
    ]  # fmt: skip
    document = {"resourceSpans": [{"resource": {"attributes": resource},
                                   "scopeSpans": [{"spans": encoded}]}]}  # fmt: skip
    return json.dumps(document, separators=(",", ":")) + "\n"


def test_only_other_processes_lines_from_the_offset_are_read(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    before = line(7, ("early", {}, 0, 1))
    own = line(1, ("mine", {"a": "b"}, 0, 5))
    path.write_text(
        before
        + own
        + line(2, ("LOAD x", {"kedro.dataset.name": "x"}, 1_000, 2_500_000_000))
        + line(None, ("no pid: the run's own", {}, 0, 1))
        + '{"resourceSpans":[{"resource":{"attributes":[{"key":"process.pid","value":{"intValue":"3"}}'
        + "\n"  # torn by a crash
        + line(3, ("n1", {"cicd.pipeline.task.name": "n1"}, 10, 5), ("n2", {}, 0, 2_000_000_000))
    )
    found = list(spans_of_other_processes(path, {1, 99}, offset=len(before)))
    assert found == [
        SpanFacts("LOAD x", {"kedro.dataset.name": "x"}, 2.499999),
        SpanFacts("n1", {"cicd.pipeline.task.name": "n1"}, 0.0),  # an end before its start
        SpanFacts("n2", {}, 2.0),
    ]
    assert next(s.name for s in spans_of_other_processes(path, {1})) == "early"
    assert list(spans_of_other_processes(tmp_path / "missing.jsonl", {1})) == []


def test_the_writer_is_the_first_pid_a_line_names() -> None:
    assert writer_pid(line(42).encode()) == 42
    assert writer_pid(line(None).encode()) is None
    assert writer_pid(b'{"key":"process.pid","value":{"intValue":"x"}}') is None
