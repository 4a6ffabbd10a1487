"""Completing a run folder whose processes died: who counts as dead, when spans end, once only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil

from otel_kedro.model.inflight import (
    ALIVE_FILE,
    INFLIGHT_FILE,
    PROCESS_KILLED,
    ProcessRecord,
    RunRecord,
    StartRecord,
    process_line,
    run_line,
    start_line,
)
from otel_kedro.runs.recovery import complete_dead_runs, complete_run
from tests.support.otlp_json import read_spans

TRACE = "0af7651916cd43dd8448eb211c80319c"
RUN_ID, NODE_ID, USER_ID = "00f067aa0ba902b7", "00f067aa0ba902b8", "00f067aa0ba902b9"
SECOND = 1_000_000_000


def _journal(folder: Path, pid: int, started: float, *, torn: bool = False) -> None:
    """A run with a run span and a node span (with a user span under it) in flight."""
    base = 1_800_000_000 * SECOND
    lines = [
        process_line(ProcessRecord(pid, started, True, {"service.name": "kedro"})),
        run_line(RunRecord(pid, "kedro run", "/project", base / SECOND)),
        start_line(
            StartRecord(pid, TRACE, RUN_ID, "", False, "RUN __default__", 1, base,
                        {"cicd.pipeline.run.id": "r1"}, ("otel_kedro", "0.1"))
        ),
        start_line(
            StartRecord(pid, TRACE, NODE_ID, RUN_ID, False, "victim", 0, base + SECOND,
                        {"cicd.pipeline.task.name": "victim"}, ("otel_kedro", "0.1"))
        ),
        start_line(
            StartRecord(pid, TRACE, USER_ID, NODE_ID, False, "user-work", 0, base + 2 * SECOND,
                        {}, ("user", ""))
        ),
    ]  # fmt: skip
    text = "".join(lines) + ('{"start": {"pid": 1, "tra' if torn else "")
    (folder / INFLIGHT_FILE).write_text(text)
    alive = {"seen": {str(pid): base / SECOND + 5}, "peak_rss": {str(pid): 321_000_000}}
    (folder / ALIVE_FILE).write_text(json.dumps(alive))


def _own_start() -> float:
    return psutil.Process(os.getpid()).create_time()


def test_a_live_run_is_never_completed_by_another_process(tmp_path: Path) -> None:
    """The journal's main process is alive (same pid, same start time): nothing is touched."""
    _journal(tmp_path, os.getpid(), _own_start())
    assert complete_run(tmp_path) is None
    assert complete_dead_runs(tmp_path.parent) == []
    assert not (tmp_path / "traces.jsonl").exists()
    assert (tmp_path / INFLIGHT_FILE).exists()


def test_a_reused_pid_does_not_keep_a_dead_run_alive(tmp_path: Path) -> None:
    """Same pid, another start time: the run's process is dead and its spans are ended as
    killed at the last time it was seen alive; children end before their parents."""
    _journal(tmp_path, os.getpid(), _own_start() - 100, torn=True)
    completion = complete_run(tmp_path)
    assert completion is not None
    assert (completion.spans, completion.info_written, completion.closed) == (3, True, True)
    spans = {s.name: s for s in read_spans(tmp_path / "traces.jsonl")}
    assert set(spans) == {"RUN __default__", "victim", "user-work"}
    seen = (1_800_000_000 + 5) * SECOND
    for span in spans.values():
        assert span.failed
        assert span.attributes["error.type"] == PROCESS_KILLED
        assert span.end_ns == seen
    assert spans["victim"].attributes["cicd.pipeline.task.run.result"] == "failure"
    assert spans["victim"].attributes["kedro.node.memory.peak"] == 321_000_000
    assert "kedro.node.memory.peak" not in spans["RUN __default__"].attributes
    assert spans["RUN __default__"].attributes["cicd.pipeline.result"] == "failure"
    assert spans["user-work"].parent_id == NODE_ID
    assert spans["victim"].resource == {"service.name": "kedro"}
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["execution_summary"]["exit_code"] is None
    assert info["command"] == "kedro run"
    assert not (tmp_path / INFLIGHT_FILE).exists()
    assert not (tmp_path / ALIVE_FILE).exists()


def test_completing_twice_adds_nothing(tmp_path: Path) -> None:
    """A completion that crashed before removing the journal is repeated without duplicates."""
    _journal(tmp_path, os.getpid(), _own_start() - 100)
    journal = (tmp_path / INFLIGHT_FILE).read_bytes()
    complete_run(tmp_path)
    first = (tmp_path / "traces.jsonl").read_bytes()
    (tmp_path / INFLIGHT_FILE).write_bytes(journal)
    again = complete_run(tmp_path)
    assert again is not None
    assert again.spans == 0
    assert not again.info_written
    assert (tmp_path / "traces.jsonl").read_bytes() == first


def test_a_parent_ends_after_a_child_written_later_than_the_last_sample(tmp_path: Path) -> None:
    """A span that ended after the last sample (already in traces.jsonl) holds its in-flight
    parent open until its own end."""
    _journal(tmp_path, os.getpid(), _own_start() - 100)
    late = (1_800_000_000 + 9) * SECOND
    child = {
        "resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": TRACE, "spanId": USER_ID, "parentSpanId": NODE_ID, "name": "user-work",
            "kind": 1, "startTimeUnixNano": str(late - SECOND), "endTimeUnixNano": str(late),
            "status": {},
        }]}]}]
    }  # fmt: skip
    (tmp_path / "traces.jsonl").write_text(json.dumps(child) + "\n")
    completion = complete_run(tmp_path)
    assert completion is not None
    assert completion.spans == 2
    spans = {s.name: s for s in read_spans(tmp_path / "traces.jsonl")}
    assert spans["victim"].end_ns == late
    assert spans["RUN __default__"].end_ns == late


def test_the_run_that_closes_its_own_folder_leaves_its_own_spans_alone(tmp_path: Path) -> None:
    """Closing its own run, the main process ends only dead processes' spans."""
    _journal(tmp_path, os.getpid(), _own_start() - 100)
    completion = complete_run(tmp_path, own_pid=os.getpid())
    assert completion is not None
    assert (completion.spans, completion.info_written, completion.closed) == (0, False, True)
    assert not (tmp_path / "traces.jsonl").exists()
