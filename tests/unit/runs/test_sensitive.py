"""The run's known values: gathered from params, credentials and OTLP variables; handed to
workers within the environment's size limits.
"""

from __future__ import annotations

import pytest

from otel_kedro.runs.sensitive import for_workers, known_values_of


def test_params_credentials_and_otlp_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=hdrvalueqwmzpl")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otuser:EpPw7Qx9Lm2Zr5Tk@127.0.0.1:1")
    known = known_values_of(
        {"runtime_params": {"quality": {"note": "pvhmswruuozy"}}, "pipeline_names": ["fail"]},
        {"db": {"account": "qzkvbnwexyrt", "port": 5432}},
    )
    assert {"pvhmswruuozy", "qzkvbnwexyrt", "hdrvalueqwmzpl", "EpPw7Qx9Lm2Zr5Tk", "otuser"} <= known
    assert "fail" not in known, "only runtime params, not the other run parameters"
    assert "5432" not in known


def test_workers_get_what_fits_in_an_environment_variable() -> None:
    short = {f"value{i:04d}x" for i in range(100)}
    assert set(for_workers(frozenset(short))) == short
    huge = frozenset({"k" * 5000, *short})
    assert "k" * 5000 not in for_workers(huge), "a value over 1 KiB is left to the scrubber"
    many = frozenset(f"{i:0900d}" for i in range(100))  # 90 KB in all
    assert sum(map(len, for_workers(many))) <= 32 * 1024
