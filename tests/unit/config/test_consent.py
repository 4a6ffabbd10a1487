"""Consent: vetoes first, then our own explicit setting, then .telemetry, else local only."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from otel_kedro.config.consent import resolve_consent
from otel_kedro.config.settings import load_settings
from tests.support.kedro_projects import BIN, clean_env

VETOES = [{}, {"DO_NOT_TRACK": "1"}, {"KEDRO_DISABLE_TELEMETRY": "0"}]
TELEMETRY = {
    "true": "consent: true\n",
    "false": "consent: false\n",
    "malformed": "consent: [",
    "missing": None,
}
OURS = {"true": "true", "false": "false", "malformed": "perhaps", "missing": None}


@pytest.mark.parametrize(
    ("veto", "telemetry", "ours"), list(itertools.product(range(len(VETOES)), TELEMETRY, OURS))
)
def test_consent_matrix(tmp_path: Path, veto: int, telemetry: str, ours: str) -> None:
    if TELEMETRY[telemetry] is not None:
        (tmp_path / ".telemetry").write_text(TELEMETRY[telemetry])
    environ = dict(VETOES[veto])
    if OURS[ours] is not None:
        environ["OTEL_KEDRO_CONSENT"] = OURS[ours]
    loaded = load_settings(tmp_path, environ=environ)
    decision = resolve_consent(loaded.settings, tmp_path, environ)

    if VETOES[veto]:
        expected, source = False, "environment variable"
    elif ours in {"true", "false"}:
        expected, source = ours == "true", "environment variable OTEL_KEDRO_CONSENT"
    elif telemetry in {"true", "false"}:
        expected, source = telemetry == "true", str(tmp_path / ".telemetry")
    else:
        expected, source = False, "nothing set: local files only"
    assert decision.granted is expected
    assert decision.vetoed is bool(VETOES[veto])
    assert decision.source.startswith(source)
    problems = [*loaded.problems, *decision.problems]
    if ours == "malformed":
        assert any("OTEL_KEDRO_CONSENT" in p and "'perhaps'" in p for p in problems)
    if telemetry == "malformed" and not VETOES[veto] and ours not in {"true", "false"}:
        assert any(str(tmp_path / ".telemetry") in p for p in decision.problems)


def test_otel_yml_consent_beats_the_telemetry_file(example_project: Path) -> None:
    (example_project / "conf" / "local" / "otel.yml").write_text("consent: true\n")
    assert (example_project / ".telemetry").read_text() == "consent: false\n"
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(
        str(example_project / "conf"), base_env="base", default_run_env="local"
    )
    decision = resolve_consent(
        load_settings(example_project, loader, environ={}).settings, example_project, {}
    )
    assert decision.granted
    assert decision.source.startswith("otel.yml under")


def _cli(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = clean_env(**env)
    base.pop("KEDRO_DISABLE_TELEMETRY")  # a veto: these tests are about consent itself
    # kedro-telemetry is silenced by the example's .telemetry; should anything still try to
    # reach the network, it meets a refused loopback port.
    base.update(
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=project,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_consent_commands(example_project: Path) -> None:
    status = _cli(example_project, "otel-kedro", "consent", "status")
    assert status.returncode == 0, status.stderr
    assert (
        status.stdout.strip() == f"remote export: off (decided by {example_project / '.telemetry'})"
    )

    grant = _cli(example_project, "otel-kedro", "consent", "grant")
    assert grant.returncode == 0, grant.stderr
    assert (example_project / "conf" / "local" / "otel.yml").read_text() == "consent: true\n"
    assert grant.stdout.strip().endswith(
        f"remote export: on (decided by otel.yml under {example_project / 'conf'})"
    )

    inside = _cli(example_project, "kedro", "otel", "consent", "status")
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip().endswith(
        "remote export: on (decided by otel.yml under " + str(example_project / "conf") + ")"
    )

    vetoed = _cli(example_project, "otel-kedro", "consent", "status", DO_NOT_TRACK="1")
    assert "vetoed by environment variable DO_NOT_TRACK='1'" in vetoed.stdout

    deny = _cli(example_project, "otel-kedro", "consent", "deny")
    assert deny.returncode == 0
    assert "remote export: off" in deny.stdout

    (example_project / "conf" / "local" / "otel.yml").write_text("consent: [\n")
    broken = _cli(example_project, "otel-kedro", "consent", "grant")
    assert broken.returncode != 0
    assert "is not valid YAML" in broken.stderr
    assert (example_project / "conf" / "local" / "otel.yml").read_text() == "consent: [\n"


def test_a_run_with_consent_configured_is_unchanged(example_project: Path) -> None:
    (example_project / "conf" / "local" / "otel.yml").write_text("consent: true\n")
    result = _cli(
        example_project,
        "kedro",
        "run",
        "--pipeline",
        "data_processing",
        OTEL_KEDRO_ANNOUNCE="false",
        OTEL_KEDRO_SUMMARY="false",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "otel-kedro:" not in result.stdout + result.stderr


def test_check_exits_non_zero_on_the_mistakes_a_run_only_warns_about(example_project: Path) -> None:
    ok = _cli(example_project, "otel-kedro", "check")
    assert ok.returncode == 0, ok.stderr
    assert "configuration: ok" in ok.stdout

    (example_project / "conf" / "base" / "otel.yml").write_text(
        "announce: perhaps\noutptu_dir: x\n"
    )
    bad = _cli(example_project, "otel-kedro", "check")
    assert bad.returncode == 1
    problems = [line for line in bad.stderr.splitlines() if line.startswith("otel-kedro:")]
    assert len(problems) == 2
    assert any("key 'announce' has value 'perhaps'; expected true or false" in p for p in problems)
    assert any("unknown key 'outptu_dir'" in p for p in problems)
    inside = _cli(example_project, "kedro", "otel", "check")
    assert inside.returncode == 1

    run = _cli(example_project, "kedro", "run", "--pipeline", "data_processing")
    assert run.returncode == 0, "the same mistakes never cost a run"
