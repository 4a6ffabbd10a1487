"""The OTLP transport against real OTLP peers on 127.0.0.1: TLS with a private CA, mutual TLS,
gzip on the wire, headers, gRPC over TLS, a backend without metrics, and failures that are one
line and no traceback. What the receivers got is decoded with opentelemetry-proto."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_kedro.exporters import otlp, otlp_target
from tests.support.otlp_receivers import (
    GrpcReceiver,
    HttpReceiver,
    metric_names,
    refused_endpoint,
    span_ids,
)
from tests.support.tls import Pki, make_pki


def _send_spans(spans: list[ReadableSpan], target: otlp_target.OtlpTarget) -> None:
    """One traces request through the sender delivery uses; NotDelivered unless acknowledged."""
    otlp.send_requests(target, "traces", [(None, spans)], lambda _token: None)


def _send_metrics(data: MetricsData, target: otlp_target.OtlpTarget) -> None:
    """One metrics request; MetricsUnsupported from a backend without metrics."""
    otlp.send_requests(
        target, "metrics", [(None, data)], lambda _token: None, otlp.MetricsUnsupported
    )


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTLP or proxy variable of the machine running the tests leaks into them."""
    for name in list(os.environ):
        if name.startswith("OTEL_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3")  # seconds for the Python SDK


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def make_spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "tls-test"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("otel-kedro-test")
    with tracer.start_as_current_span("RUN __default__") as run:
        run.set_attribute("cicd.pipeline.name", "__default__")
        with tracer.start_as_current_span("split_data") as node:
            node.set_attribute("kedro.node.tags", ["a", "b"])
    provider.shutdown()
    return list(memory.get_finished_spans())


def make_metrics() -> MetricsData:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("otel-kedro-test").create_counter("kedro.nodes").add(3, {"k": "v"})
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    return data


def sent_ids(spans: list[ReadableSpan]) -> list[str]:
    return [format(span.context.span_id, "016x") for span in spans]


def received(receiver: HttpReceiver | GrpcReceiver) -> list[tuple[str, str, str]]:
    """(trace id, span id, name) of every span the receiver decoded."""
    return [
        (span.trace_id.hex(), span.span_id.hex(), span.name)
        for request in receiver.requests
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def expected(spans: list[ReadableSpan]) -> list[tuple[str, str, str]]:
    return [
        (format(s.context.trace_id, "032x"), format(s.context.span_id, "016x"), s.name)
        for s in spans
    ]


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """After the test body: nothing of the SDK's reached the root logger or stderr."""
    caplog.set_level(logging.DEBUG)
    yield
    _, err = capfd.readouterr()
    assert "Traceback" not in err
    assert "Failed to export" not in err
    sdk = [r for r in caplog.get_records("call") if r.name.startswith("opentelemetry.exporter")]
    assert [r.getMessage() for r in sdk if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"]
)
def test_http_over_tls_with_a_private_ca(
    monkeypatch: pytest.MonkeyPatch, pki: Pki, variable: str, quiet: None
) -> None:
    spans = make_spans()
    with HttpReceiver(tls=pki) as receiver:
        assert receiver.endpoint.startswith("https://127.0.0.1:")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv(variable, str(pki.ca))
        _send_spans(spans, otlp_target.target_from_env(os.environ))
    assert received(receiver) == expected(spans)
    assert receiver.tls_errors == []


def test_http_over_tls_without_the_ca_is_not_delivered(
    monkeypatch: pytest.MonkeyPatch, pki: Pki, quiet: None
) -> None:
    with HttpReceiver(tls=pki) as receiver:
        target = otlp_target.target_from_env(os.environ, receiver.endpoint)
        with pytest.raises(otlp.NotDelivered, match="certificate"):
            _send_spans(make_spans(), target)
    assert receiver.requests == []


def test_mutual_tls_needs_the_client_certificate(
    monkeypatch: pytest.MonkeyPatch, pki: Pki, quiet: None
) -> None:
    spans = make_spans()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(pki.ca))
    with HttpReceiver(tls=pki, require_client_cert=True) as receiver:
        target = otlp_target.target_from_env(os.environ, receiver.endpoint)
        with pytest.raises(otlp.NotDelivered) as refused:
            _send_spans(spans, target)
        assert receiver.requests == []
        assert receiver.tls_errors  # the server refused the handshake
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", str(pki.client_key))
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", str(pki.client_cert))
        _send_spans(spans, target)
    assert received(receiver) == expected(spans)
    assert "\n" not in str(refused.value)
    assert "CLIENT_CERTIFICATE" in str(refused.value)


@pytest.mark.parametrize(
    ("variable", "value", "encoding"),
    [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip", "gzip"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none", None),
    ],
)
def test_compression_on_the_wire(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, encoding: str | None
) -> None:
    spans = make_spans()
    monkeypatch.setenv(variable, value)
    with HttpReceiver() as receiver:
        _send_spans(spans, otlp_target.target_from_env(os.environ, receiver.endpoint))
    assert receiver.content_encodings == [encoding]
    assert received(receiver) == expected(spans)


def test_grpc_over_tls_with_a_private_ca(
    monkeypatch: pytest.MonkeyPatch, pki: Pki, quiet: None
) -> None:
    spans = make_spans()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(pki.ca))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    with GrpcReceiver(tls=pki) as receiver:
        assert receiver.endpoint.startswith("https://127.0.0.1:")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        target = otlp_target.target_from_env(os.environ)
        assert target.protocol == otlp_target.GRPC
        _send_spans(spans, target)
        _send_metrics(make_metrics(), target)
    assert received(receiver) == expected(spans)
    assert metric_names(receiver.metric_requests) == {"kedro.nodes"}


