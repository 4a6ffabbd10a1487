"""Kedro's duration histograms through the SDK: buckets, attributes, start times, threads."""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
import time
from typing import Any

import pytest
from opentelemetry import metrics as otel_metrics
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
)

from otel_kedro import attributes as keys
from otel_kedro.sources.kedro.durations import (
    CARDINALITY_LIMIT,
    DURATION_BUCKETS,
    KedroDurations,
)
from tests.support.usage_samples import T0, ns

NODE_VALUES = (0.004, 0.3, 0.5, 0.5000001, 42.0)


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
    durations.record_dataset("load", "companies", 0.02)
    durations.record_dataset("save", "model", 1.5)
    durations.record_run("__default__", 60.0, keys.RESULT_SUCCESS)
    return durations


def test_names_units_descriptions_and_cumulative_temporality(recorded: KedroDurations) -> None:
    found = by_name(recorded.metrics(now=T0 + 61))
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
            assert point.exemplars == []  # no trace ids: exemplars are off


def test_histograms_count_sum_and_bucket_every_duration(recorded: KedroDurations) -> None:
    found = by_name(recorded.metrics(now=T0 + 61))
    node = hist_points(found[keys.KEDRO_NODE_DURATION])
    by_result = {attributes(p)[keys.CICD_TASK_RUN_RESULT]: p for p in node}
    success = by_result[keys.RESULT_SUCCESS]
    assert attributes(success) == {
        keys.CICD_TASK_NAME: "train",
        keys.CICD_TASK_RUN_RESULT: keys.RESULT_SUCCESS,
    }
    assert success.count == 5
    assert success.sum == pytest.approx(sum(NODE_VALUES))
    assert (success.min, success.max) == (0.004, 42.0)
    assert list(success.explicit_bounds) == list(DURATION_BUCKETS)
    bounds = [-math.inf, *DURATION_BUCKETS, math.inf]
    expected = [sum(lo < v <= hi for v in NODE_VALUES) for lo, hi in itertools.pairwise(bounds)]
    assert list(success.bucket_counts) == expected
    assert expected[DURATION_BUCKETS.index(0.5)] == 2  # 0.5 is in (0.25, 0.5]; 0.5000001 is not
    assert expected[DURATION_BUCKETS.index(1.0)] == 1
    assert by_result[keys.RESULT_FAILURE].bucket_counts[-1] == 1  # 9000 s: the overflow bucket
    for point in node:
        assert point.start_time_unix_nano == ns(T0)
        assert point.time_unix_nano == ns(T0 + 61)
    (load,) = hist_points(found[keys.KEDRO_DATASET_LOAD_DURATION])
    (save,) = hist_points(found[keys.KEDRO_DATASET_SAVE_DURATION])
    assert attributes(load) == {keys.KEDRO_DATASET_NAME: "companies"}
    assert attributes(save) == {keys.KEDRO_DATASET_NAME: "model"}
    assert save.sum == 1.5
    (run,) = hist_points(found[keys.KEDRO_RUN_DURATION])
    assert attributes(run) == {
        keys.CICD_PIPELINE_NAME: "__default__",
        keys.CICD_PIPELINE_RESULT: keys.RESULT_SUCCESS,
    }
    assert (run.count, run.sum, run.min, run.max) == (1, 60.0, 60.0, 60.0)


def test_bucket_edges_are_lower_exclusive_upper_inclusive() -> None:
    durations = KedroDurations(boundaries=(1.0, 2.0))
    for seconds in (0.0, 1.0, 1.0000001, 2.0, 2.5):
        durations.record_node("n", seconds, keys.RESULT_SUCCESS)
    ((point,),) = [hist_points(m) for m in durations.metrics()]
    assert list(point.bucket_counts) == [2, 2, 1]  # (-inf, 1] (1, 2] (2, inf)


def test_boundaries_are_sorted_deduplicated_and_must_be_finite() -> None:
    durations = KedroDurations(boundaries=(10, 1, 5, 1))
    durations.record_node("n", 3.0, keys.RESULT_SUCCESS)
    ((point,),) = [hist_points(m) for m in durations.metrics()]
    assert list(point.explicit_bounds) == [1.0, 5.0, 10.0]
    assert list(point.bucket_counts) == [0, 1, 0, 0]
    with pytest.raises(ValueError, match="finite"):
        KedroDurations(boundaries=(1.0, math.inf))


