"""The example project under every runner, through the CLI and through KedroSession."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.kedro_projects import EXAMPLE_NODES, clean_env, run_kedro, run_session
from tests.support.trace_checks import check_run_trace, only_run_spans

RUNNERS = [
    pytest.param("SequentialRunner", {}, id="sequential"),
    pytest.param("ThreadRunner", {}, id="thread"),
    pytest.param("ParallelRunner", {"KEDRO_MP_CONTEXT": "fork"}, id="parallel-fork"),
    pytest.param("ParallelRunner", {"KEDRO_MP_CONTEXT": "spawn"}, id="parallel-spawn"),
]


def _run(mode: str, project: Path, runner: str, env: dict[str, str], fail: bool):
    if mode == "cli":
        args = ["run", "--runner", runner]
        if fail:
            args += ["--params", "quality.fail=true"]
        return run_kedro(project, *args, env=clean_env(**env))
    return run_session(
        project, runner, *(["quality.fail=true"] if fail else []), env=clean_env(**env)
    )


def _check_node_usage(nodes: dict, *, shared: bool) -> None:
    """Every node carries its usage; the ~190 MB, ~0.5 s CPU simulation stands out."""
    heavy = nodes["simulate_forecast"].attributes
    light = nodes["clean_sales"].attributes
    assert heavy["kedro.node.cpu.time"] > 0.2
    assert heavy["kedro.node.cpu.time"] > 2 * light["kedro.node.cpu.time"]
    for span in nodes.values():
        usage = span.attributes
        assert usage["kedro.node.cpu.time"] >= 0
        if shared:  # ThreadRunner: memory belongs to every thread, so none is attributed
            assert usage["kedro.node.usage.scope"] == "thread"
            assert "kedro.node.memory.peak" not in usage
        else:
            assert usage["kedro.node.usage.scope"] == "process"
            assert usage["kedro.node.memory.peak"] > 30e6
    if not shared:
        # The simulation's arrays set a new high-water mark: its peak is exact.
        assert heavy["kedro.node.memory.peak.exact"] is True
        assert heavy["kedro.node.memory.peak"] > light["kedro.node.memory.peak"] + 150e6


@pytest.mark.parametrize("mode", ["cli", "session"])
@pytest.mark.parametrize(("runner", "env"), RUNNERS)
def test_successful_run_is_one_trace(
    example_project: Path, mode: str, runner: str, env: dict[str, str]
) -> None:
    result = _run(mode, example_project, runner, env, fail=False)
    assert result.returncode == 0, result.stderr[-3000:]

    spans = only_run_spans(example_project)
    nodes = check_run_trace(spans, command=mode == "cli", expect_nodes=EXAMPLE_NODES)
    run = next(s for s in spans if s.name.startswith("RUN "))
    assert run.name == "RUN __default__"
    assert run.attributes["cicd.pipeline.result"] == "success"
    assert run.attributes["kedro.runner"] == runner
    assert run.attributes["kedro.pipeline.nodes.count"] == len(EXAMPLE_NODES)
    assert run.attributes["kedro.project.pipelines.count"] == 4
    assert run.attributes["kedro.project.datasets.count"] == 6
    csv_type = "kedro.project.dataset_type_count.kedro_datasets.pandas.CSVDataset"
    assert run.attributes[csv_type] == 5
    assert all(s.attributes["cicd.pipeline.task.run.result"] == "success" for s in nodes.values())
    assert nodes["north.filter_region"].attributes["kedro.node.namespace"] == "north"
    assert nodes["clean_sales"].attributes["kedro.node.tags"] == ["cleaning"]
    loads = {s.name for s in spans if s.name.startswith("LOAD ")}
    assert {"LOAD sales_raw", "LOAD params:simulation", "LOAD sales_features"} <= loads
    _check_node_usage(nodes, shared=runner == "ThreadRunner")
    if mode == "cli":
        assert "otel-kedro: trace written to" in result.stderr
        command = next(s for s in spans if s.name == "kedro run")
        assert command.attributes["process.exit.code"] == 0
        # Kedro's --runner value is kept in the local files (it tells runs apart).
        assert command.attributes["process.command_args"] == ["kedro", "run", "--runner", runner]


@pytest.mark.parametrize("mode", ["cli", "session"])
@pytest.mark.parametrize(("runner", "env"), RUNNERS)
def test_failing_node_gives_error_spans_and_unchanged_exit_code(
    example_project: Path, mode: str, runner: str, env: dict[str, str]
) -> None:
    without_plugin = _run(mode, example_project, runner, {**env, "OTEL_SDK_DISABLED": "true"}, True)
    assert not (example_project / ".otel_kedro").exists()
    result = _run(mode, example_project, runner, env, fail=True)
    assert result.returncode == without_plugin.returncode != 0
    assert "sales quality check failed" in result.stdout + result.stderr

    spans = only_run_spans(example_project)
    nodes = check_run_trace(spans, command=mode == "cli")
    failed = nodes["check_quality"]
    assert failed.failed
    assert failed.attributes["error.type"] == "ValueError"
    assert failed.attributes["cicd.pipeline.task.run.result"] == "failure"
    assert [name for name, _ in failed.events] == ["exception"]
    assert "quality check failed" in failed.events[0][1]["exception.message"]
    run = next(s for s in spans if s.name.startswith("RUN "))
    assert run.failed
    assert run.attributes["cicd.pipeline.result"] == "failure"
    assert run.attributes["error.type"] == "ValueError"
    if mode == "cli":
        command = next(s for s in spans if s.name == "kedro run")
        assert command.attributes["process.exit.code"] == result.returncode
        assert command.attributes["process.command_args"][-2:] == ["--params", "*****"]


def test_packaged_run_has_no_command_span_and_a_root_run_span(example_project: Path) -> None:
    env = clean_env(PYTHONPATH=str(example_project / "src"))
    result = subprocess.run(
        [sys.executable, "-m", "retail_demo", "--pipeline", "data_processing"],
        cwd=example_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    spans = only_run_spans(example_project)
    check_run_trace(spans, command=False)
    run = next(s for s in spans if s.name == "RUN data_processing")
    assert run.parent_id == ""
