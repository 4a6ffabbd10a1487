"""Kedro's duration histograms: what each holds, buckets, start times, threads, the summary's
nodes, and what their points cost in ``metrics.jsonl``."""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import metrics as otel_metrics
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
)

from otel_kedro import attributes as keys
from otel_kedro.exporters.metrics_line import metrics_request
from otel_kedro.model.usage import NodeFigure
from otel_kedro.sources.kedro.durations import (
    DURATION_BUCKETS,
    TOP_NODES,
    KedroDurations,
    in_chunks,
)
from tests.support.sdk_metrics import sdk_metrics
from tests.support.usage_samples import T0, ns

NODE_VALUES = (0.004, 0.3, 0.5, 0.5000001, 42.0)
CSV = "kedro_datasets.pandas.CSVDataset"


def metrics_of(durations: KedroDurations, now: float | None = None) -> list[Metric]:
    """The recorded histograms as the SDK's metric objects (what the OTLP encoders take)."""
    return sdk_metrics(durations.series(now))


def by_name(metrics: list[Metric]) -> dict[str, Metric]:
    return {metric.name: metric for metric in metrics}


def hist_points(metric: Metric) -> list[HistogramDataPoint]:
    assert isinstance(metric.data, Histogram)
    return list(metric.data.data_points)


def attributes(point: HistogramDataPoint) -> dict[str, Any]:
    return dict(point.attributes or {})


@pytest.fixture
def recorded() -> KedroDurations:
    durations = KedroDurations(start_time=T0)
    for seconds in NODE_VALUES:
        durations.record_node("train", seconds, keys.RESULT_SUCCESS)
    durations.record_node("train", 9000.0, keys.RESULT_FAILURE)
    durations.record_dataset("load", CSV, 0.02)
    durations.record_dataset("load", CSV, 0.3)
    durations.record_dataset("save", None, 1.5)
    durations.record_run("__default__", 60.0, keys.RESULT_SUCCESS)
    return durations


def test_names_units_descriptions_and_cumulative_temporality(recorded: KedroDurations) -> None:
    found = by_name(metrics_of(recorded, now=T0 + 61))
    assert list(found) == [
        keys.KEDRO_NODE_DURATION,
        keys.KEDRO_DATASET_LOAD_DURATION,
        keys.KEDRO_DATASET_SAVE_DURATION,
        keys.KEDRO_RUN_DURATION,
    ]
    for metric in found.values():
        assert metric.unit == "s"
        assert metric.description.startswith("Wall time of a Kedro")
        assert isinstance(metric.data, Histogram)
        assert metric.data.aggregation_temporality == AggregationTemporality.CUMULATIVE
        for point in metric.data.data_points:
            assert point.exemplars == []  # no trace ids
            assert point.start_time_unix_nano == ns(T0)
            assert point.time_unix_nano == ns(T0 + 61)


def test_nodes_have_one_series_each_without_buckets(recorded: KedroDurations) -> None:
    node = hist_points(by_name(metrics_of(recorded, now=T0 + 61))[keys.KEDRO_NODE_DURATION])
    by_result = {attributes(p)[keys.CICD_TASK_RUN_RESULT]: p for p in node}
    success = by_result[keys.RESULT_SUCCESS]
    assert attributes(success) == {
        keys.CICD_TASK_NAME: "train",
        keys.CICD_TASK_RUN_RESULT: keys.RESULT_SUCCESS,
    }
    assert (success.count, success.min, success.max) == (5, 0.004, 42.0)
    assert success.sum == pytest.approx(sum(NODE_VALUES))
    assert (list(success.bucket_counts), list(success.explicit_bounds)) == ([], [])
    failure = by_result[keys.RESULT_FAILURE]
    # One value: min and max would only repeat the sum, so they are left out.
    assert (failure.count, failure.sum, failure.min, failure.max) == (1, 9000.0, None, None)


