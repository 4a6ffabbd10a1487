"""exporters.metrics_line: the process source's series, encoded without the SDK, equal the SDK
encoder's line for the same samples.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_kedro.exporters.metrics_line import MetricsLineWriter, metrics_request
from otel_kedro.model.metric_series import MetricSeries, NumberPoint
from otel_kedro.model.run_folder import read_metrics
from otel_kedro.sources.process.metrics import ProcessMetrics, sdk_metrics
from tests.support.usage_samples import T0, samples

SCHEMA = "https://opentelemetry.io/schemas/1.44.0"
RESOURCE = {"service.name": "svc", "process.pid": 42}


def sdk_request(series: list[MetricSeries], resource: dict[str, object]) -> dict[str, object]:
    scope = ScopeMetrics(
        InstrumentationScope("otel_kedro", "1.2", SCHEMA), sdk_metrics(series), SCHEMA
    )
    data = MetricsData([ResourceMetrics(Resource(resource), [scope], "")])  # type: ignore[arg-type]
    return encode_metrics(data).to_dict()  # type: ignore[no-any-return]


def ours(series: list[MetricSeries], resource: dict[str, object]) -> dict[str, object]:
    return metrics_request(
        series,
        resource,
        scope_name="otel_kedro",
        scope_version="1.2",
        schema_url=SCHEMA,  # type: ignore[arg-type]
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
series_lists = st.lists(
    st.builds(
        MetricSeries,
        name=st.text(min_size=1, max_size=8),
        description=st.text(max_size=8),
        unit=st.text(max_size=3),
        kind=st.sampled_from(["counter", "updown", "gauge"]),
        points=st.lists(points, min_size=1, max_size=3).map(tuple),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=80, deadline=None)
@given(series=series_lists)
def test_any_series_encode_as_the_sdk_does(series: list[MetricSeries]) -> None:
    """For any series (empty descriptions and units, negative values, no attributes) the
    encodings agree.
    """
    assert json.loads(json.dumps(ours(series, RESOURCE))) == json.loads(
        json.dumps(sdk_request(series, RESOURCE))
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
