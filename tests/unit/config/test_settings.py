"""Settings: each declared once, read from every layer in order, mistakes named precisely."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kedro.config import OmegaConfigLoader

from otel_kedro.config.environment import PRIVACY_VARIABLES
from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.config.settings import (
    DECLARATIONS,
    DEFAULT_OUTPUT_DIR,
    OPTION_VARIABLES,
    SETTING_VARIABLES,
    Settings,
    load_settings,
    settings_reference,
)

README = Path(__file__).parents[3] / "README.md"
# Every field of Settings as other layers use it: name, type and default.
FIELDS = {
    "enabled": ("bool", True),
    "output_dir": ("Path", Path(DEFAULT_OUTPUT_DIR)),
    "service_name": ("str", "kedro"),
    "announce": ("bool", True),
    "dataset_spans": ("bool", True),
    "provenance": ("bool", True),
    "provenance_hashes": ("bool", False),
    "privacy": ("PrivacySettings", PrivacySettings()),
    "consent": ("bool | None", None),
    "consent_source": ("str | None", None),
    "delivery_wait": ("float", 0.3),
    "otlp": ("bool", True),
    "sampler": ("bool", True),
    "sample_interval": ("float | None", None),
    "pss": ("bool", False),
    "summary": ("bool", True),
    "report": ("bool", True),
    "logs": ("bool", True),
    "logs_level": ("str", "INFO"),
    "heap": ("bool", False),
    "heap_endpoint": ("str", "https://heapanalytics.com/api/track"),
    "heap_app_id": ("str", "2388822444"),
    "keep_runs": ("int | None", None),
}
BOOLEANS = [key for key, (kind, _) in FIELDS.items() if kind == "bool"]


def _conf(project: Path, **files: str) -> OmegaConfigLoader:
    """A Kedro config loader over ``project/conf`` with ``otel.yml`` per environment folder."""
    for env, text in files.items():
        (project / "conf" / env).mkdir(parents=True, exist_ok=True)
        (project / "conf" / env / "otel.yml").write_text(text)
    (project / "conf" / "base").mkdir(parents=True, exist_ok=True)
    (project / "conf" / "local").mkdir(parents=True, exist_ok=True)
    return OmegaConfigLoader(
        str(project / "conf"), base_env="base", default_run_env="local", env=files.get("_env")
    )


class TestDeclarations:
    """Each setting is declared once, and everything about it comes from that declaration."""

    def test_fields_keep_their_names_types_and_defaults(self) -> None:
        """Settings has exactly the fields, types and defaults other layers rely on."""
        fields = {
            field.name: (str(field.type), field.default) for field in dataclasses.fields(Settings)
        }
        assert fields == FIELDS
        assert Settings() == Settings(**{k: v for k, (_, v) in FIELDS.items()})

    def test_every_field_but_consent_source_is_a_setting(self) -> None:
        """consent_source is derived, never configured; all other fields are declared settings."""
        assert set(DECLARATIONS) == set(FIELDS) - {"consent_source"}

    def test_each_setting_has_its_variable(self) -> None:
        """OTEL_KEDRO_<KEY> sets each setting, except privacy, whose options have variables."""
        expected = {f"OTEL_KEDRO_{key.upper()}": key for key in DECLARATIONS if key != "privacy"}
        assert expected == SETTING_VARIABLES
        assert {name: option for name, (_, option) in OPTION_VARIABLES.items()} == dict(
            PRIVACY_VARIABLES
        )

    def test_every_setting_is_documented(self) -> None:
        """Each declaration has a one-line meaning."""
        assert all(d.doc and "\n" not in d.doc for d in DECLARATIONS.values())


class TestSettingsReference:
    """``settings_reference`` documents every setting, and the README shows exactly that table."""

    def test_one_row_per_setting_with_its_variable(self) -> None:
        """The table has a header and one row per setting, naming its key and variable."""
        rows = settings_reference().splitlines()
        assert rows[0] == "| key | env variable | default | meaning |"
        assert len(rows) == 2 + len(DECLARATIONS)
        for row, key in zip(rows[2:], DECLARATIONS, strict=True):
            assert row.startswith(f"| `{key}` | ")
        assert "| `enabled` | `OTEL_KEDRO_ENABLED` | `true` | trace runs at all |" in rows
        assert "`OTEL_KEDRO_HASH_KEY_FILE`" in rows[2 + list(DECLARATIONS).index("privacy")]

    def test_readme_table_is_the_generated_one(self) -> None:
        """The README's configuration table is the generated text (regenerate it if this fails)."""
        lines = README.read_text(encoding="utf-8").splitlines()
        start = lines.index("| key | env variable | default | meaning |")
        end = start
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        assert "\n".join(lines[start:end]) + "\n" == settings_reference()
        assert "## Configuration" in lines[:start]


