"""The example project under every runner, sampled: metrics.jsonl decodes as OTLP metrics, the
con-duct files are read by con-duct itself, and the summary is printed once (or not at all)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.kedro_projects import clean_env, run_folders, run_kedro
from tests.support.otlp_metrics import read_requests

CON_DUCT = str(Path(sys.executable).with_name("con-duct"))
RUNNERS = [
    pytest.param("SequentialRunner", {}, id="sequential"),
    pytest.param("ThreadRunner", {}, id="thread"),
    pytest.param("ParallelRunner", {"KEDRO_MP_CONTEXT": "fork"}, id="parallel-fork"),
]


def metrics_by_name(requests: list) -> dict[str, list]:
    found: dict[str, list] = {}
    for request in requests:
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                assert scope_metrics.scope.name == "otel_kedro"
                for metric in scope_metrics.metrics:
                    found.setdefault(metric.name, []).append(metric)
    return found


@pytest.mark.parametrize(("runner", "env"), RUNNERS)
def test_a_sampled_run_writes_metrics_and_con_duct_files(
    example_project: Path, tmp_path: Path, runner: str, env: dict[str, str]
) -> None:
    result = run_kedro(example_project, "run", "--runner", runner, env=clean_env(**env))
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = run_folders(example_project)

    assert result.stderr.count("otel-kedro: run success in") == 1, "the summary, once"
    assert "slowest nodes  simulate_forecast" in result.stderr
    assert str(folder) in result.stderr

    metrics = metrics_by_name(read_requests(folder / "metrics.jsonl"))
    for name in ("process.cpu.time", "process.memory.usage", "process.memory.virtual",
                 "process.thread.count", "kedro.node.duration", "kedro.run.duration",
                 "kedro.dataset.load.duration", "kedro.dataset.save.duration"):  # fmt: skip
        assert name in metrics, sorted(metrics)
    nodes = {
        {a.key: a.value.string_value for a in point.attributes}["cicd.pipeline.task.name"]
        for metric in metrics["kedro.node.duration"]
        for point in metric.histogram.data_points
    }
    assert len(nodes) == 10, "every node's duration, workers' included"
    peak = max(
        point.as_int or point.as_double
        for metric in metrics["kedro.process.memory.peak"]
        for point in metric.gauge.data_points
    )
    # The simulation holds ~600 MB for about one sampling interval: samples of RSS may miss
    # it, the high-water marks behind the peak metric may not.
    assert peak > 400e6

    info = json.loads((folder / "info.json").read_text())
    summary = info["execution_summary"]
    assert summary["exit_code"] == 0
    assert summary["peak_rss"] >= peak * 0.9, "the peak survives into con-duct's summary"
    assert summary["command"].startswith(f"kedro run --runner {runner}"), (
        "kept: it tells runs apart"
    )
    if runner == "ParallelRunner":
        records = [json.loads(line) for line in (folder / "usage.jsonl").read_text().splitlines()]
        assert max(len(r["processes"]) for r in records) > 1, "the workers were sampled"
    for args in (["ls", str(folder / "info.json")], ["pp", str(folder / "info.json")]):
        shown = subprocess.run([CON_DUCT, *args], capture_output=True, text=True, check=False)
        assert shown.returncode == 0, shown.stderr
    plot = subprocess.run(
        [CON_DUCT, "plot", str(folder / "info.json"), "--output", str(tmp_path / "usage.png")],
        capture_output=True, text=True, check=False, env={**clean_env(), "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "usage.png").stat().st_size > 1000


def test_the_summary_and_the_sampler_can_be_turned_off(example_project: Path) -> None:
    quiet = run_kedro(example_project, "run", "--pipeline", "data_processing",
                      env=clean_env(OTEL_KEDRO_SUMMARY="false"))  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert "otel-kedro: run success" not in quiet.stderr
    assert (run_folders(example_project)[0] / "info.json").exists()
    off = run_kedro(example_project, "run", "--pipeline", "data_processing",
                    env=clean_env(OTEL_KEDRO_SAMPLER="false"))  # fmt: skip
    assert off.returncode == 0
    newest = max(run_folders(example_project), key=lambda f: f.stat().st_mtime)
    assert not (newest / "metrics.jsonl").exists()
    assert (newest / "traces.jsonl").exists()


def test_a_failed_run_still_writes_its_usage(example_project: Path) -> None:
    result = run_kedro(example_project, "run", "--params", "quality.fail=true", env=clean_env())
    assert result.returncode != 0
    (folder,) = run_folders(example_project)
    assert "otel-kedro: run failure in" in result.stderr
    info = json.loads((folder / "info.json").read_text())
    assert info["execution_summary"]["exit_code"] == 1
    assert read_requests(folder / "metrics.jsonl")
