"""metrics.jsonl: process-tree samples and Kedro durations as OTLP metrics, read back with the
real protobuf classes of opentelemetry-proto."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric
from opentelemetry.sdk.resources import Resource

from otel_kedro import attributes as keys
from otel_kedro.exporters.files import METRICS_FILE
from otel_kedro.exporters.metrics_file import (
    DURATION_BUCKETS,
    KedroDurations,
    MetricsFileWriter,
    available_cpus,
)
from otel_kedro.model.usage import ProcessUsage, TreeSample
from otel_kedro.processors.chain import (
    DROP_KEYS,
    SCRUB_SECRETS,
    ChainSpec,
    PrivacySettings,
    build_chain,
)

T0 = 1_800_000_000.0
MB = 1_000_000


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _attrs(key_values: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


def read_requests(path: Path) -> list[ExportMetricsServiceRequest]:
    """Every line must be one ExportMetricsServiceRequest in OTLP JSON."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json_format.Parse(line, ExportMetricsServiceRequest()) for line in lines]


def metrics_by_name(requests: list[ExportMetricsServiceRequest]) -> dict[str, list[Metric]]:
    found: dict[str, list[Metric]] = {}
    for request in requests:
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                assert scope_metrics.scope.name == keys.INSTRUMENTATION_SCOPE
                assert scope_metrics.scope.version == "9.9.9"
                for metric in scope_metrics.metrics:
                    found.setdefault(metric.name, []).append(metric)
    return found


def number_points(metrics: list[Metric]) -> list[tuple[dict[str, Any], int, int, float]]:
    points = []
    for metric in metrics:
        data = metric.sum.data_points if metric.HasField("sum") else metric.gauge.data_points
        for p in data:
            value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
            points.append((_attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano, value))
    return points


def _process(pid: int, ppid: int, name: str, *, at: int, rss: int, **changes: Any) -> ProcessUsage:
    values: dict[str, Any] = {
        "pid": pid, "ppid": ppid, "name": name, "cmd": f"{name} --password=hunter2 run",
        "create_time": T0 - 10 + pid / 1000, "status": "running",
        "cpu_user": 1.0 + 0.2 * at, "cpu_system": 0.05 * at, "cpu_percent": 50.0 if at else 0.0,
        "rss": rss, "vms": 4 * rss, "peak_rss": rss, "pss": None, "uss": None,
        "threads": 2 + at, "fds": 7, "read_bytes": 1000 * at, "write_bytes": 500 * at,
    }  # fmt: skip
    values.update(changes)
    return ProcessUsage(**values)


def samples() -> list[TreeSample]:
    """Four samples of a parent and a worker; the worker spikes to 500 MB at the third only."""
    result = []
    for index in range(4):
        worker_rss = 500 * MB if index == 2 else 40 * MB
        parent = _process(100, 1, "kedro", at=index, rss=90 * MB, pss=80 * MB)
        worker = _process(101, 100, "python3", at=index, rss=worker_rss, fds=None, read_bytes=None)
        result.append(
            TreeSample(
                timestamp=T0 + index * 0.5,
                interval=0.0 if index == 0 else 0.5,
                processes=(parent, worker),
                cpu_user=parent.cpu_user + worker.cpu_user + 3.0,  # 3 s of exited children
                cpu_system=parent.cpu_system + worker.cpu_system,
                cpu_percent=100.0 if index else 0.0,  # two processes at 50 %
                rss=parent.rss + worker.rss,
                vms=parent.vms + worker.vms,
                pss=70 * MB + index,
                peak_rss=max(130 * MB, 590 * MB if index >= 2 else 0),
                threads=parent.threads + worker.threads,
                fds=None,
                read_bytes=10_000 + index,
                write_bytes=20_000 + index,
            )
        )
    return result


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, list[TreeSample], KedroDurations]:
    chain = build_chain(
        ChainSpec((SCRUB_SECRETS, DROP_KEYS), drop_keys=("host.name", "process.executable.name")),
        PrivacySettings(),
    )
    writer = MetricsFileWriter(
        tmp_path,
        Resource({"service.name": "demo", "host.name": "secret-host", "kedro.version": "1.7"}),
        "9.9.9",
        attributes=chain.attributes,
    )
    sampled = samples()
    writer.add_samples(sampled[:3])  # the caller batches: two lines for four samples
    writer.add_samples(sampled[3:])
    durations = KedroDurations(start_time=T0)
    for seconds in (0.004, 0.3, 0.5, 0.5000001, 42.0):
        durations.record_node("train", seconds, keys.RESULT_SUCCESS)
    durations.record_node("train", 9000.0, keys.RESULT_FAILURE)
    durations.record_dataset("load", "companies", 0.02)
    durations.record_dataset("save", "model", 1.5)
    durations.record_run("__default__", 60.0, keys.RESULT_SUCCESS)
    writer.add_metrics(durations.metrics(now=T0 + 61))
    writer.close()
    return tmp_path / METRICS_FILE, sampled, durations


