"""A malformed consent value at any layer means "not given" for the run (issue 10, case 4): it
never falls through to a lower layer's consent, and the warning says nothing is sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kedro_projects import remote_env, run_folders, run_kedro
from tests.support.otlp_receivers import HttpReceiver


@pytest.mark.parametrize("value", ["never", "disabled"])
def test_malformed_environment_consent_over_otel_yml_true_sends_nothing(
    example_project: Path, tmp_path: Path, value: str
) -> None:
    """``consent: true`` in conf/base/otel.yml plus OTEL_KEDRO_CONSENT=never: not sent."""
    (example_project / "conf" / "base" / "otel.yml").write_text("consent: true\n")
    with HttpReceiver() as receiver:
        env = remote_env(
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_KEDRO_CONSENT=value,
            OTEL_KEDRO_DELIVERY_WAIT="5",
        )
        result = run_kedro(example_project, "run", "--pipeline", "data_processing", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert receiver.requests == []
    assert receiver.metric_requests == []
    warning = (
        f"environment variable OTEL_KEDRO_CONSENT: key 'consent' has value '{value}'; "
        "expected true or false. Consent is treated as not given: nothing is sent this run."
    )
    output = " ".join((result.stdout + result.stderr).split())  # Kedro's log handler wraps lines
    assert warning in output
    assert "lower layer" not in output
    (folder,) = run_folders(example_project)
    assert (folder / "traces.jsonl").stat().st_size > 0, "local files are still written"
    assert not (folder / "delivery.json").exists()