def test_datasets_by_type_and_runs_have_buckets(recorded: KedroDurations) -> None:
    found = by_name(metrics_of(recorded, now=T0 + 61))
    (load,) = hist_points(found[keys.KEDRO_DATASET_LOAD_DURATION])
    assert attributes(load) == {keys.KEDRO_DATASET_TYPE: CSV}
    assert (load.count, load.min, load.max) == (2, 0.02, 0.3)
    assert list(load.explicit_bounds) == list(DURATION_BUCKETS)
    bounds = [-math.inf, *DURATION_BUCKETS, math.inf]
    expected = [sum(lo < v <= hi for v in (0.02, 0.3)) for lo, hi in itertools.pairwise(bounds)]
    assert list(load.bucket_counts) == expected
    (save,) = hist_points(found[keys.KEDRO_DATASET_SAVE_DURATION])
    assert attributes(save) == {}  # no type known
    assert save.sum == 1.5
    (run,) = hist_points(found[keys.KEDRO_RUN_DURATION])
    assert attributes(run) == {
        keys.CICD_PIPELINE_NAME: "__default__",
        keys.CICD_PIPELINE_RESULT: keys.RESULT_SUCCESS,
    }
    assert (run.count, run.sum, run.min, run.max) == (1, 60.0, 60.0, 60.0)
    assert run.bucket_counts[DURATION_BUCKETS.index(60.0)] == 1


def test_bucket_edges_are_lower_exclusive_upper_inclusive() -> None:
    durations = KedroDurations(boundaries=(1.0, 2.0))
    for seconds in (0.0, 1.0, 1.0000001, 2.0, 2.5):
        durations.record_run("p", seconds, keys.RESULT_SUCCESS)
    ((point,),) = [hist_points(m) for m in metrics_of(durations)]
    assert list(point.bucket_counts) == [2, 2, 1]  # (-inf, 1] (1, 2] (2, inf)


def test_boundaries_are_sorted_deduplicated_and_must_be_finite() -> None:
    durations = KedroDurations(boundaries=(10, 1, 5, 1))
    durations.record_dataset("load", CSV, 3.0)
    ((point,),) = [hist_points(m) for m in metrics_of(durations)]
    assert list(point.explicit_bounds) == [1.0, 5.0, 10.0]
    assert list(point.bucket_counts) == [0, 1, 0, 0]
    with pytest.raises(ValueError, match="finite"):
        KedroDurations(boundaries=(1.0, math.inf))


def test_without_start_time_each_series_starts_at_its_first_value() -> None:
    durations = KedroDurations()
    before = time.time_ns()
    durations.record_node("a", 1.0, keys.RESULT_SUCCESS)
    between = time.time_ns()
    durations.record_node("b", 1.0, keys.RESULT_SUCCESS)
    durations.record_node("a", 2.0, keys.RESULT_SUCCESS)
    after = time.time_ns()
    (metric,) = metrics_of(durations)
    after_collection = time.time_ns()
    starts = {
        attributes(p)[keys.CICD_TASK_NAME]: p.start_time_unix_nano for p in hist_points(metric)
    }
    assert before <= starts["a"] <= between <= starts["b"] <= after
    for point in hist_points(metric):
        assert after <= point.time_unix_nano <= after_collection


def test_nothing_recorded_gives_no_metrics() -> None:
    durations = KedroDurations(start_time=T0)
    assert metrics_of(durations) == []
    durations.record_node("n", -1.0, keys.RESULT_SUCCESS)
    durations.observe("kedro run", {keys.PROCESS_PID: 1}, 3.0)  # a command span: not timed here
    assert metrics_of(durations, now=T0 + 1) == []