def test_every_line_is_one_otlp_request_and_the_privacy_function_ran(written: Any) -> None:
    path, _, _ = written
    requests = read_requests(path)
    assert len(requests) == 3
    for request in requests:
        assert len(request.resource_metrics) == 1
        resource = _attrs(request.resource_metrics[0].resource.attributes)
        assert resource == {"service.name": "demo", "kedro.version": "1.7"}  # host.name dropped
    text = path.read_text()
    assert "secret-host" not in text
    assert "python3" not in text  # the dropped point attribute
    assert "hunter2" not in text  # command lines are never written
    assert "--password" not in text
    for metric, points in metrics_by_name(requests).items():
        if metric.startswith("process."):
            for attributes, *_ in number_points(points):
                assert keys.PROCESS_EXECUTABLE_NAME not in attributes


def test_names_units_and_temporality_follow_the_process_conventions(written: Any) -> None:
    path, _, _ = written
    found = metrics_by_name(read_requests(path))
    expected = {
        keys.PROCESS_CPU_TIME: ("s", "sum", True),
        keys.PROCESS_CPU_UTILIZATION: ("1", "gauge", None),
        keys.PROCESS_MEMORY_USAGE: ("By", "sum", False),
        keys.PROCESS_MEMORY_VIRTUAL: ("By", "sum", False),
        keys.PROCESS_THREAD_COUNT: ("{thread}", "sum", False),
        keys.PROCESS_FILE_DESCRIPTOR_COUNT: ("{file_descriptor}", "sum", False),
        keys.PROCESS_DISK_IO: ("By", "sum", True),
        keys.KEDRO_PROCESS_MEMORY_PEAK: ("By", "gauge", None),
        keys.KEDRO_PROCESS_MEMORY_PSS: ("By", "sum", False),
        keys.KEDRO_NODE_DURATION: ("s", "histogram", None),
        keys.KEDRO_DATASET_LOAD_DURATION: ("s", "histogram", None),
        keys.KEDRO_DATASET_SAVE_DURATION: ("s", "histogram", None),
        keys.KEDRO_RUN_DURATION: ("s", "histogram", None),
    }
    assert set(found) == set(expected)
    for name, (unit, kind, monotonic) in expected.items():
        for metric in found[name]:
            assert metric.unit == unit, name
            assert metric.WhichOneof("data") == kind, name
            assert metric.description
            if kind in ("sum", "histogram"):
                data = getattr(metric, kind)
                assert data.aggregation_temporality == (
                    AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
                ), name
            if kind == "sum":
                assert metric.sum.is_monotonic is monotonic, name


def test_every_sample_is_its_own_point_so_the_spike_survives(written: Any) -> None:
    path, sampled, _ = written
    found = metrics_by_name(read_requests(path))
    memory = number_points(found[keys.PROCESS_MEMORY_USAGE])
    worker = [(at, value) for attrs, _, at, value in memory if attrs.get(keys.PROCESS_PID) == 101]
    assert worker == [(_ns(s.timestamp), s.processes[1].rss) for s in sampled]
    assert (_ns(T0 + 1.0), 500 * MB) in worker
    tree = [(at, value) for attrs, _, at, value in memory if not attrs]
    assert tree == [(_ns(s.timestamp), s.rss) for s in sampled]
    peaks = number_points(found[keys.KEDRO_PROCESS_MEMORY_PEAK])
    assert [value for attrs, _, _, value in peaks if not attrs] == [s.peak_rss for s in sampled]
    assert max(value for attrs, _, _, value in peaks if not attrs) == 590 * MB
    pss = number_points(found[keys.KEDRO_PROCESS_MEMORY_PSS])
    assert [value for attrs, _, _, value in pss if not attrs] == [70 * MB + i for i in range(4)]
    assert {attrs.get(keys.PROCESS_PID) for attrs, *_ in pss} == {None, 100}  # worker has none


