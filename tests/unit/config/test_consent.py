"""Consent: vetoes first, then our own explicit setting, then .telemetry, else local only."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from otel_kedro.config.consent import ConsentDecision, resolve_consent
from otel_kedro.config.settings import load_settings

VETOES = [{}, {"DO_NOT_TRACK": "1"}, {"KEDRO_DISABLE_TELEMETRY": "0"}]
TELEMETRY = {
    "true": "consent: true\n",
    "false": "consent: false\n",
    "malformed": "consent: [",
    "missing": None,
}
OURS = {"true": "true", "false": "false", "malformed": "perhaps", "missing": None}


def _loader(project: Path, local: str | None = None, base: str | None = None) -> OmegaConfigLoader:
    """A Kedro config loader over ``project/conf`` with the given ``otel.yml`` files."""
    for env, text in (("base", base), ("local", local)):
        (project / "conf" / env).mkdir(parents=True, exist_ok=True)
        if text is not None:
            (project / "conf" / env / "otel.yml").write_text(text)
    return OmegaConfigLoader(str(project / "conf"), base_env="base", default_run_env="local")


def _decide(
    project: Path, environ: dict[str, str], loader: OmegaConfigLoader | None = None
) -> tuple[ConsentDecision, list[str]]:
    """The consent decision of a project, and every problem met on the way."""
    loaded = load_settings(project, loader, environ=environ)
    decision = resolve_consent(loaded.settings, project, environ)
    return decision, [*loaded.problems, *decision.problems]


class TestMatrix:
    """Every combination of vetoes, ``.telemetry`` and ``OTEL_KEDRO_CONSENT``: first match wins."""

    @pytest.mark.parametrize(
        ("veto", "telemetry", "ours"),
        list(itertools.product(range(len(VETOES)), TELEMETRY, OURS)),
    )
    def test_consent_matrix(self, tmp_path: Path, veto: int, telemetry: str, ours: str) -> None:
        """A veto wins; then our consent, even malformed (not given); then .telemetry; else off."""
        if TELEMETRY[telemetry] is not None:
            (tmp_path / ".telemetry").write_text(TELEMETRY[telemetry])
        environ = dict(VETOES[veto])
        if OURS[ours] is not None:
            environ["OTEL_KEDRO_CONSENT"] = OURS[ours]
        decision, problems = _decide(tmp_path, environ)

        if VETOES[veto]:
            expected, source = False, "environment variable"
        elif ours != "missing":
            expected, source = ours == "true", "environment variable OTEL_KEDRO_CONSENT"
        elif telemetry in {"true", "false"}:
            expected, source = telemetry == "true", str(tmp_path / ".telemetry")
        else:
            expected, source = False, "nothing set: local files only"
        assert decision.granted is expected
        assert decision.vetoed is bool(VETOES[veto])
        assert decision.source.startswith(source)
        if ours == "malformed":
            assert any("OTEL_KEDRO_CONSENT" in p and "'perhaps'" in p for p in problems)
        if telemetry == "malformed" and not VETOES[veto] and ours == "missing":
            assert any(str(tmp_path / ".telemetry") in p for p in decision.problems)


class TestOurConsent:
    """Our explicit consent wins over ``.telemetry``; a malformed one means "not given"."""

    def test_otel_yml_consent_beats_the_telemetry_file(self, tmp_path: Path) -> None:
        """consent: true in conf/local/otel.yml wins over .telemetry's consent: false."""
        (tmp_path / ".telemetry").write_text("consent: false\n")
        decision, problems = _decide(tmp_path, {}, _loader(tmp_path, local="consent: true\n"))
        assert problems == []
        assert decision.granted
        assert decision.source == f"otel.yml under {tmp_path / 'conf'}"

    def test_environment_beats_otel_yml(self, tmp_path: Path) -> None:
        """OTEL_KEDRO_CONSENT=false wins over consent: true in otel.yml."""
        loader = _loader(tmp_path, local="consent: true\n")
        decision, _ = _decide(tmp_path, {"OTEL_KEDRO_CONSENT": "false"}, loader)
        assert not decision.granted
        assert decision.source == "environment variable OTEL_KEDRO_CONSENT"

    def test_malformed_environment_consent_never_falls_through_to_otel_yml(
        self, tmp_path: Path
    ) -> None:
        """consent: true in otel.yml plus OTEL_KEDRO_CONSENT=never sends nothing."""
        loader = _loader(tmp_path, local="consent: true\n")
        decision, problems = _decide(tmp_path, {"OTEL_KEDRO_CONSENT": "never"}, loader)
        assert not decision.granted
        assert not decision.vetoed
        assert decision.source.startswith("environment variable OTEL_KEDRO_CONSENT")
        assert problems == [
            "environment variable OTEL_KEDRO_CONSENT: key 'consent' has value 'never'; "
            "expected true or false. Consent is treated as not given: nothing is sent this run."
        ]

    def test_malformed_otel_yml_consent_never_falls_through_to_pyproject(
        self, tmp_path: Path
    ) -> None:
        """consent: maybe in otel.yml hides consent = true in [tool.otel_kedro]."""
        (tmp_path / "pyproject.toml").write_text("[tool.otel_kedro]\nconsent = true\n")
        decision, problems = _decide(tmp_path, {}, _loader(tmp_path, base="consent: maybe\n"))
        assert not decision.granted
        assert decision.source.startswith(f"otel.yml under {tmp_path / 'conf'}")
        assert len(problems) == 1
        assert "key 'consent' has value 'maybe'" in problems[0]
        assert "nothing is sent" in problems[0]

    def test_malformed_consent_never_falls_through_to_the_telemetry_file(
        self, tmp_path: Path
    ) -> None:
        """A malformed consent in pyproject hides .telemetry's consent: true."""
        (tmp_path / ".telemetry").write_text("consent: true\n")
        (tmp_path / "pyproject.toml").write_text('[tool.otel_kedro]\nconsent = "sure"\n')
        decision, problems = _decide(tmp_path, {})
        assert not decision.granted
        assert decision.source.startswith(str(tmp_path / "pyproject.toml"))
        assert "'sure'" in decision.source
        assert len(problems) == 1

    def test_a_higher_valid_layer_still_decides(self, tmp_path: Path) -> None:
        """A malformed consent in a lower layer is overridden by a valid one above it."""
        (tmp_path / "pyproject.toml").write_text('[tool.otel_kedro]\nconsent = "sure"\n')
        decision, _ = _decide(tmp_path, {"OTEL_KEDRO_CONSENT": "yes"})
        assert decision.granted
        assert decision.source == "environment variable OTEL_KEDRO_CONSENT"

    def test_unreadable_otel_yml_means_not_given(self, tmp_path: Path) -> None:
        """An otel.yml that cannot be read might have refused: .telemetry's consent is not used."""
        (tmp_path / ".telemetry").write_text("consent: true\n")
        loader = _loader(tmp_path, local="consent: [false\n")
        decision, problems = _decide(tmp_path, {}, loader)
        assert not decision.granted
        assert decision.source == f"otel.yml under {tmp_path / 'conf'}, which cannot be read"
        assert len(problems) == 1
        assert "cannot be read" in problems[0]