class TestLogLevel:
    """``logs_level`` takes Python's level names in any case, and nothing else."""

    @pytest.mark.parametrize(
        ("raw", "level"),
        [("debug", "DEBUG"), (" Warning ", "WARNING"), ("warn", "WARNING"), ("FATAL", "CRITICAL")],
    )
    def test_level_names(self, tmp_path: Path, raw: str, level: str) -> None:
        """A level name in any case (and Python's aliases) sets the threshold."""
        loaded = load_settings(tmp_path, environ={"OTEL_KEDRO_LOGS_LEVEL": raw})
        assert loaded.problems == ()
        assert loaded.settings.logs_level == level

    @pytest.mark.parametrize("raw", ["verbose", "10", ""])
    def test_anything_else_is_one_problem_and_the_default(self, tmp_path: Path, raw: str) -> None:
        """An unknown level is reported with what is allowed, and INFO stays."""
        loaded = load_settings(tmp_path, environ={"OTEL_KEDRO_LOGS_LEVEL": raw})
        assert loaded.settings.logs_level == "INFO"
        assert len(loaded.problems) == 1
        assert "OTEL_KEDRO_LOGS_LEVEL" in loaded.problems[0]
        assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in loaded.problems[0]


class TestLayers:
    """Defaults, pyproject, otel.yml and environment variables apply lowest to highest."""

    def test_defaults_without_any_configuration(self, tmp_path: Path) -> None:
        """With nothing configured, the defaults apply and the package names the service."""
        loaded = load_settings(tmp_path, environ={}, package_name="pkg")
        assert loaded.problems == ()
        assert loaded.settings == dataclasses.replace(
            Settings(), output_dir=tmp_path / DEFAULT_OUTPUT_DIR, service_name="pkg"
        )

    def test_service_name_falls_back_to_the_project_folder_then_kedro(self, tmp_path: Path) -> None:
        """Without a package name the project folder names the service; without both, kedro."""
        assert load_settings(tmp_path, environ={}).settings.service_name == tmp_path.name
        assert load_settings(None, environ={}).settings.service_name == "kedro"
        assert load_settings(None, environ={}).settings.output_dir == Path(DEFAULT_OUTPUT_DIR)

    def test_layers_apply_lowest_to_highest(self, tmp_path: Path) -> None:
        """pyproject sets values, environment variables override them, standard OTEL_* win."""
        (tmp_path / "pyproject.toml").write_text(
            '[tool.otel_kedro]\noutput_dir = "from-pyproject"\nannounce = false\n'
            'service_name = "py"\n'
        )
        loaded = load_settings(tmp_path, environ={})
        assert loaded.problems == ()
        assert loaded.settings.output_dir == tmp_path / "from-pyproject"
        assert not loaded.settings.announce
        assert loaded.settings.service_name == "py"

        environ = {"OTEL_KEDRO_OUTPUT_DIR": "/elsewhere", "OTEL_KEDRO_ANNOUNCE": "yes"}
        loaded = load_settings(tmp_path, environ=environ)
        assert loaded.settings.output_dir == Path("/elsewhere")
        assert loaded.settings.announce

        standard = {
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=res,team=a",
            "OTEL_KEDRO_SERVICE_NAME": "x",
        }
        assert load_settings(tmp_path, environ=standard).settings.service_name == "res"
        standard["OTEL_SERVICE_NAME"] = "svc"
        assert load_settings(tmp_path, environ=standard).settings.service_name == "svc"

    def test_otel_yml_sits_between_pyproject_and_environment(self, tmp_path: Path) -> None:
        """otel.yml overrides [tool.otel_kedro]; OTEL_KEDRO_* override otel.yml."""
        (tmp_path / "pyproject.toml").write_text(
            '[tool.otel_kedro]\noutput_dir = "from-pyproject"\npss = true\n'
        )
        loader = _conf(tmp_path, base="output_dir: from-conf\ndelivery_wait: 2\n")
        loaded = load_settings(tmp_path, loader, environ={})
        assert loaded.problems == ()
        assert (loaded.settings.output_dir, loaded.settings.pss) == (tmp_path / "from-conf", True)
        assert loaded.settings.delivery_wait == 2.0
        loaded = load_settings(tmp_path, loader, environ={"OTEL_KEDRO_OUTPUT_DIR": "from-env"})
        assert loaded.settings.output_dir == tmp_path / "from-env"

    def test_conf_local_and_env_override_base(self, tmp_path: Path) -> None:
        """Kedro's loader decides which otel.yml wins: local over base, --env over base."""
        _conf(tmp_path, base="output_dir: from-base\n", local="output_dir: from-local\n")
        _conf(tmp_path, staging="output_dir: from-staging\n")
        local = OmegaConfigLoader(str(tmp_path / "conf"), base_env="base", default_run_env="local")
        assert load_settings(tmp_path, local, environ={}).settings.output_dir == (
            tmp_path / "from-local"
        )
        staging = OmegaConfigLoader(
            str(tmp_path / "conf"), base_env="base", default_run_env="local", env="staging"
        )
        assert load_settings(tmp_path, staging, environ={}).settings.output_dir == (
            tmp_path / "from-staging"
        )

    def test_missing_otel_yml_is_fine(self, tmp_path: Path) -> None:
        """A project without otel.yml has no problems and the defaults."""
        loaded = load_settings(tmp_path, _conf(tmp_path), environ={}, package_name="p")
        assert loaded.problems == ()
        assert loaded.settings.output_dir == tmp_path / DEFAULT_OUTPUT_DIR

    @given(key=st.sampled_from(BOOLEANS), value=st.booleans(), upper=st.booleans())
    def test_every_boolean_setting_reads_its_variable(
        self, key: str, value: bool, upper: bool
    ) -> None:
        """Each boolean setting is set by its own variable, spelled in any case."""
        text = str(value).upper() if upper else str(value).lower()
        loaded = load_settings(None, environ={f"OTEL_KEDRO_{key.upper()}": text})
        assert loaded.problems == ()
        assert getattr(loaded.settings, key) is value

    @pytest.mark.parametrize(
        ("value", "enabled"),
        [("TRUE", False), ("1", False), ("false", True), ("", True), ("maybe", True)],
    )
    def test_otel_sdk_disabled_uses_the_same_parser(self, value: str, enabled: bool) -> None:
        """OTEL_SDK_DISABLED switches everything off when true; invalid means not disabled."""
        loaded = load_settings(None, environ={"OTEL_SDK_DISABLED": value})
        assert loaded.settings.enabled is enabled
        if value == "maybe":
            assert loaded.problems == (
                "environment variable OTEL_SDK_DISABLED='maybe': expected true or false; "
                "treated as false, so telemetry stays on.",
            )
        else:
            assert loaded.problems == ()

    def test_config_dir_variable_is_known_but_not_a_setting(self) -> None:
        """OTEL_KEDRO_CONFIG_DIR (read by the identifier hasher) is not reported as unknown."""
        loaded = load_settings(None, environ={"OTEL_KEDRO_CONFIG_DIR": "/tmp/x"})
        assert loaded.problems == ()


