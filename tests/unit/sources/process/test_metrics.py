"""The sampler's samples as metric series (read as the SDK's metric objects), every point of every sample (``window=None``; see
test_windows.py for what a run writes), named by the process conventions."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import AggregationTemporality, Gauge, Metric, Sum

from otel_kedro import attributes as keys
from otel_kedro.model.usage import TreeSample
from otel_kedro.sources.process.metrics import ProcessMetrics, available_cpus, process_series
from tests.support.sdk_metrics import sdk_metrics
from tests.support.usage_samples import MB, T0, ns, process, samples

CPUS = 4
Point = tuple[dict[str, Any], int, int, float]


def _sdk(metrics: ProcessMetrics, samples: list[TreeSample]) -> list[Metric]:
    """The series as the SDK's metric objects (what the OTLP encoders take)."""
    return sdk_metrics(metrics.series(samples))


def by_name(metrics: list[Metric]) -> dict[str, Metric]:
    found = {metric.name: metric for metric in metrics}
    assert len(found) == len(metrics)  # one Metric per name, every point in it
    return found


def points(metric: Metric) -> list[Point]:
    assert isinstance(metric.data, Sum | Gauge)
    return [
        (dict(p.attributes or {}), p.start_time_unix_nano, p.time_unix_nano, p.value)
        for p in metric.data.data_points
    ]


@pytest.fixture
def sampled() -> list[TreeSample]:
    return samples()


@pytest.fixture
def found(sampled: list[TreeSample]) -> dict[str, Metric]:
    return by_name(_sdk(ProcessMetrics(window=None, cpus=CPUS), sampled))


def test_names_units_and_temporality_follow_the_process_conventions(
    found: dict[str, Metric],
) -> None:
    expected = {
        keys.PROCESS_CPU_TIME: ("s", Sum, True),
        keys.PROCESS_CPU_UTILIZATION: ("1", Gauge, None),
        keys.PROCESS_MEMORY_USAGE: ("By", Sum, False),
        keys.PROCESS_MEMORY_VIRTUAL: ("By", Sum, False),
        keys.PROCESS_THREAD_COUNT: ("{thread}", Sum, False),
        keys.PROCESS_FILE_DESCRIPTOR_COUNT: ("{file_descriptor}", Sum, False),
        keys.PROCESS_DISK_IO: ("By", Sum, True),
        keys.KEDRO_PROCESS_MEMORY_PEAK: ("By", Gauge, None),
        keys.KEDRO_PROCESS_MEMORY_PSS: ("By", Sum, False),
    }
    assert set(found) == set(expected)
    for name, (unit, kind, monotonic) in expected.items():
        metric = found[name]
        assert metric.unit == unit, name
        assert isinstance(metric.data, kind), name
        assert metric.description
        if isinstance(metric.data, Sum):
            assert metric.data.aggregation_temporality == AggregationTemporality.CUMULATIVE
            assert metric.data.is_monotonic is monotonic, name


def test_command_lines_are_never_in_the_metrics(found: dict[str, Metric]) -> None:
    text = repr(list(found.values()))
    assert "hunter2" not in text
    assert "--password" not in text


def test_every_sample_is_its_own_point_so_the_spike_survives(
    found: dict[str, Metric], sampled: list[TreeSample]
) -> None:
    memory = points(found[keys.PROCESS_MEMORY_USAGE])
    worker = [(at, value) for attrs, _, at, value in memory if attrs.get(keys.PROCESS_PID) == 101]
    assert worker == [(ns(s.timestamp), s.processes[1].rss) for s in sampled]
    assert (ns(T0 + 1.0), 500 * MB) in worker
    tree = [(at, value) for attrs, _, at, value in memory if not attrs]
    assert tree == [(ns(s.timestamp), s.rss) for s in sampled]
    peaks = points(found[keys.KEDRO_PROCESS_MEMORY_PEAK])
    assert [value for attrs, _, _, value in peaks if not attrs] == [s.peak_rss for s in sampled]
    assert max(value for attrs, _, _, value in peaks if not attrs) == 590 * MB
    pss = points(found[keys.KEDRO_PROCESS_MEMORY_PSS])
    assert [value for attrs, _, _, value in pss if not attrs] == [70 * MB + i for i in range(4)]
    assert {attrs.get(keys.PROCESS_PID) for attrs, *_ in pss} == {None, 100}  # worker has none


def test_tree_points_have_no_pid_and_process_points_name_their_process(
    found: dict[str, Metric], sampled: list[TreeSample]
) -> None:
    parent = {
        keys.PROCESS_PID: 100,
        keys.PROCESS_PARENT_PID: 1,
        keys.PROCESS_EXECUTABLE_NAME: "kedro",
    }
    worker = {keys.PROCESS_PID: 101, keys.PROCESS_PARENT_PID: 100,
              keys.PROCESS_EXECUTABLE_NAME: "python3"}  # fmt: skip
    for name in (keys.PROCESS_MEMORY_VIRTUAL, keys.PROCESS_THREAD_COUNT):
        found_points = points(found[name])
        assert len(found_points) == 3 * len(sampled)  # tree, parent, worker at every sample
        for attributes, *_ in found_points:
            assert attributes in ({}, parent, worker)
    fds = points(found[keys.PROCESS_FILE_DESCRIPTOR_COUNT])
    assert {attrs.get(keys.PROCESS_PID) for attrs, *_ in fds} == {100}  # None elsewhere: no point


