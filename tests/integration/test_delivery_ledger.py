"""The per-request delivery ledger against real OTLP/HTTP receivers on loopback: every line of a
run folder reaches an endpoint exactly once across failures, late appends and replays."""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.exporters import otlp, otlp_target
from otel_kedro.exporters.files import create_run_folder
from otel_kedro.exporters.metrics_line import MetricsLineWriter
from otel_kedro.exporters.span_lines import SpanLineExporter
from otel_kedro.model.metric_series import MetricSeries, NumberPoint
from otel_kedro.model.run_folder import METRICS_FILE, TRACES_FILE, read_lines
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.remote import OtlpDelivery
from tests.support.otlp_receivers import HttpReceiver, metric_points, span_ids


def _target(receiver: HttpReceiver) -> otlp_target.OtlpTarget:
    return otlp_target.OtlpTarget(
        otlp_target.HTTP, receiver.endpoint + "/v1/traces", receiver.endpoint + "/v1/metrics"
    )


def _append_spans(folder: Path, count: int, prefix: str) -> None:
    """``count`` spans, one line each, appended by the real file exporter."""
    provider = TracerProvider(resource=Resource({"service.name": "ledger"}))
    provider.add_span_processor(SimpleSpanProcessor(SpanLineExporter(folder / TRACES_FILE)))
    for index in range(count):
        provider.get_tracer("test").start_span(f"{prefix}{index}").end()
    provider.shutdown()


def _append_metrics(folder: Path, count: int, start: int) -> None:
    writer = MetricsLineWriter(folder / METRICS_FILE, {"service.name": "ledger"}, "1")
    for index in range(start, start + count):
        point = NumberPoint({"sample": index}, 0, 1_000 + index, float(index))
        writer.add_series([MetricSeries("process.memory.usage", "", "By", "gauge", (point,))])
    writer.close()


def _delivery(receiver: HttpReceiver, request_bytes: int = 1) -> OtlpDelivery:
    # request_bytes=1: every line is a request of its own, the hardest case for the ledger.
    chain = destination_chain(PrivacySettings(), "otlp")
    return OtlpDelivery(_target(receiver), chain, request_bytes=request_bytes)


def _file_span_ids(folder: Path) -> list[str]:
    return [
        span["spanId"]
        for line in read_lines(folder / "traces.jsonl").items
        for resource in line.document["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]


def _duplicates(values: list[object]) -> int:
    return sum(count - 1 for count in collections.Counter(values).values())


@pytest.mark.parametrize("acknowledged_first", [1, 2, 5])
def test_a_collector_failing_after_some_requests_gets_every_line_once(
    tmp_path: Path, acknowledged_first: int
) -> None:
    """Acknowledged requests are never sent again: after the failure a replay sends the rest."""
    folder = create_run_folder(tmp_path / "runs", "run")
    _append_spans(folder, 12, "s")
    _append_metrics(folder, 6, 0)
    with HttpReceiver(acknowledge=acknowledged_first) as receiver:
        with pytest.raises(otlp.NotDelivered, match="HTTP 500"):
            _delivery(receiver).deliver_run(folder)
        assert len(receiver.requests) == acknowledged_first
        receiver.acknowledge = None  # the collector recovers
        sent = _delivery(receiver).deliver_run(folder)
        assert sent == f"{12 - acknowledged_first} spans, 6 metric points"
        assert _delivery(receiver).deliver_run(folder) == "", "nothing is missing any more"
    sent_ids = span_ids(receiver.requests)
    assert _duplicates(sent_ids) == 0
    assert sorted(sent_ids) == sorted(bytes.fromhex(i).hex() for i in _file_span_ids(folder))
    points = metric_points(receiver.metric_requests)
    assert _duplicates(points) == 0
    assert len(points) == 6


def test_lines_appended_after_delivery_are_sent_and_only_they(tmp_path: Path) -> None:
    """Late lines (spans of orphaned workers) are unacknowledged ranges: replay sends them."""
    folder = create_run_folder(tmp_path / "runs", "run")
    _append_spans(folder, 5, "early")
    with HttpReceiver() as receiver:
        assert _delivery(receiver, 1 << 20).deliver_run(folder) == "5 spans"
        _append_spans(folder, 4, "late")
        _append_metrics(folder, 2, 0)
        assert _delivery(receiver, 1 << 20).deliver_run(folder) == "4 spans, 2 metric points"
    # Two lines in one request: both lines' points arrive (the SDK encoder keeps one entry per
    # resource, so the lines are merged before it).
    assert len(metric_points(receiver.metric_requests)) == 2
    names = [
        span.name
        for request in receiver.requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert sorted(names) == sorted([f"early{i}" for i in range(5)] + [f"late{i}" for i in range(4)])
    record = json.loads((folder / "delivery.json").read_text())[_target(receiver).key]
    size = (folder / "traces.jsonl").stat().st_size
    assert record["acknowledged"]["traces.jsonl"] == [[0, size]], "adjacent requests merge"
    assert record["requests"] == 3


def test_a_late_acknowledgement_is_recorded_when_the_sender_is_still_alive(tmp_path: Path) -> None:
    """An acknowledgement that arrives after the run's delivery wait still lands in the ledger
    while the process lives (the delivery thread records it), so nothing is resent."""
    from otel_kedro.exporters.delivery import deliver_in_background

    folder = create_run_folder(tmp_path / "runs", "run")
    _append_spans(folder, 3, "s")
    with HttpReceiver(answer_after=1.0) as receiver:
        delivery = _delivery(receiver, 1 << 20)
        threads = deliver_in_background(folder, [("otlp", delivery.deliver_run)], wait_s=0.05)
        assert not (folder / "delivery.json").exists(), "the wait ended before the answer"
        for thread in threads:
            thread.join(30)
        receiver.answer_after = 0
        assert delivery.deliver_run(folder) == ""
    assert _duplicates(span_ids(receiver.requests)) == 0
    assert len(span_ids(receiver.requests)) == 3


def test_force_sends_acknowledged_lines_again(tmp_path: Path) -> None:
    folder = create_run_folder(tmp_path / "runs", "run")
    _append_spans(folder, 2, "s")
    with HttpReceiver() as receiver:
        _delivery(receiver).deliver_run(folder)
        assert _delivery(receiver).deliver_run(folder, force=True) == "2 spans"
    assert len(span_ids(receiver.requests)) == 4


@pytest.mark.parametrize("gap", [0, 5])
def test_the_ledger_costs_one_replace_per_request(tmp_path: Path, gap: int) -> None:
    """Recording one acknowledged request is one read-merge-replace of delivery.json; adjacent
    requests merge into one range, gaps stay gaps. The cost is printed for the README (not
    asserted: no timed assertions)."""
    from otel_kedro.exporters import ledger

    folder = create_run_folder(tmp_path / "runs", "run")
    rounds = 300
    start = time.perf_counter()
    for index in range(rounds):
        ranges = [(index * 10, index * 10 + 10 - gap)]
        ledger.record_acknowledged(folder, "otlp x", "traces.jsonl", ranges)
    elapsed = (time.perf_counter() - start) / rounds
    ranges = ledger.acknowledged(folder, "otlp x", "traces.jsonl")
    assert len(ranges) == (rounds if gap else 1)
    assert ledger.covers(ranges, 0, 10 - gap)
    assert ledger.covers(ranges, 10, 20 - gap)
    assert not ledger.covers(ranges, 5, 15) or not gap
    print(f"ledger record: {elapsed * 1e3:.2f} ms per request, {len(ranges)} range(s)")