def test_tree_points_have_no_pid_and_process_points_name_their_process(written: Any) -> None:
    path, sampled, _ = written
    found = metrics_by_name(read_requests(path))
    for name in (keys.PROCESS_MEMORY_VIRTUAL, keys.PROCESS_THREAD_COUNT):
        points = number_points(found[name])
        assert len(points) == 3 * len(sampled)  # tree, parent, worker at every sample
        for attributes, *_ in points:
            assert attributes in ({}, {keys.PROCESS_PID: 100, keys.PROCESS_PARENT_PID: 1},
                                  {keys.PROCESS_PID: 101, keys.PROCESS_PARENT_PID: 100})  # fmt: skip
    fds = number_points(found[keys.PROCESS_FILE_DESCRIPTOR_COUNT])
    assert {attrs.get(keys.PROCESS_PID) for attrs, *_ in fds} == {100}  # None elsewhere: no point


def test_cumulative_counters_carry_modes_directions_and_fixed_start_times(written: Any) -> None:
    path, sampled, _ = written
    found = metrics_by_name(read_requests(path))
    cpu = number_points(found[keys.PROCESS_CPU_TIME])
    tree_start = _ns(min(p.create_time for p in sampled[0].processes))
    for mode, field in ((keys.CPU_MODE_USER, "cpu_user"), (keys.CPU_MODE_SYSTEM, "cpu_system")):
        tree = [(start, at, v) for attrs, start, at, v in cpu if attrs == {keys.CPU_MODE: mode}]
        assert tree == [(tree_start, _ns(s.timestamp), getattr(s, field)) for s in sampled]
        worker = [
            (start, v)
            for attrs, start, _, v in cpu
            if attrs.get(keys.PROCESS_PID) == 101 and attrs[keys.CPU_MODE] == mode
        ]
        created = _ns(sampled[0].processes[1].create_time)
        assert worker == [(created, getattr(s.processes[1], field)) for s in sampled]
    disk = number_points(found[keys.PROCESS_DISK_IO])
    for direction, field in (
        (keys.DISK_IO_READ, "read_bytes"),
        (keys.DISK_IO_WRITE, "write_bytes"),
    ):
        tree = [v for attrs, _, _, v in disk if attrs == {keys.DISK_IO_DIRECTION: direction}]
        assert tree == [getattr(s, field) for s in sampled]
    worker_directions = [
        a[keys.DISK_IO_DIRECTION] for a, *_ in disk if a.get(keys.PROCESS_PID) == 101
    ]
    assert worker_directions == [keys.DISK_IO_WRITE] * len(sampled)  # its read_bytes is None


def test_utilization_is_cpu_time_over_elapsed_time_and_available_cpus(written: Any) -> None:
    path, sampled, _ = written
    found = metrics_by_name(read_requests(path))
    points = number_points(found[keys.PROCESS_CPU_UTILIZATION])
    cpus = available_cpus()
    tree = [(at, value) for attrs, _, at, value in points if not attrs]
    # None for the first sample: it has no interval to measure over.
    assert tree == [
        (_ns(s.timestamp), pytest.approx(s.cpu_percent / 100 / cpus)) for s in sampled[1:]
    ]
    # The convention's definition, from the cumulative points in the same file.
    cpu = number_points(found[keys.PROCESS_CPU_TIME])
    for pid in (None, 100, 101):
        totals: dict[int, float] = {}
        for attrs, _, at, value in cpu:
            if attrs.get(keys.PROCESS_PID) == pid:
                totals[at] = totals.get(at, 0.0) + value
        times = sorted(totals)
        expected = [
            (totals[b] - totals[a]) / ((b - a) / 1e9) / cpus for a, b in itertools.pairwise(times)
        ]
        measured = [v for attrs, _, _, v in points if attrs.get(keys.PROCESS_PID) == pid]
        assert measured == pytest.approx(expected)
        assert all(v > 0 for v in measured)


