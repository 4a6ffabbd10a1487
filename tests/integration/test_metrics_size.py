"""``metrics.jsonl`` of real ``kedro run``s of generated chains grows by a bounded few hundred
bytes per node, every node's duration is in it exactly once under every runner (ParallelRunner
workers' too), and the per-process breakdown is there; decoded with opentelemetry-proto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otel_kedro import attributes as keys
from tests.support.kedro_projects import (
    clean_env,
    run_folders,
    run_kedro,
    write_chain_project,
)
from tests.support.otlp_metrics import attrs, metrics_by_name, number_points, read_requests

# What a node may add to metrics.jsonl: its duration point (~265 bytes with a short name and
# its result). Before, with buckets per node and a series per dataset: about 1,400 bytes.
BYTES_PER_NODE = 320
DATASET_TYPES = (
    "kedro.io.memory_dataset.MemoryDataset",
    "kedro.io.shared_memory_dataset.SharedMemoryDataset",
)


def chain(root: Path, nodes: int) -> Path:
    return write_chain_project(root, nodes, f"chain{nodes}")


def run(project: Path, *args: str, **env: str) -> Path:
    result = run_kedro(project, "run", *args, env=clean_env(**env))
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = run_folders(project)
    return folder / "metrics.jsonl"


def histograms(found: dict[str, list[Any]], name: str) -> list[tuple[dict[str, Any], Any]]:
    return [(attrs(p.attributes), p) for m in found[name] for p in m.histogram.data_points]


def check_durations(path: Path, nodes: int) -> dict[str, list[Any]]:
    found = metrics_by_name(read_requests(path))
    node_points = histograms(found, keys.KEDRO_NODE_DURATION)
    assert sorted(a[keys.CICD_TASK_NAME] for a, _ in node_points) == sorted(
        f"n{i}" for i in range(nodes)
    ), "every node once"
    assert {p.count for _, p in node_points} == {1}
    assert all(a[keys.CICD_TASK_RUN_RESULT] == "success" for a, _ in node_points)
    for name in (keys.KEDRO_DATASET_LOAD_DURATION, keys.KEDRO_DATASET_SAVE_DURATION):
        # One series per dataset type (ParallelRunner shares memory datasets between workers
        # as SharedMemoryDataset), every load and save counted once.
        by_type = histograms(found, name)
        assert {a[keys.KEDRO_DATASET_TYPE] for a, _ in by_type} <= set(DATASET_TYPES)
        assert sum(p.count for _, p in by_type) == nodes, name
        assert sum(sum(p.bucket_counts) for _, p in by_type) == nodes
    ((run_attrs, run_point),) = histograms(found, keys.KEDRO_RUN_DURATION)
    assert run_attrs[keys.CICD_PIPELINE_RESULT] == "success"
    assert run_point.count == 1
    return found


def test_bytes_per_node_are_bounded(tmp_path: Path) -> None:
    small, large = 60, 360
    sizes = {}
    for nodes in (small, large):
        path = run(chain(tmp_path, nodes))
        found = check_durations(path, nodes)
        sizes[nodes] = path.stat().st_size
        memory = number_points(found[keys.PROCESS_MEMORY_USAGE])
        assert [v for a, _, _, v in memory if not a], "the tree's RSS"
        per_process = {a[keys.PROCESS_PID] for a, _, _, _ in memory if keys.PROCESS_PID in a}
        assert per_process, "the per-process breakdown"
        assert all(a[keys.PROCESS_EXECUTABLE_NAME] for a, _, _, _ in memory if a)
    per_node = (sizes[large] - sizes[small]) / (large - small)
    assert per_node < BYTES_PER_NODE, f"{per_node:.0f} bytes per node ({sizes})"
    assert sizes[large] / large < 2 * BYTES_PER_NODE, sizes


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_workers_durations_are_counted_once(tmp_path: Path, context: str) -> None:
    nodes = 24
    path = run(chain(tmp_path, nodes), "--runner", "ParallelRunner", KEDRO_MP_CONTEXT=context)
    found = check_durations(path, nodes)
    memory = number_points(found[keys.PROCESS_MEMORY_USAGE])
    assert len({a[keys.PROCESS_PID] for a, _, _, _ in memory if a}) > 1, "workers, per process"
