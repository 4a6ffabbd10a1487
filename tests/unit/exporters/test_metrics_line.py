"""exporters.metrics_line, the writer of ``metrics.jsonl``: series encoded without the SDK equal
the SDK encoder's line for the same points; lines are whole requests, read back with the real
protobuf classes of opentelemetry-proto.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality as ProtoTemporality,
)
from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_kedro import attributes as keys
from otel_kedro.exporters.metrics_line import MetricsLineWriter, metrics_request
from otel_kedro.model.metric_series import HistogramPoint, MetricSeries, NumberPoint
from otel_kedro.model.run_folder import METRICS_FILE, read_metric_series, read_metrics
from otel_kedro.sources.kedro.durations import KedroDurations
from otel_kedro.sources.process.metrics import ProcessMetrics
from tests.support.otlp_metrics import attrs, metrics_by_name, number_points, read_requests
from tests.support.sdk_metrics import sdk_metrics
from tests.support.usage_samples import T0, ns, samples

SCHEMA = "https://opentelemetry.io/schemas/1.44.0"
RESOURCE = {"service.name": "svc", "process.pid": 42}


def sdk_request(
    series: list[MetricSeries], resource: dict[str, object], resource_schema: str = ""
) -> dict[str, object]:
    scope = ScopeMetrics(
        InstrumentationScope("otel_kedro", "1.2", SCHEMA), sdk_metrics(series), SCHEMA
    )
    data = MetricsData([ResourceMetrics(Resource(resource, resource_schema), [scope], "")])  # type: ignore[arg-type]
    return encode_metrics(data).to_dict()  # type: ignore[no-any-return]


def ours(
    series: list[MetricSeries], resource: dict[str, object], resource_schema: str = ""
) -> dict[str, object]:
    return metrics_request(
        series,
        resource,  # type: ignore[arg-type]
        scope_name="otel_kedro",
        scope_version="1.2",
        schema_url=SCHEMA,
        resource_schema_url=resource_schema,
    )


def test_process_samples_encode_as_the_sdk_does() -> None:
    """Every metric of the hand-made samples (sums, gauges, ints, floats, per-process
    attributes) gives the SDK encoder's exact JSON.
    """
    series = ProcessMetrics(window=None, start_time=T0 - 1, cpus=2).series(samples())
    assert {s.kind for s in series} == {"counter", "updown", "gauge"}
    assert json.dumps(ours(series, RESOURCE), sort_keys=True) == json.dumps(
        sdk_request(series, RESOURCE), sort_keys=True
    )


points = st.builds(
    NumberPoint,
    attributes=st.dictionaries(
        st.text(min_size=1, max_size=5),
        st.one_of(st.text(max_size=5), st.integers(-(2**40), 2**40), st.booleans()),
        max_size=3,
    ),
    start_ns=st.integers(0, 2**62),
    time_ns=st.integers(0, 2**62),
    value=st.one_of(st.integers(-(2**62), 2**62), st.floats(allow_nan=False, allow_infinity=False)),
)
finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def histogram_points(draw: st.DrawFn) -> HistogramPoint:
    """Bucketed or not, with or without min and max, zero counts and sums included."""
    bounds = tuple(sorted(set(draw(st.lists(finite, max_size=4)))))
    bucketed = draw(st.booleans())
    counts = draw(st.lists(st.integers(0, 2**40), min_size=len(bounds) + 1,
                           max_size=len(bounds) + 1)) if bucketed else []  # fmt: skip
    extremes = draw(st.one_of(st.none(), st.tuples(finite, finite)))
    return HistogramPoint(
        attributes=draw(st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5),
                                        max_size=2)),
        start_ns=draw(st.integers(0, 2**62)),
        time_ns=draw(st.integers(0, 2**62)),
        observations=sum(counts) if bucketed else draw(st.integers(0, 2**40)),
        total=draw(finite),
        bucket_counts=tuple(counts),
        bounds=bounds if bucketed else (),
        low=None if extremes is None else min(extremes),
        high=None if extremes is None else max(extremes),
    )  # fmt: skip


number_series = st.builds(
    MetricSeries,
    name=st.text(min_size=1, max_size=8),
    description=st.text(max_size=8),
    unit=st.text(max_size=3),
    kind=st.sampled_from(["counter", "updown", "gauge"]),
    points=st.lists(points, min_size=1, max_size=3).map(tuple),
)
histogram_series = st.builds(
    MetricSeries,
    name=st.text(min_size=1, max_size=8),
    description=st.text(max_size=8),
    unit=st.text(max_size=3),
    kind=st.just("histogram"),
    points=st.lists(histogram_points(), min_size=1, max_size=3).map(tuple),
)
series_lists = st.lists(st.one_of(number_series, histogram_series), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(series=series_lists, resource_schema=st.sampled_from(["", SCHEMA]))
def test_any_series_encode_as_the_sdk_does(
    series: list[MetricSeries], resource_schema: str
) -> None:
    """For any series (empty descriptions and units, negative values, no attributes; histograms
    with and without buckets, min and max) the encodings agree.
    """
    assert json.loads(json.dumps(ours(series, RESOURCE, resource_schema))) == json.loads(
        json.dumps(sdk_request(series, RESOURCE, resource_schema))
    )


def test_duration_histograms_encode_as_the_sdk_does() -> None:
    """What the Kedro duration recorder produces (bucketless node series with and without min
    and max, bucketed dataset and run series) gives the SDK encoder's exact JSON."""
    durations = KedroDurations(start_time=T0)
    for seconds in (0.004, 0.3, 42.0):
        durations.record_node("train", seconds, keys.RESULT_SUCCESS)
    durations.record_node("split", 0.2, keys.RESULT_FAILURE)
    durations.record_dataset("load", "pandas.CSVDataset", 0.02)
    durations.record_run("__default__", 43.0, keys.RESULT_SUCCESS)
    series = durations.series(now=T0 + 61)
    assert {one.kind for one in series} == {"histogram"}
    assert json.dumps(ours(series, RESOURCE), sort_keys=True) == json.dumps(
        sdk_request(series, RESOURCE), sort_keys=True
    )