def test_grpc_mutual_tls(monkeypatch: pytest.MonkeyPatch, pki: Pki, quiet: None) -> None:
    spans = make_spans()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", str(pki.ca))
    with GrpcReceiver(tls=pki, require_client_cert=True) as receiver:
        target = otlp_target.target_from_env(os.environ, receiver.endpoint)
        with pytest.raises(otlp.NotDelivered):
            _send_spans(spans, target)
        assert receiver.requests == []
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", str(pki.client_key))
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", str(pki.client_cert))
        _send_spans(spans, target)
    assert received(receiver) == expected(spans)


def test_grpc_with_the_wrong_ca_is_not_delivered(
    monkeypatch: pytest.MonkeyPatch, pki: Pki, tmp_path: Path, quiet: None
) -> None:
    other = make_pki(tmp_path / "other", name="other")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(other.ca))
    with GrpcReceiver(tls=pki) as receiver:
        target = otlp_target.target_from_env(os.environ, receiver.endpoint)
        with pytest.raises(otlp.NotDelivered) as failure:
            _send_spans(make_spans(), target)
    assert receiver.requests == []
    assert "\n" not in str(failure.value)
    assert receiver.endpoint.removeprefix("https://") in str(failure.value)


@pytest.mark.parametrize("protocol", [otlp_target.HTTP, otlp_target.GRPC])
def test_headers_reach_the_receiver(monkeypatch: pytest.MonkeyPatch, protocol: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,authorization=Bearer%20t0k3n")
    receiver_class = GrpcReceiver if protocol == otlp_target.GRPC else HttpReceiver
    with receiver_class() as receiver:
        _send_spans(make_spans(), otlp_target.target_from_env(os.environ, receiver.endpoint))
    seen = receiver.metadata if isinstance(receiver, GrpcReceiver) else receiver.headers
    assert len(seen) == 1
    assert seen[0]["x-tenant"] == "acme"
    assert seen[0]["authorization"] == "Bearer t0k3n"


@pytest.mark.parametrize("protocol", [otlp_target.HTTP, otlp_target.GRPC])
def test_metrics_to_a_backend_without_metrics(
    monkeypatch: pytest.MonkeyPatch, protocol: str, quiet: None
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    receiver_class = GrpcReceiver if protocol == otlp_target.GRPC else HttpReceiver
    with receiver_class(metrics=False) as receiver:
        target = otlp_target.target_from_env(os.environ, receiver.endpoint)
        _send_spans(make_spans(), target)  # traces are taken
        with pytest.raises(otlp.MetricsUnsupported):
            _send_metrics(make_metrics(), target)
    assert len(receiver.requests) == 1
    if isinstance(receiver, HttpReceiver):
        assert receiver.refused_metrics == 1


@pytest.mark.parametrize("protocol", [otlp_target.HTTP, otlp_target.GRPC])
def test_metrics_are_delivered(monkeypatch: pytest.MonkeyPatch, protocol: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    receiver_class = GrpcReceiver if protocol == otlp_target.GRPC else HttpReceiver
    with receiver_class() as receiver:
        _send_metrics(make_metrics(), otlp_target.target_from_env(os.environ, receiver.endpoint))
    assert metric_names(receiver.metric_requests) == {"kedro.nodes"}


def test_wrong_ca_is_one_line_without_secrets_or_traceback(
    monkeypatch: pytest.MonkeyPatch,
    pki: Pki,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    other = make_pki(tmp_path / "other", name="other")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(other.ca))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=hunter2-secret")
    with HttpReceiver(tls=pki) as receiver:
        port = receiver.endpoint.rsplit(":", 1)[1]
        endpoint = f"https://alice:pa55word@127.0.0.1:{port}"
        target = otlp_target.target_from_env(os.environ, endpoint)
        with pytest.raises(otlp.NotDelivered) as failure:
            _send_spans(make_spans(), target)
    message = str(failure.value)
    assert "TLS certificate verification failed" in message
    assert "OTEL_EXPORTER_OTLP_CERTIFICATE" in message
    assert f"https://127.0.0.1:{port}/v1/traces" in message
    assert "\n" not in message
    for secret in ("pa55word", "alice", "hunter2"):
        assert secret not in message
    _, err = capfd.readouterr()
    assert "Traceback" not in err
    assert "Failed to export" not in err
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")]


def test_an_applications_own_exporter_records_still_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(otlp.NotDelivered):
        _send_spans(make_spans(), otlp_target.target_from_env(os.environ, refused_endpoint()))
    sdk_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    assert sdk_logger.filters  # our capture is attached to the SDK's logger ...
    other = threading.Thread(target=sdk_logger.error, args=("the application's own export",))
    other.start()
    other.join()
    # ... and lets through what other threads log there (an application's own exporters).
    assert [r.getMessage() for r in caplog.records] == ["the application's own export"]


@pytest.mark.parametrize("protocol", [otlp_target.HTTP, otlp_target.GRPC])
def test_proxy_variables_do_not_reroute_telemetry(
    monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    proxy = refused_endpoint()
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "grpc_proxy",
    ):
        monkeypatch.setenv(name, proxy)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    receiver_class = GrpcReceiver if protocol == otlp_target.GRPC else HttpReceiver
    with receiver_class() as receiver:
        spans = make_spans()
        _send_spans(spans, otlp_target.target_from_env(os.environ, receiver.endpoint))
    assert span_ids(receiver.requests) == sent_ids(spans)
