"""What a run writes of its samples: the tree's CPU time and RSS at every sample, everything else
one point per series per window, each a real sample (the window's peak, or its last value for a
counter), so no peak is lost and an hour of five processes stays under 5 MB."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_kedro import attributes as keys
from otel_kedro.config.settings import Settings
from otel_kedro.model.metric_series import MetricSeries
from otel_kedro.model.usage import ProcessUsage, TreeSample
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.usage import RunUsage
from otel_kedro.sources.kedro.node_usage import NodeUsageMeter
from otel_kedro.sources.process.metrics import ProcessMetrics
from otel_kedro.sources.process.windows import WINDOW_S, Windows
from otel_kedro.sources.resource import build_resource
from tests.support.otlp_metrics import metrics_by_name, number_points, read_requests
from tests.support.usage_samples import MB, T0, ns, process

CPUS = 2
# The figures kept as the window's highest sample, and those kept as its last.
HIGHS = {
    keys.PROCESS_MEMORY_USAGE: "rss",
    keys.PROCESS_MEMORY_VIRTUAL: "vms",
    keys.KEDRO_PROCESS_MEMORY_PEAK: "peak_rss",
    keys.PROCESS_THREAD_COUNT: "threads",
    keys.PROCESS_FILE_DESCRIPTOR_COUNT: "fds",
}
LASTS = {
    (keys.PROCESS_CPU_TIME, keys.CPU_MODE_USER): "cpu_user",
    (keys.PROCESS_CPU_TIME, keys.CPU_MODE_SYSTEM): "cpu_system",
    (keys.PROCESS_DISK_IO, keys.DISK_IO_READ): "read_bytes",
    (keys.PROCESS_DISK_IO, keys.DISK_IO_WRITE): "write_bytes",
}
Point = tuple[dict[str, Any], int, int, float]


def tree_of(timestamp: float, interval: float, processes: tuple[ProcessUsage, ...]) -> TreeSample:
    return TreeSample(
        timestamp=timestamp, interval=interval, processes=processes,
        cpu_user=sum(p.cpu_user for p in processes) + 1.0,
        cpu_system=sum(p.cpu_system for p in processes),
        cpu_percent=sum(p.cpu_percent for p in processes),
        rss=sum(p.rss for p in processes), vms=sum(p.vms for p in processes), pss=None,
        peak_rss=max([p.peak_rss for p in processes] or [0]) * 2,
        threads=sum(p.threads for p in processes), fds=None,
        read_bytes=sum(p.read_bytes or 0 for p in processes),
        write_bytes=sum(p.write_bytes or 0 for p in processes),
    )  # fmt: skip


def run_samples(count: int, workers: int, interval: float, seed: int) -> list[TreeSample]:
    """``count`` samples of a parent and ``workers`` children with random memory and CPU; a
    worker that exits part-way; counters that only grow."""
    rnd = random.Random(seed)  # noqa: S311 - reproducible test data
    result = []
    peaks: dict[int, int] = {}
    for index in range(count):
        processes = []
        for pid in range(100, 101 + workers):
            if pid == 101 and index > count // 2:
                continue  # this worker has exited
            rss = rnd.randrange(10, 900) * MB
            peaks[pid] = max(peaks.get(pid, 0), rss)
            processes.append(
                process(
                    pid,
                    1 if pid == 100 else 100,
                    "python3",
                    at=index,
                    rss=rss,
                    vms=rss * 3 + rnd.randrange(MB),
                    peak_rss=peaks[pid],
                    threads=rnd.randrange(1, 40),
                    fds=rnd.randrange(3, 60),
                    cpu_percent=rnd.uniform(0, 100) if index else 0.0,
                )
            )
        result.append(tree_of(T0 + index * interval, interval if index else 0.0, tuple(processes)))
    return result


def everything(
    metrics: ProcessMetrics, samples: list[TreeSample], batch: int
) -> list[MetricSeries]:
    """What the writer gets: the samples in batches, then the open window at the end."""
    found: list[MetricSeries] = []
    for start in range(0, len(samples), batch):
        found += metrics.series(samples[start : start + batch])
    return found + metrics.flush_series()


def points_of(series: list[MetricSeries]) -> Iterator[tuple[str, Point]]:
    for one in series:
        for p in one.points:
            yield one.name, (dict(p.attributes), p.start_ns, p.time_ns, p.value)


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(1, 200),
    workers=st.integers(1, 4),
    interval=st.sampled_from([0.5, 1.0, 7.0, 45.0]),
    batch=st.integers(1, 70),
    seed=st.integers(0, 2**16),
)
def test_every_point_is_a_sample_and_every_peak_and_total_survives(
    count: int, workers: int, interval: float, batch: int, seed: int
) -> None:
    samples = run_samples(count, workers, interval, seed)
    written = list(points_of(everything(ProcessMetrics(start_time=T0, cpus=CPUS), samples, batch)))
    windows = {int(i * interval // WINDOW_S) for i in range(count)}
    for pid in {p.pid for s in samples for p in s.processes}:
        seen = [(ns(s.timestamp), p) for s in samples for p in s.processes if p.pid == pid]
        mine = [(name, pt) for name, pt in written if pt[0].get(keys.PROCESS_PID) == pid]
        by_time = dict(seen)
        for name, field in HIGHS.items():
            series = [pt for n, pt in mine if n == name]
            assert len(series) <= len(windows)
            # Each point is a real sample of that process, and the highest one is kept.
            assert all(getattr(by_time[at], field) == value for _, _, at, value in series)
            assert max(v for *_, v in series) == max(getattr(p, field) for _, p in seen)
            assert [at for _, _, at, _ in series] == sorted(at for _, _, at, _ in series)
        for (name, mode), field in LASTS.items():
            series = [pt for n, pt in mine if n == name and mode in pt[0].values()]
            if getattr(seen[-1][1], field) is None:
                continue
            assert series[-1][2:] == (seen[-1][0], getattr(seen[-1][1], field)), (name, mode)
        busiest = max(p.cpu_percent for _, p in seen[1:] or seen) if count > 1 else None
        utilization = [pt for n, pt in mine if n == keys.PROCESS_CPU_UTILIZATION]
        if busiest is not None and count > 1:
            assert max(v for *_, v in utilization) == pytest.approx(busiest / 100 / CPUS)
    tree = [(n, pt) for n, pt in written if keys.PROCESS_PID not in pt[0]]
    rss = [pt for n, pt in tree if n == keys.PROCESS_MEMORY_USAGE]
    assert [(at, v) for _, _, at, v in rss] == [(ns(s.timestamp), s.rss) for s in samples]
    cpu = [pt for n, pt in tree if n == keys.PROCESS_CPU_TIME]
    assert len(cpu) == 2 * count  # user and system, at every sample
    peak = [v for n, (*_, v) in tree if n == keys.KEDRO_PROCESS_MEMORY_PEAK]
    assert max(peak) == max(s.peak_rss for s in samples)


def test_a_process_that_exits_mid_window_keeps_its_points_there() -> None:
    parent = process(100, 1, "kedro", at=1, rss=90 * MB)
    child = process(200, 100, "sh", at=1, rss=700 * MB)
    samples = [tree_of(T0 + 1, 1.0, (parent, child)), tree_of(T0 + 2, 1.0, (parent,))]
    metrics = ProcessMetrics(start_time=T0, cpus=CPUS)
    during = metrics.series(samples)
    assert not [p for one in during for p in one.points if keys.PROCESS_PID in p.attributes]
    closed = metrics.flush_series()
    memory = {p.attributes.get(keys.PROCESS_PID): (p.time_ns, p.value) for one in closed
              if one.name == keys.PROCESS_MEMORY_USAGE for p in one.points}  # fmt: skip
    assert memory[200] == (ns(T0 + 1), 700 * MB)
    assert metrics.flush_series() == [], "nothing twice"


def test_a_window_must_be_a_positive_number_of_seconds() -> None:
    for window in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="window"):
            Windows(T0, window, CPUS)


def test_an_hour_of_five_processes_at_one_second_stays_under_5_mb(tmp_path: Path) -> None:
    """3,600 samples of a parent and four workers through the run's own writer (the files chain,
    the con-duct report schedule, the SDK's OTLP JSON encoder), decoded with opentelemetry-proto:
    under 5 MB (about 56 MB with every point), the tree at every sample, each process's RSS at
    every window with its peak."""
    usage = RunUsage(
        tmp_path,
        Settings(summary=False),
        destination_chain(Settings().privacy, "files"),
        build_resource("demo"),
        NodeUsageMeter(),
    )
    samples = [
        s._replace(timestamp=s.timestamp - T0 + usage.started)
        for s in run_samples(3600, 4, 1.0, seed=7)
    ]
    for sample in samples:
        usage.add_sample(sample)
    usage.finish(keys.RESULT_SUCCESS)
    size = (tmp_path / "metrics.jsonl").stat().st_size
    assert size < 5_000_000, f"{size / 1e6:.2f} MB"
    found = metrics_by_name(read_requests(tmp_path / "metrics.jsonl"))
    memory = number_points(found[keys.PROCESS_MEMORY_USAGE])
    tree = [v for a, _, _, v in memory if not a]
    # (finishing takes one real sample of this test's process: the last point)
    assert tree[: len(samples)] == [s.rss for s in samples]
    windows = 3600 // int(WINDOW_S)
    for pid in range(100, 105):
        mine = [v for a, _, _, v in memory if a.get(keys.PROCESS_PID) == pid]
        expected = [p.rss for s in samples for p in s.processes if p.pid == pid]
        assert max(mine) == max(expected)
        assert len(mine) == (windows if pid != 101 else windows // 2 + 1)
    peaks = number_points(found[keys.KEDRO_PROCESS_MEMORY_PEAK])
    assert max(v for a, _, _, v in peaks if not a) == max(s.peak_rss for s in samples)