def test_metrics_are_cumulative_across_calls_with_one_start(recorded: KedroDurations) -> None:
    first = by_name(recorded.metrics(now=T0 + 61))
    recorded.record_run("__default__", 30.0, keys.RESULT_SUCCESS)
    recorded.record_dataset("load", "reviews", 0.2)
    second = by_name(recorded.metrics(now=T0 + 99))
    (run,) = hist_points(second[keys.KEDRO_RUN_DURATION])
    assert (run.count, run.sum, run.min, run.max) == (2, 90.0, 30.0, 60.0)
    assert (run.start_time_unix_nano, run.time_unix_nano) == (ns(T0), ns(T0 + 99))
    loads = {
        attributes(p)[keys.KEDRO_DATASET_NAME]: p
        for p in hist_points(second[keys.KEDRO_DATASET_LOAD_DURATION])
    }
    assert set(loads) == {"companies", "reviews"}
    assert loads["reviews"].start_time_unix_nano == ns(T0)  # a new series starts at start_time too
    assert hist_points(first[keys.KEDRO_NODE_DURATION]) == [
        dataclasses.replace(p, time_unix_nano=ns(T0 + 61))
        for p in hist_points(second[keys.KEDRO_NODE_DURATION])
    ]  # unchanged but for its time


def test_without_start_time_each_series_starts_at_its_first_value() -> None:
    durations = KedroDurations()
    before = time.time_ns()
    durations.record_node("a", 1.0, keys.RESULT_SUCCESS)
    between = time.time_ns()
    durations.record_node("b", 1.0, keys.RESULT_SUCCESS)
    durations.record_node("a", 2.0, keys.RESULT_SUCCESS)
    after = time.time_ns()
    (metric,) = durations.metrics()
    after_collection = time.time_ns()
    starts = {
        attributes(p)[keys.CICD_TASK_NAME]: p.start_time_unix_nano for p in hist_points(metric)
    }
    assert before <= starts["a"] <= between <= starts["b"] <= after
    for point in hist_points(metric):
        assert after <= point.time_unix_nano <= after_collection


def test_nothing_recorded_gives_no_metrics() -> None:
    durations = KedroDurations(start_time=T0)
    assert durations.metrics() == []
    durations.record_node("n", -1.0, keys.RESULT_SUCCESS)
    assert durations.metrics(now=T0 + 1) == []


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
    durations.record_node("node0", float("inf"), "success")
    (metric,) = durations.metrics()
    points = hist_points(metric)
    assert sorted(attributes(p)[keys.CICD_TASK_NAME] for p in points) == ["node0", "node1"]
    assert sum(p.count for p in points) == 16_000
    assert all(sum(p.bucket_counts) == p.count for p in points)
    assert sum(p.sum for p in points) == pytest.approx(
        8 * sum(0.001 * (i % 7) for i in range(2000))
    )
    with pytest.raises(ValueError, match="load"):
        durations.record_dataset("delete", "x", 1.0)  # type: ignore[arg-type]


def test_many_datasets_stay_distinct_beyond_the_sdk_default_limit() -> None:
    durations = KedroDurations(start_time=T0)
    count = 2500  # the SDK's default limit is 2000 attribute sets per instrument
    assert count < CARDINALITY_LIMIT
    for index in range(count):
        durations.record_dataset("load", f"dataset_{index}", 0.01)
    (metric,) = durations.metrics()
    names = {attributes(p).get(keys.KEDRO_DATASET_NAME) for p in hist_points(metric)}
    assert len(names) == count
    assert None not in names  # no overflow point


def test_the_global_meter_provider_is_left_alone() -> None:
    provider = otel_metrics.get_meter_provider()
    durations = KedroDurations()
    durations.record_run("__default__", 1.0, keys.RESULT_SUCCESS)
    assert durations.metrics()
    assert otel_metrics.get_meter_provider() is provider