def test_histograms_count_sum_and_bucket_every_duration(written: Any) -> None:
    path, _, _ = written
    found = metrics_by_name(read_requests(path))
    (node,) = found[keys.KEDRO_NODE_DURATION]
    by_result = {
        _attrs(p.attributes)[keys.CICD_TASK_RUN_RESULT]: p for p in node.histogram.data_points
    }
    success = by_result[keys.RESULT_SUCCESS]
    assert _attrs(success.attributes)[keys.CICD_TASK_NAME] == "train"
    values = (0.004, 0.3, 0.5, 0.5000001, 42.0)
    assert success.count == 5
    assert success.sum == pytest.approx(sum(values))
    assert (success.min, success.max) == (0.004, 42.0)
    assert list(success.explicit_bounds) == list(DURATION_BUCKETS)
    bounds = [float("-inf"), *DURATION_BUCKETS, float("inf")]
    expected = [sum(lo < v <= hi for v in values) for lo, hi in itertools.pairwise(bounds)]
    assert list(success.bucket_counts) == expected
    assert expected[DURATION_BUCKETS.index(0.5)] == 2  # 0.5 is in (0.25, 0.5]; 0.5000001 is not
    assert expected[DURATION_BUCKETS.index(1.0)] == 1
    assert by_result[keys.RESULT_FAILURE].bucket_counts[-1] == 1  # 9000 s: the overflow bucket
    assert success.start_time_unix_nano == _ns(T0)
    assert success.time_unix_nano == _ns(T0 + 61)
    (load,) = found[keys.KEDRO_DATASET_LOAD_DURATION]
    (save,) = found[keys.KEDRO_DATASET_SAVE_DURATION]
    assert _attrs(load.histogram.data_points[0].attributes) == {
        keys.KEDRO_DATASET_NAME: "companies"
    }
    assert _attrs(save.histogram.data_points[0].attributes) == {keys.KEDRO_DATASET_NAME: "model"}
    assert save.histogram.data_points[0].sum == 1.5
    (run,) = found[keys.KEDRO_RUN_DURATION]
    assert _attrs(run.histogram.data_points[0].attributes) == {
        keys.CICD_PIPELINE_NAME: "__default__",
        keys.CICD_PIPELINE_RESULT: keys.RESULT_SUCCESS,
    }


def test_durations_from_many_threads_are_all_counted() -> None:
    durations = KedroDurations()
    threads = [
        threading.Thread(
            target=lambda n=n: [durations.record_node(f"node{n % 2}", 0.001 * (i % 7), "success")
                                for i in range(2000)]
        )
        for n in range(8)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    durations.record_node("node0", -1.0, "success")  # a clock step: ignored
    durations.record_node("node0", float("nan"), "success")
    (metric,) = durations.metrics()
    points = metric.data.data_points
    assert sorted(p.attributes[keys.CICD_TASK_NAME] for p in points) == ["node0", "node1"]
    assert sum(p.count for p in points) == 16_000
    assert all(sum(p.bucket_counts) == p.count for p in points)
    assert sum(p.sum for p in points) == pytest.approx(
        8 * sum(0.001 * (i % 7) for i in range(2000))
    )
    with pytest.raises(ValueError, match="load"):
        durations.record_dataset("delete", "x", 1.0)  # type: ignore[arg-type]


def test_nothing_is_written_for_nothing_and_closed_writers_refuse(tmp_path: Path) -> None:
    writer = MetricsFileWriter(tmp_path, Resource({}), "9.9.9")
    writer.add_samples([])
    writer.add_metrics([])
    assert writer.path.read_text() == ""
    writer.add_samples(samples()[:1])
    line = writer.path.read_text()
    assert line.count("\n") == 1
    assert json.loads(line)["resourceMetrics"]
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add_samples(samples()[:1])
    assert writer.path.read_text() == line


def test_a_given_start_time_starts_every_tree_series_on_every_line(tmp_path: Path) -> None:
    writer = MetricsFileWriter(tmp_path, Resource({}), "9.9.9", start_time=T0 - 100)
    for sample in samples():
        writer.add_samples([sample])
    writer.close()
    requests = read_requests(tmp_path / METRICS_FILE)
    assert len(requests) == 4
    cpu = number_points(metrics_by_name(requests)[keys.PROCESS_CPU_TIME])
    assert {start for attrs, start, _, _ in cpu if keys.PROCESS_PID not in attrs} == {_ns(T0 - 100)}
