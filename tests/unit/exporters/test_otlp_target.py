"""exporters.otlp_target: protocol and endpoints from the OTLP variables as the specification
says, what a target's key shows, and the credentials the variables hold."""

from __future__ import annotations

import pytest

from otel_kedro.exporters import otlp_target
from otel_kedro.exporters.otlp_target import OtlpTarget, target_from_env


def test_defaults_are_http_protobuf_on_4318() -> None:
    assert target_from_env({}) == OtlpTarget(
        otlp_target.HTTP,
        "http://localhost:4318/v1/traces",
        "http://localhost:4318/v1/metrics",
        "http://localhost:4318/v1/logs",
    )


def test_grpc_default_endpoint() -> None:
    target = target_from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert target == OtlpTarget(otlp_target.GRPC, *["http://localhost:4317"] * 3)


@pytest.mark.parametrize("base", ["http://127.0.0.1:9999", "http://127.0.0.1:9999/"])
def test_http_base_endpoint_gets_signal_paths(base: str) -> None:
    target = target_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": base})
    assert target.traces_endpoint == "http://127.0.0.1:9999/v1/traces"
    assert target.metrics_endpoint == "http://127.0.0.1:9999/v1/metrics"
    assert target.logs_endpoint == "http://127.0.0.1:9999/v1/logs"


def test_logs_endpoint_and_protocol_variables() -> None:
    """The logs signal reads its own endpoint variable, and must share the traces' protocol."""
    target = target_from_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://127.0.0.1:4/custom/logs",
        }
    )
    assert target.logs_endpoint == "http://127.0.0.1:4/custom/logs"
    assert target.endpoint("logs") == target.logs_endpoint
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_LOGS_PROTOCOL='grpc' differs"):
        target_from_env({"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc"})


def test_http_base_endpoint_with_a_path_keeps_it() -> None:
    target = target_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1/otlp"})
    assert target.traces_endpoint == "https://127.0.0.1/otlp/v1/traces"


def test_grpc_base_endpoint_is_used_as_is() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4317",
    }
    target = target_from_env(environ)
    assert (target.traces_endpoint, target.metrics_endpoint) == ("https://127.0.0.1:4317",) * 2


@pytest.mark.parametrize("protocol", [otlp_target.HTTP, otlp_target.GRPC])
def test_per_signal_endpoints_win_and_are_used_as_is(protocol: str) -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:2/custom/traces",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:3",
    }
    target = target_from_env(environ)
    assert target.traces_endpoint == "http://127.0.0.1:2/custom/traces"
    assert target.metrics_endpoint == "http://127.0.0.1:3"


def test_one_per_signal_endpoint_leaves_the_other_on_the_base() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:2/v1/traces",
    }
    target = target_from_env(environ)
    assert target.traces_endpoint == "http://127.0.0.1:2/v1/traces"
    assert target.metrics_endpoint == "http://127.0.0.1:1/v1/metrics"


def test_an_explicit_endpoint_overrides_every_variable() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:2/v1/traces",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:3/v1/metrics",
    }
    target = target_from_env(environ, "http://127.0.0.1:4")
    assert target.traces_endpoint == "http://127.0.0.1:4/v1/traces"
    assert target.metrics_endpoint == "http://127.0.0.1:4/v1/metrics"


def test_empty_variables_count_as_unset() -> None:
    environ = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": " ", "OTEL_EXPORTER_OTLP_PROTOCOL": ""}
    assert target_from_env(environ) == target_from_env({})


def test_per_signal_protocol_wins() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc",
    }
    assert target_from_env(environ).protocol == otlp_target.GRPC


@pytest.mark.parametrize(
    "variable",
    [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    ],
)
def test_unknown_protocol_names_variable_value_and_choices(variable: str) -> None:
    with pytest.raises(ValueError, match="protocol") as error:
        target_from_env({variable: "http/json"})
    message = str(error.value)
    assert variable in message
    assert "'http/json'" in message
    assert "grpc" in message
    assert "http/protobuf" in message


def test_a_metrics_protocol_other_than_the_traces_one_is_an_error() -> None:
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_METRICS_PROTOCOL='grpc'"):
        target_from_env({"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"})


@pytest.mark.parametrize(
    ("endpoint", "key"),
    [
        (
            "https://alice:s3cret@127.0.0.1:4318",
            "otlp http/protobuf https://127.0.0.1:4318/v1/traces",
        ),
        (
            "https://tok%40en@127.0.0.1:4318/p",
            "otlp http/protobuf https://127.0.0.1:4318/p/v1/traces",
        ),
        ("http://127.0.0.1:4318", "otlp http/protobuf http://127.0.0.1:4318/v1/traces"),
    ],
)
def test_key_has_no_userinfo(endpoint: str, key: str) -> None:
    assert target_from_env({}, endpoint).key == key


def test_grpc_key_without_scheme_has_no_userinfo() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "bob:pw@127.0.0.1:4317",
    }
    assert target_from_env(environ).key == "otlp grpc 127.0.0.1:4317"


def test_key_keeps_an_at_sign_in_the_path() -> None:
    target = OtlpTarget(otlp_target.HTTP, "http://127.0.0.1/a@b/v1/traces", "")
    assert target.key == "otlp http/protobuf http://127.0.0.1/a@b/v1/traces"


def test_credential_values_are_every_header_value_and_endpoint_userinfo() -> None:
    """What the run redacts from OTLP configuration: header values, raw and decoded, and each
    endpoint's userinfo with its user and password, for every signal's variables.
    """
    from otel_kedro.exporters.otlp_target import credential_values

    values = set(
        credential_values(
            {
                "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=k3y%2Fvalue, team = blue",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://otuser:EpPw7Qx9@127.0.0.1:4318",
                "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "authorization=Basic abc",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "127.0.0.1:4317",
            }
        )
    )
    assert {"k3y%2Fvalue", "k3y/value", "blue", "Basic abc"} <= values
    assert {"otuser:EpPw7Qx9", "otuser", "EpPw7Qx9"} <= values
    assert not any("127.0.0.1" in value for value in values)