def test_cumulative_counters_carry_modes_directions_and_fixed_start_times(
    found: dict[str, Metric], sampled: list[TreeSample]
) -> None:
    cpu = points(found[keys.PROCESS_CPU_TIME])
    tree_start = ns(min(p.create_time for p in sampled[0].processes))
    for mode, field in ((keys.CPU_MODE_USER, "cpu_user"), (keys.CPU_MODE_SYSTEM, "cpu_system")):
        tree = [(start, at, v) for attrs, start, at, v in cpu if attrs == {keys.CPU_MODE: mode}]
        assert tree == [(tree_start, ns(s.timestamp), getattr(s, field)) for s in sampled]
        worker = [
            (start, v)
            for attrs, start, _, v in cpu
            if attrs.get(keys.PROCESS_PID) == 101 and attrs[keys.CPU_MODE] == mode
        ]
        created = ns(sampled[0].processes[1].create_time)
        assert worker == [(created, getattr(s.processes[1], field)) for s in sampled]
    disk = points(found[keys.PROCESS_DISK_IO])
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


def test_utilization_is_cpu_time_over_elapsed_time_and_available_cpus(
    found: dict[str, Metric], sampled: list[TreeSample]
) -> None:
    utilization = points(found[keys.PROCESS_CPU_UTILIZATION])
    tree = [(start, at, value) for attrs, start, at, value in utilization if not attrs]
    # None for the first sample: it has no interval to measure over; each spans its interval.
    assert tree == [
        (ns(s.timestamp - s.interval), ns(s.timestamp), pytest.approx(s.cpu_percent / 100 / CPUS))
        for s in sampled[1:]
    ]
    # The convention's definition, from the cumulative points of the same batch.
    cpu = points(found[keys.PROCESS_CPU_TIME])
    for pid in (None, 100, 101):
        totals: dict[int, float] = {}
        for attrs, _, at, value in cpu:
            if attrs.get(keys.PROCESS_PID) == pid:
                totals[at] = totals.get(at, 0.0) + value
        times = sorted(totals)
        expected = [
            (totals[b] - totals[a]) / ((b - a) / 1e9) / CPUS for a, b in itertools.pairwise(times)
        ]
        measured = [v for attrs, _, _, v in utilization if attrs.get(keys.PROCESS_PID) == pid]
        assert measured == pytest.approx(expected)
        assert all(v > 0 for v in measured)


def test_available_cpus_is_the_default() -> None:
    assert available_cpus() >= 1
    sample = samples()[1]
    (tree,) = [
        value
        for attrs, _, _, value in points(
            by_name(_sdk(ProcessMetrics(window=None), [sample]))[keys.PROCESS_CPU_UTILIZATION]
        )
        if not attrs
    ]
    assert tree == pytest.approx(sample.cpu_percent / 100 / available_cpus())


def test_a_given_start_time_starts_every_tree_series_on_every_batch() -> None:
    metrics = ProcessMetrics(window=None, start_time=T0 - 100, cpus=CPUS)
    starts = set()
    for sample in samples():
        cpu = points(by_name(_sdk(metrics, [sample]))[keys.PROCESS_CPU_TIME])
        starts |= {start for attrs, start, _, _ in cpu if keys.PROCESS_PID not in attrs}
    assert starts == {ns(T0 - 100)}


def test_the_tree_start_is_fixed_by_the_first_batch() -> None:
    first, *rest = samples()
    metrics = ProcessMetrics(window=None, cpus=CPUS)
    _sdk(metrics, [first])
    older = process(102, 100, "python3", at=1, rss=MB, create_time=T0 - 1000)
    later = rest[0]._replace(processes=(*rest[0].processes, older))
    cpu = points(by_name(_sdk(metrics, [later]))[keys.PROCESS_CPU_TIME])
    tree_starts = {start for attrs, start, _, _ in cpu if keys.PROCESS_PID not in attrs}
    assert tree_starts == {ns(min(p.create_time for p in first.processes))}
    # A process's series starts at its creation, whenever it joined.
    assert {s for a, s, _, _ in cpu if a.get(keys.PROCESS_PID) == 102} == {ns(T0 - 1000)}


def test_a_first_sample_without_processes_starts_one_interval_before_it() -> None:
    empty = samples()[1]._replace(processes=())
    cpu = points(
        by_name(_sdk(ProcessMetrics(window=None, cpus=CPUS), [empty]))[keys.PROCESS_CPU_TIME]
    )
    assert {start for _, start, _, _ in cpu} == {ns(empty.timestamp - empty.interval)}


def test_a_start_time_after_the_first_sample_is_clamped_to_it() -> None:
    first = samples()[0]
    metrics = ProcessMetrics(window=None, start_time=first.timestamp + 60, cpus=CPUS)
    cpu = points(by_name(_sdk(metrics, [first]))[keys.PROCESS_CPU_TIME])
    assert {start for attrs, start, _, _ in cpu if not attrs.get(keys.PROCESS_PID)} == {
        ns(first.timestamp)
    }


def test_nothing_for_nothing_and_batches_from_many_threads() -> None:
    metrics = ProcessMetrics(window=None, cpus=CPUS)
    assert metrics.series([]) == []
    assert process_series([], start_time=T0, cpus=CPUS) == []
    sampled = samples()
    results: list[list[Metric]] = []
    threads = [
        threading.Thread(target=lambda: results.append(_sdk(metrics, sampled))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    tree_starts = {
        start
        for result in results
        for attrs, start, _, _ in points(by_name(result)[keys.PROCESS_CPU_TIME])
        if keys.PROCESS_PID not in attrs
    }
    assert tree_starts == {ns(min(p.create_time for p in sampled[0].processes))}