class TestPrivacyLayers:
    """The ``privacy`` setting merges option by option across layers."""

    def test_privacy_layers_merge_and_report_where(self, tmp_path: Path) -> None:
        """Each layer changes only the options it names; a bad option names its variable."""
        (tmp_path / "pyproject.toml").write_text(
            '[tool.otel_kedro.privacy]\nallow_args = ["a"]\n'
            '[tool.otel_kedro.privacy.files]\ndrop_keys = ["x"]\n'
        )
        loaded = load_settings(tmp_path, environ={"OTEL_KEDRO_MAX_ATTRIBUTE_LENGTH": "128"})
        assert loaded.problems == ()
        assert loaded.settings.privacy.allow_args == ("a",)
        assert loaded.settings.privacy.files.drop_keys == ("x",)
        assert loaded.settings.privacy.max_attribute_length == 128
        bad = load_settings(tmp_path, environ={"OTEL_KEDRO_MAX_ATTRIBUTE_LENGTH": "tiny"})
        assert len(bad.problems) == 1
        assert bad.problems[0].startswith(
            "environment variable OTEL_KEDRO_MAX_ATTRIBUTE_LENGTH: key 'privacy'"
        )
        assert bad.settings.privacy.allow_args == ("a",), "the valid layers still apply"

    def test_otel_yml_changes_one_destination_only(self, tmp_path: Path) -> None:
        """otel.yml's privacy.otlp keeps pyproject's privacy.files and the other defaults."""
        (tmp_path / "pyproject.toml").write_text(
            '[tool.otel_kedro.privacy.files]\ndrop_keys = ["x"]\n'
        )
        loader = _conf(tmp_path, base="privacy:\n  otlp:\n    drop_keys: [y]\n")
        environ = {"OTEL_KEDRO_ALLOW_ARGS": "p,q", "OTEL_KEDRO_HASH_KEY_FILE": "/k"}
        privacy = load_settings(tmp_path, loader, environ=environ).settings.privacy
        assert privacy.files.drop_keys == ("x",)
        assert privacy.otlp.drop_keys == ("y",)
        assert privacy.otlp.processors == PrivacySettings().otlp.processors
        assert (privacy.allow_args, privacy.hash_key_file) == (("p", "q"), "/k")


