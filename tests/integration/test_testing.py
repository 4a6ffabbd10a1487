"""otel_kedro.testing: a real Kedro session in this process, captured per destination."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.runner import SequentialRunner, ThreadRunner

from otel_kedro.testing import run_session
from tests.support.kedro_projects import EXAMPLE_NODES


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    for name in ("OTEL_SDK_DISABLED", "TRACEPARENT", "OTEL_KEDRO_SAMPLER"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("runner", [SequentialRunner, ThreadRunner])
def test_one_in_process_run_is_one_trace_of_every_node(
    example_project: Path, tmp_path: Path, runner: type
) -> None:
    """Every node of the example has one span, all in one trace under one run span, and the
    sampler's metrics and the run's log records are in the same folder.
    """
    captured = run_session(example_project, tmp_path / "runs", runner=runner())
    assert captured.error is None
    nodes = {s.name for s in captured.spans if s.attributes.get("cicd.pipeline.task.name")}
    assert nodes == EXAMPLE_NODES
    assert len({s.context.trace_id for s in captured.spans}) == 1
    run = captured.span("RUN __default__")
    assert run.attributes["cicd.pipeline.result"] == "success"
    assert captured.metrics, "metrics.jsonl was written"
    assert all(seconds >= 0 for seconds in captured.durations().values())
    node_ids = sorted(s.context.span_id for s in captured.spans if s.name in EXAMPLE_NODES)
    running = sorted(
        r.log_record.span_id
        for r in captured.logs
        if str(r.log_record.body).startswith("Running node:")
    )
    assert running == node_ids, "each 'Running node' record carries its own node's span"


def test_what_each_destination_receives_is_a_function_call(
    example_project: Path, tmp_path: Path
) -> None:
    """The OTLP chain hashes the host name that the files keep; Heap's keeps no node names."""
    captured = run_session(example_project, tmp_path / "runs", pipeline_name="data_processing")
    files = captured.sent_to("files")[0].resource.attributes
    otlp = captured.sent_to("otlp")[0].resource.attributes
    assert files["host.name"] == captured.spans[0].resource.attributes["host.name"]
    assert otlp["host.name"] != files["host.name"]
    heap_names = {key for s in captured.sent_to("heap") for key in s.attributes}
    assert "cicd.pipeline.task.name" not in heap_names


def test_a_failing_pipeline_is_returned_with_its_trace(
    example_project: Path, tmp_path: Path
) -> None:
    """The pipeline's exception comes back in ``error`` and the run span says failure."""
    captured = run_session(
        example_project,
        tmp_path / "runs",
        pipeline_name="data_processing",
        runtime_params={"quality": {"fail": True}},
    )
    assert isinstance(captured.error, ValueError)
    assert captured.span("RUN data_processing").attributes["cicd.pipeline.result"] == "failure"
    assert captured.span("check_quality").status.status_code.name == "ERROR"