def test_writer_lines_are_read_back(tmp_path: Path) -> None:
    """Each add is one line the run-folder reader decodes into the same points."""
    writer = MetricsLineWriter(tmp_path / "metrics.jsonl", RESOURCE, "1.2")
    metrics = ProcessMetrics(window=None, start_time=T0 - 1, cpus=2)
    writer.add_series(metrics.series(samples()[:2]))
    writer.add_series([])
    writer.add_series(metrics.series(samples()[2:]))
    writer.close()
    decoded = read_metrics(tmp_path)
    assert decoded.skipped_lines == 0
    assert len(decoded.items) == 2
    memory = [
        point.value
        for data in decoded.items
        for metric in data.resource_metrics[0].scope_metrics[0].metrics
        if metric.name == "process.memory.usage"
        for point in metric.data.data_points
        if point.attributes.get("process.pid") == 101
    ]
    assert max(memory) == 500_000_000


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(series_lists, min_size=1, max_size=3))
def test_any_series_read_back_as_plain_series_equal_what_was_written(
    tmp_path_factory: pytest.TempPathFactory, lines: list[list[MetricSeries]]
) -> None:
    """The plain reader (what the report and ``show`` use, without the SDK's metrics package)
    gives back every series written, line after line, values and their types included (a
    gauge's start, which OTLP gauges do not carry, as 0); with names, only those series.
    """
    folder = tmp_path_factory.mktemp("run")
    writer = MetricsLineWriter(folder / METRICS_FILE, RESOURCE, "1.2")
    for series in lines:
        writer.add_series(series)
    writer.close()
    written = [
        s._replace(points=tuple(p._replace(start_ns=0) for p in s.points))
        if s.kind == "gauge"
        else s
        for line in lines
        for s in line
    ]
    decoded = read_metric_series(folder)
    assert decoded.skipped_lines == 0
    assert decoded.items == written
    assert [type(p.value) for s in decoded.items if s.kind != "histogram" for p in s.points] == [
        type(p.value) for s in written if s.kind != "histogram" for p in s.points
    ]
    first = written[0].name
    assert read_metric_series(folder, {first}).items == [s for s in written if s.name == first]


CUMULATIVE = ProtoTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
FILE_RESOURCE = {"service.name": "demo", "host.name": "build-7", "kedro.version": "1.7"}


def counter(value: float, *, at: float = T0 + 1, **attributes: str | int) -> MetricSeries:
    point = NumberPoint(attributes, ns(T0), ns(at), value)
    return MetricSeries(keys.PROCESS_CPU_TIME, "CPU seconds.", "s", "counter", (point,))


def every_kind() -> list[MetricSeries]:
    """One series of every kind the sources produce: monotonic and up-down sums, a gauge and
    an explicit-bucket histogram."""
    memory = NumberPoint({keys.PROCESS_PID: 101, keys.PROCESS_PARENT_PID: 100}, ns(T0 - 10),
                         ns(T0 + 1), 40_000_000)  # fmt: skip
    histogram = HistogramPoint({keys.CICD_TASK_NAME: "train"}, ns(T0), ns(T0 + 61), 3, 2.5,
                               (1, 1, 1), (0.5, 1.0), 0.25, 1.5)  # fmt: skip
    return [
        counter(1.5, **{keys.CPU_MODE: keys.CPU_MODE_USER}),
        MetricSeries(keys.PROCESS_MEMORY_USAGE, "Resident memory.", "By", "updown", (memory,)),
        MetricSeries(keys.PROCESS_CPU_UTILIZATION, "Utilisation.", "1", "gauge",
                     (NumberPoint({}, ns(T0 + 0.5), ns(T0 + 1), 0.25),)),
        MetricSeries(keys.KEDRO_NODE_DURATION, "Node wall time.", "s", "histogram", (histogram,)),
    ]  # fmt: skip