def test_durations_from_many_threads_are_all_counted() -> None:
    durations = KedroDurations()
    threads = [
        threading.Thread(
            target=lambda n=n: [durations.record_run(f"p{n % 2}", 0.001 * (i % 7), "success")
                                for i in range(2000)]
        )
        for n in range(8)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    durations.record_run("p0", -1.0, "success")  # a clock step: ignored
    durations.record_run("p0", float("nan"), "success")
    durations.record_run("p0", float("inf"), "success")
    (metric,) = metrics_of(durations)
    points = hist_points(metric)
    assert sorted(attributes(p)[keys.CICD_PIPELINE_NAME] for p in points) == ["p0", "p1"]
    assert sum(p.count for p in points) == 16_000
    assert all(sum(p.bucket_counts) == p.count for p in points)
    assert sum(p.sum for p in points) == pytest.approx(
        8 * sum(0.001 * (i % 7) for i in range(2000))
    )
    with pytest.raises(ValueError, match="load"):
        durations.record_dataset("delete", "x", 1.0)  # type: ignore[arg-type]


class TestObserve:
    """Spans are told apart by the attributes each kind carries."""

    def test_each_kind_of_span_lands_in_its_histogram(self) -> None:
        durations = KedroDurations(start_time=T0)
        node = {keys.CICD_TASK_NAME: "clean", keys.CICD_TASK_RUN_RESULT: keys.RESULT_SUCCESS,
                keys.KEDRO_NODE_MEMORY_PEAK: 5_000_000}  # fmt: skip
        durations.observe("clean", node, 2.0)
        durations.observe("LOAD raw", {keys.KEDRO_DATASET_NAME: "raw",
                                        keys.KEDRO_DATASET_TYPE: CSV}, 0.1)  # fmt: skip
        durations.observe("SAVE clean", {keys.KEDRO_DATASET_NAME: "clean"}, 0.2)
        run = {keys.CICD_PIPELINE_RUN_ID: "r", keys.CICD_PIPELINE_NAME: "__default__",
               keys.CICD_PIPELINE_RESULT: keys.RESULT_FAILURE}  # fmt: skip
        durations.observe("RUN __default__", run, 3.0)
        found = {m.name: hist_points(m) for m in metrics_of(durations, now=T0 + 4)}
        assert [attributes(p) for p in found[keys.KEDRO_NODE_DURATION]] == [
            {keys.CICD_TASK_NAME: "clean", keys.CICD_TASK_RUN_RESULT: keys.RESULT_SUCCESS}
        ]
        assert [attributes(p) for p in found[keys.KEDRO_DATASET_LOAD_DURATION]] == [
            {keys.KEDRO_DATASET_TYPE: CSV}
        ]
        assert [p.sum for p in found[keys.KEDRO_DATASET_SAVE_DURATION]] == [0.2]
        assert [attributes(p)[keys.CICD_PIPELINE_RESULT] for p in
                found[keys.KEDRO_RUN_DURATION]] == [keys.RESULT_FAILURE]  # fmt: skip
        assert durations.top_nodes() == [NodeFigure("clean", 2.0, 5_000_000)]

    def test_a_span_without_its_result_gets_the_runs(self) -> None:
        durations = KedroDurations(start_time=T0)
        durations.observe("n", {keys.CICD_TASK_NAME: "n"}, 1.0)
        durations.observe(
            "RUN p", {keys.CICD_PIPELINE_RUN_ID: "r", keys.CICD_PIPELINE_NAME: "p"}, 2.0
        )
        assert metrics_of(durations, now=T0 + 3) == []
        durations.decide(keys.RESULT_CANCELLATION)
        found = {m.name: hist_points(m) for m in metrics_of(durations, now=T0 + 3)}
        (node,) = found[keys.KEDRO_NODE_DURATION]
        assert attributes(node)[keys.CICD_TASK_RUN_RESULT] == keys.RESULT_CANCELLATION
        (run,) = found[keys.KEDRO_RUN_DURATION]
        assert attributes(run)[keys.CICD_PIPELINE_RESULT] == keys.RESULT_CANCELLATION

    @given(st.lists(st.tuples(st.floats(0, 1e4), st.one_of(st.none(), st.integers(0, 2**40))),
                    max_size=60))  # fmt: skip
    def test_the_summary_nodes_are_the_slowest_and_the_hungriest(
        self, nodes: list[tuple[float, int | None]]
    ) -> None:
        durations = KedroDurations()
        figures = [NodeFigure(f"n{i}", s, peak) for i, (s, peak) in enumerate(nodes)]
        for figure in figures:
            values: dict[str, object] = {keys.CICD_TASK_NAME: figure.name,
                                         keys.CICD_TASK_RUN_RESULT: keys.RESULT_SUCCESS}  # fmt: skip
            if figure.peak_bytes is not None:
                values[keys.KEDRO_NODE_MEMORY_PEAK] = figure.peak_bytes
            durations.observe(figure.name, values, figure.seconds)
        top = durations.top_nodes()
        assert len(top) <= 2 * TOP_NODES
        slowest = sorted(f.seconds for f in figures)[-TOP_NODES:]
        assert sorted(f.seconds for f in top)[-len(slowest) :] == slowest if slowest else top == []
        peaks = sorted(f.peak_bytes for f in figures if f.peak_bytes is not None)[-TOP_NODES:]
        kept = sorted(f.peak_bytes for f in top if f.peak_bytes is not None)
        assert kept[-len(peaks) :] == peaks if peaks else kept == []


def test_a_node_costs_a_few_hundred_bytes_of_otlp_json() -> None:
    """What keeps ``metrics.jsonl`` at about 0.3 kB per node: no buckets, no repeated min/max,
    and one point per dataset type, not per dataset."""
    durations = KedroDurations(start_time=T0)
    for index in range(1000):
        name = f"namespace_{index % 7}.preprocess_step_{index:04d}"
        durations.observe(name, {keys.CICD_TASK_NAME: name,
                                 keys.CICD_TASK_RUN_RESULT: keys.RESULT_SUCCESS}, 0.01 * index)  # fmt: skip
        for operation in ("LOAD", "SAVE"):
            durations.observe(f"{operation} d{index}", {keys.KEDRO_DATASET_NAME: f"d{index}",
                                                        keys.KEDRO_DATASET_TYPE: CSV}, 0.002)  # fmt: skip
    request = metrics_request(
        durations.series(), {}, scope_name=keys.INSTRUMENTATION_SCOPE, scope_version="0.1.0",
        schema_url=keys.SCHEMA_URL,
    )  # fmt: skip
    size = len(json.dumps(request, separators=(",", ":")))
    assert size / 1000 < 320, f"{size / 1000:.0f} bytes per node"


def test_the_global_meter_provider_is_left_alone() -> None:
    provider = otel_metrics.get_meter_provider()
    durations = KedroDurations()
    durations.record_run("__default__", 1.0, keys.RESULT_SUCCESS)
    assert metrics_of(durations)
    assert otel_metrics.get_meter_provider() is provider


@given(
    nodes=st.integers(min_value=0, max_value=60),
    datasets=st.integers(min_value=0, max_value=5),
    points=st.integers(min_value=1, max_value=25),
)
def test_chunks_hold_every_point_once_and_never_more_than_asked(
    nodes: int, datasets: int, points: int
) -> None:
    """The end of a run writes its histograms in lines of at most ``points`` points: together
    they hold every point of every metric, once, in order, under the metric's own name."""
    recorded = KedroDurations()
    for index in range(nodes):
        recorded.record_node(f"n{index}", 0.5, "success")
    for index in range(datasets):
        recorded.record_dataset("load", f"pkg.Type{index}", 0.1)
    series = recorded.series(now=T0)
    chunks = list(in_chunks(series, points))
    assert all(sum(len(m.points) for m in chunk) <= points for chunk in chunks)
    assert all(chunk for chunk in chunks)
    for one in series:
        parts = [m for chunk in chunks for m in chunk if m.name == one.name]
        assert {(m.description, m.unit, m.kind) for m in parts} == {
            (one.description, one.unit, one.kind)
        }
        assert [p for m in parts for p in m.points] == list(one.points)