class TestTelemetryFile:
    """The project's ``.telemetry`` decides only when we have no consent of our own."""

    @pytest.mark.parametrize("text", ["consent: [", "consent: maybe\n", "- consent\n", ""])
    def test_malformed_telemetry_file_means_not_given(self, tmp_path: Path, text: str) -> None:
        """A malformed .telemetry is one problem naming the file, and nothing is sent."""
        (tmp_path / ".telemetry").write_text(text)
        decision, problems = _decide(tmp_path, {})
        assert not decision.granted
        assert decision.source == "nothing set: local files only"
        assert len(problems) == 1
        assert problems[0].startswith(f"{tmp_path / '.telemetry'}: ")
        assert "not given" in problems[0]

    def test_unreadable_telemetry_file_means_not_given(self, tmp_path: Path) -> None:
        """A .telemetry that is a folder cannot be read, and means not given."""
        (tmp_path / ".telemetry").mkdir()
        decision, problems = _decide(tmp_path, {})
        assert not decision.granted
        assert problems[0].startswith(f"{tmp_path / '.telemetry'}: cannot be read")

    def test_without_a_project_nothing_is_sent(self) -> None:
        """Outside a project, with nothing set, remote export is off."""
        decision = resolve_consent(load_settings(None, environ={}).settings, None, {})
        assert (decision.granted, decision.vetoed) == (False, False)


class TestDescribe:
    """``ConsentDecision.describe`` is the one line ``otel-kedro consent status`` prints."""

    def test_vetoed_decision_says_nothing_overrides_it(self) -> None:
        """A veto names its variable and says it cannot be overridden."""
        decision = ConsentDecision(False, True, "environment variable DO_NOT_TRACK='1'")
        assert decision.describe() == (
            "remote export: off (vetoed by environment variable DO_NOT_TRACK='1'; "
            "nothing overrides a veto)"
        )

    @pytest.mark.parametrize(("granted", "state"), [(True, "on"), (False, "off")])
    def test_decision_names_its_source(self, granted: bool, state: str) -> None:
        """A decision says on or off and which source decided."""
        decision = ConsentDecision(granted, False, "otel.yml under conf")
        assert decision.describe() == f"remote export: {state} (decided by otel.yml under conf)"
