"""metrics.jsonl: the writer appends the metrics it is given as OTLP JSON lines, read back with
the real protobuf classes of opentelemetry-proto."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality as ProtoTemporality,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    Sum,
)
from opentelemetry.sdk.resources import Resource

from otel_kedro import attributes as keys
from otel_kedro.exporters.metrics_file import MetricsFileWriter
from otel_kedro.model.run_folder import METRICS_FILE
from otel_kedro.sources.kedro.durations import KedroDurations
from otel_kedro.sources.process.metrics import ProcessMetrics
from tests.support.otlp_metrics import attrs, metrics_by_name, number_points, read_requests
from tests.support.usage_samples import T0, ns, samples

CUMULATIVE = ProtoTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
RESOURCE = Resource(
    {"service.name": "demo", "host.name": "build-7", "kedro.version": "1.7"},
    "https://opentelemetry.io/schemas/1.44.0",
)


def counter(value: float, *, at: float = T0 + 1, **attributes: str | int) -> Metric:
    point = NumberDataPoint(attributes, ns(T0), ns(at), value)
    return Metric(keys.PROCESS_CPU_TIME, "CPU seconds.", "s",
                  Sum([point], AggregationTemporality.CUMULATIVE, True))  # fmt: skip


def given() -> list[Metric]:
    """One metric of every kind the sources produce: monotonic and up-down sums, a gauge, and
    an explicit-bucket histogram (SDK tuples for its buckets)."""
    memory = Sum(
        [NumberDataPoint({keys.PROCESS_PID: 101, keys.PROCESS_PARENT_PID: 100}, ns(T0 - 10),
                         ns(T0 + 1), 40_000_000)],
        AggregationTemporality.CUMULATIVE,
        False,
    )  # fmt: skip
    gauge = Gauge([NumberDataPoint({}, ns(T0 + 0.5), ns(T0 + 1), 0.25)])
    histogram = Histogram(
        [HistogramDataPoint({keys.CICD_TASK_NAME: "train"}, ns(T0), ns(T0 + 61), 3, 2.5,
                            (1, 1, 1), (0.5, 1.0), 0.25, 1.5)],
        AggregationTemporality.CUMULATIVE,
    )  # fmt: skip
    return [
        counter(1.5, **{keys.CPU_MODE: keys.CPU_MODE_USER}),
        Metric(keys.PROCESS_MEMORY_USAGE, "Resident memory.", "By", memory),
        Metric(keys.PROCESS_CPU_UTILIZATION, "Utilisation.", "1", gauge),
        Metric(keys.KEDRO_NODE_DURATION, "Node wall time.", "s", histogram),
    ]


def test_every_call_is_one_line_holding_one_request_as_given(tmp_path: Path) -> None:
    writer = MetricsFileWriter(tmp_path, RESOURCE, "9.9.9")
    assert writer.path == tmp_path / METRICS_FILE
    writer.add_metrics(given())
    writer.add_metrics(given()[:1])
    writer.close()
    requests = read_requests(writer.path)
    assert len(requests) == 2
    for request in requests:
        (resource_metrics,) = request.resource_metrics
        # Written as received: privacy is the caller's chain, not the writer's.
        assert attrs(resource_metrics.resource.attributes) == dict(RESOURCE.attributes)
        assert resource_metrics.schema_url == RESOURCE.schema_url
        (scope_metrics,) = resource_metrics.scope_metrics
        assert scope_metrics.scope.name == keys.INSTRUMENTATION_SCOPE
        assert scope_metrics.scope.version == "9.9.9"
        assert scope_metrics.schema_url == keys.SCHEMA_URL
    assert [m.name for m in requests[0].resource_metrics[0].scope_metrics[0].metrics] == [
        m.name for m in given()
    ]


def test_sums_gauges_and_histograms_survive_the_encoding(tmp_path: Path) -> None:
    writer = MetricsFileWriter(tmp_path, RESOURCE, "9.9.9")
    writer.add_metrics(given())
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
    # The encoder writes no start time for gauge points (OTLP makes it optional there).
    assert number_points([utilization]) == [({}, 0, ns(T0 + 1), 0.25)]
    node = found[keys.KEDRO_NODE_DURATION]
    assert node.histogram.aggregation_temporality == CUMULATIVE
    (point,) = node.histogram.data_points
    assert attrs(point.attributes) == {keys.CICD_TASK_NAME: "train"}
    assert (point.start_time_unix_nano, point.time_unix_nano) == (ns(T0), ns(T0 + 61))
    assert (point.count, point.sum, point.min, point.max) == (3, 2.5, 0.25, 1.5)
    assert (list(point.bucket_counts), list(point.explicit_bounds)) == ([1, 1, 1], [0.5, 1.0])


def test_what_the_sources_produce_survives_the_file(tmp_path: Path) -> None:
    """Process metrics and SDK duration histograms, decoded back point for point."""
    produced = ProcessMetrics(window=None, cpus=2).metrics(samples())
    durations = KedroDurations(start_time=T0)
    for seconds in (0.004, 0.3, 42.0):
        durations.record_node("train", seconds, keys.RESULT_SUCCESS)
    durations.record_dataset("load", "companies", 0.02)
    produced += durations.metrics(now=T0 + 61)
    writer = MetricsFileWriter(tmp_path, RESOURCE, "9.9.9")
    writer.add_metrics(produced)
    writer.close()
    found = metrics_by_name(read_requests(writer.path))
    assert list(found) == [metric.name for metric in produced]
    for metric in produced:
        (decoded,) = found[metric.name]
        assert (decoded.unit, decoded.description) == (metric.unit, metric.description)
        if isinstance(metric.data, Histogram):
            decoded_points = [
                (attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano, p.count, p.sum,
                 list(p.bucket_counts), list(p.explicit_bounds), p.min, p.max)
                for p in decoded.histogram.data_points
            ]  # fmt: skip
            assert decoded_points == [
                (dict(p.attributes or {}), p.start_time_unix_nano, p.time_unix_nano, p.count,
                 p.sum, list(p.bucket_counts), list(p.explicit_bounds), p.min, p.max)
                for p in metric.data.data_points
            ]  # fmt: skip
        else:
            assert isinstance(metric.data, Sum | Gauge)
            gauge = isinstance(metric.data, Gauge)  # written without a start time
            assert number_points([decoded]) == [
                (dict(p.attributes or {}), 0 if gauge else p.start_time_unix_nano,
                 p.time_unix_nano, p.value)
                for p in metric.data.data_points
            ]  # fmt: skip
    text = writer.path.read_text()
    assert "hunter2" not in text  # command lines are never written
    assert "--password" not in text


def test_nothing_is_written_for_nothing_and_closed_writers_refuse(tmp_path: Path) -> None:
    writer = MetricsFileWriter(tmp_path, Resource({}), "9.9.9")
    writer.add_metrics([])
    assert writer.path.read_text() == ""
    writer.add_metrics([counter(1.0)])
    line = writer.path.read_text()
    assert line.count("\n") == 1
    assert json.loads(line)["resourceMetrics"]
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add_metrics([counter(2.0)])
    writer.close()  # closing twice is harmless
    assert writer.path.read_text() == line


def test_lines_from_many_threads_and_writers_never_interleave(tmp_path: Path) -> None:
    writers = [MetricsFileWriter(tmp_path, RESOURCE, "9.9.9") for _ in range(2)]
    big = [counter(float(i), at=T0 + i, index=i, pad="x" * 4000) for i in range(10)]

    def append(writer: MetricsFileWriter) -> None:
        for _ in range(10):
            writer.add_metrics(big)

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