def file_writer(folder: Path) -> MetricsLineWriter:
    return MetricsLineWriter(folder / METRICS_FILE, FILE_RESOURCE, "9.9.9",
                             resource_schema_url=SCHEMA)  # fmt: skip


def test_every_call_is_one_line_holding_one_request_as_given(tmp_path: Path) -> None:
    writer = file_writer(tmp_path)
    assert writer.path == tmp_path / METRICS_FILE
    writer.add_series(every_kind())
    writer.add_series(every_kind()[:1])
    writer.close()
    requests = read_requests(writer.path)
    assert len(requests) == 2
    for request in requests:
        (resource_metrics,) = request.resource_metrics
        # Written as received: privacy is the caller's chain, not the writer's.
        assert attrs(resource_metrics.resource.attributes) == FILE_RESOURCE
        assert resource_metrics.schema_url == SCHEMA
        (scope_metrics,) = resource_metrics.scope_metrics
        assert scope_metrics.scope.name == keys.INSTRUMENTATION_SCOPE
        assert scope_metrics.scope.version == "9.9.9"
        assert scope_metrics.schema_url == keys.SCHEMA_URL
    assert [m.name for m in requests[0].resource_metrics[0].scope_metrics[0].metrics] == [
        m.name for m in every_kind()
    ]


def test_sums_gauges_and_histograms_survive_the_encoding(tmp_path: Path) -> None:
    writer = file_writer(tmp_path)
    writer.add_series(every_kind())
    writer.close()
    found = {
        name: metrics for name, (metrics,) in metrics_by_name(read_requests(writer.path)).items()
    }
    cpu = found[keys.PROCESS_CPU_TIME]
    assert (cpu.unit, cpu.description) == ("s", "CPU seconds.")
    assert (cpu.sum.is_monotonic, cpu.sum.aggregation_temporality) == (True, CUMULATIVE)
    assert number_points([cpu]) == [({keys.CPU_MODE: keys.CPU_MODE_USER}, ns(T0), ns(T0 + 1), 1.5)]
    memory = found[keys.PROCESS_MEMORY_USAGE]
    assert (memory.sum.is_monotonic, memory.sum.aggregation_temporality) == (False, CUMULATIVE)
    assert number_points([memory]) == [
        ({keys.PROCESS_PID: 101, keys.PROCESS_PARENT_PID: 100}, ns(T0 - 10), ns(T0 + 1), 40_000_000)
    ]
    assert memory.sum.data_points[0].WhichOneof("value") == "as_int"
    utilization = found[keys.PROCESS_CPU_UTILIZATION]
    assert utilization.WhichOneof("data") == "gauge"
    # No start time for gauge points (OTLP makes it optional there), as the SDK encoder.
    assert number_points([utilization]) == [({}, 0, ns(T0 + 1), 0.25)]
    node = found[keys.KEDRO_NODE_DURATION]
    assert node.histogram.aggregation_temporality == CUMULATIVE
    (point,) = node.histogram.data_points
    assert attrs(point.attributes) == {keys.CICD_TASK_NAME: "train"}
    assert (point.start_time_unix_nano, point.time_unix_nano) == (ns(T0), ns(T0 + 61))
    assert (point.count, point.sum, point.min, point.max) == (3, 2.5, 0.25, 1.5)
    assert (list(point.bucket_counts), list(point.explicit_bounds)) == ([1, 1, 1], [0.5, 1.0])


def test_nothing_is_written_for_nothing_and_closed_writers_refuse(tmp_path: Path) -> None:
    writer = MetricsLineWriter(tmp_path / METRICS_FILE, {}, "9.9.9")
    writer.add_series([])
    assert writer.path.read_text() == ""
    writer.add_series([counter(1.0)])
    line = writer.path.read_text()
    assert line.count("\n") == 1
    assert json.loads(line)["resourceMetrics"]
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add_series([counter(2.0)])
    writer.close()  # closing twice is harmless
    assert writer.path.read_text() == line


def test_lines_from_many_threads_and_writers_never_interleave(tmp_path: Path) -> None:
    writers = [file_writer(tmp_path) for _ in range(2)]
    big = [counter(float(i), at=T0 + i, index=i, pad="x" * 4000) for i in range(10)]

    def append(writer: MetricsLineWriter) -> None:
        for _ in range(10):
            writer.add_series(big)

    threads = [threading.Thread(target=append, args=(writers[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer in writers:
        writer.close()
    requests = read_requests(tmp_path / METRICS_FILE)  # every line parses on its own
    assert len(requests) == 8 * 10
    for request in requests:
        assert len(request.resource_metrics[0].scope_metrics[0].metrics) == 10