class TestProblems:
    """A bad value is one problem naming where, key, value and what is allowed; never a raise."""

    @pytest.mark.parametrize(
        ("environ", "expected"),
        [
            ({"OTEL_KEDRO_ENABLED": "maybe"}, "environment variable OTEL_KEDRO_ENABLED: key 'enabled' has value 'maybe'; expected true or false"),
            ({"OTEL_KEDRO_OUTPT_DIR": "x"}, "environment variable OTEL_KEDRO_OUTPT_DIR='x' is not an otel-kedro setting"),
            ({"OTEL_KEDRO_PRIVACY": "x"}, "environment variable OTEL_KEDRO_PRIVACY='x' is not an otel-kedro setting"),
            ({"OTEL_KEDRO_SERVICE_NAME": "  "}, "key 'service_name' has value '  '; expected a non-empty string"),
            ({"OTEL_KEDRO_DELIVERY_WAIT": "forever"}, "key 'delivery_wait' has value 'forever'; expected a number of seconds from 0 to 60"),
            ({"OTEL_KEDRO_SAMPLE_INTERVAL": "0.01"}, "key 'sample_interval' has value '0.01'; expected a number of seconds from 0.05 to 60"),
            ({"OTEL_KEDRO_HEAP_ENDPOINT": "ftp://x"}, "key 'heap_endpoint' has value 'ftp://x'; expected an http:// or https:// URL"),
        ],
    )  # fmt: skip
    def test_bad_environment_values_are_named_precisely(
        self, tmp_path: Path, environ: dict[str, str], expected: str
    ) -> None:
        """One problem per bad variable, and the run stays enabled with the defaults."""
        loaded = load_settings(tmp_path, environ=environ)
        assert len(loaded.problems) == 1
        assert expected in loaded.problems[0]
        assert loaded.settings.enabled
        assert loaded.settings == load_settings(tmp_path, environ={}).settings

    def test_bad_value_keeps_the_lower_layer(self, tmp_path: Path) -> None:
        """A bad value in a higher layer leaves the lower layer's valid value in place."""
        (tmp_path / "pyproject.toml").write_text("[tool.otel_kedro]\ndelivery_wait = 5\n")
        loaded = load_settings(tmp_path, environ={"OTEL_KEDRO_DELIVERY_WAIT": "-1"})
        assert loaded.settings.delivery_wait == 5.0
        assert loaded.problems[0].endswith("Using the value from a lower layer or the default.")

    def test_unknown_variable_lists_the_known_ones(self) -> None:
        """The unknown-variable message lists every settings and option variable."""
        (problem,) = load_settings(None, environ={"OTEL_KEDRO_X": "1"}).problems
        known = problem.partition("known: ")[2].rstrip(".").split(", ")
        assert sorted(known) == known
        assert set(known) == {*SETTING_VARIABLES, *OPTION_VARIABLES}

    def test_malformed_pyproject_table_is_reported(self, tmp_path: Path) -> None:
        """[tool.otel_kedro] that is not a table is one problem naming the file."""
        (tmp_path / "pyproject.toml").write_text('[tool]\notel_kedro = "yes"\n')
        loaded = load_settings(tmp_path, environ={})
        assert loaded.problems == (
            f"{tmp_path / 'pyproject.toml'}: [tool.otel_kedro] must be a table, not 'yes'; "
            "ignored.",
        )

    def test_unparsable_pyproject_is_reported(self, tmp_path: Path) -> None:
        """A pyproject.toml that is not TOML is one problem naming the file."""
        (tmp_path / "pyproject.toml").write_text("[tool.otel_kedro\n")
        (problem,) = load_settings(tmp_path, environ={}).problems
        assert problem.startswith(f"{tmp_path / 'pyproject.toml'}: cannot be read (")
        assert problem.endswith("[tool.otel_kedro] is ignored.")

    @pytest.mark.parametrize(
        ("otel_yml", "expected"),
        [
            ("announce: [unclosed\n", "otel.yml under"),
            ("outptu_dir: somewhere\n", "unknown key 'outptu_dir' (value 'somewhere') is ignored; allowed keys:"),
            ("dataset_spans: 12\n", "key 'dataset_spans' has value 12; expected true or false"),
            ("- a list\n", "cannot be read (ConfigAttributeError: ListConfig does not support"),
        ],
    )  # fmt: skip
    def test_bad_otel_yml_is_one_problem_naming_the_conf_folder(
        self, tmp_path: Path, otel_yml: str, expected: str
    ) -> None:
        """A broken otel.yml is one problem naming where it is; the settings stay usable."""
        loaded = load_settings(tmp_path, _conf(tmp_path, base=otel_yml), environ={})
        assert len(loaded.problems) == 1, loaded.problems
        assert expected in loaded.problems[0]
        assert "\n" not in loaded.problems[0]
        assert f"otel.yml under {tmp_path / 'conf'}" in loaded.problems[0]
        assert loaded.settings.enabled
        assert loaded.settings.dataset_spans

    def test_unknown_key_lists_every_setting(self, tmp_path: Path) -> None:
        """The unknown-key message lists every declared key, sorted."""
        (tmp_path / "pyproject.toml").write_text("[tool.otel_kedro]\nnope = 1\n")
        (problem,) = load_settings(tmp_path, environ={}).problems
        assert problem.endswith(f"allowed keys: {', '.join(sorted(DECLARATIONS))}.")


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("1", 1), ("0", None), ("-2", None),
                                                 ("all", None), ("2.5", None)])  # fmt: skip
def test_keep_runs_is_a_whole_number_of_runs(value: str, expected: int | None) -> None:
    """keep_runs takes 1 or more; anything else is one problem naming the variable and keeps all."""
    loaded = load_settings(None, None, {"OTEL_KEDRO_KEEP_RUNS": value})
    assert loaded.settings.keep_runs == expected
    if expected is None:
        (problem,) = loaded.problems
        assert "OTEL_KEDRO_KEEP_RUNS" in problem
        assert "a whole number of runs, 1 or more" in problem
