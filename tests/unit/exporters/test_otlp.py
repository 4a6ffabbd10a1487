"""exporters.otlp: a run prepares the exporters of its protocol (sending is tested against real
receivers in tests/integration)."""

from __future__ import annotations

from otel_kedro.exporters import otlp
from otel_kedro.exporters.otlp_target import target_from_env


def test_prepare_imports_the_exporters_of_the_protocol() -> None:
    import sys

    otlp.prepare(target_from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}))
    assert "opentelemetry.exporter.otlp.proto.grpc.trace_exporter" in sys.modules
    assert "opentelemetry.exporter.otlp.proto.grpc.metric_exporter" in sys.modules
    otlp.prepare(target_from_env({}))
    assert "opentelemetry.exporter.otlp.proto.http.trace_exporter" in sys.modules
    assert "opentelemetry.exporter.otlp.proto.http.metric_exporter" in sys.modules
