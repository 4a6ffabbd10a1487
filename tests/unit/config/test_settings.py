"""Configuration layers and mistakes: a telemetry mistake never costs the user their run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from otel_kedro.config.settings import DEFAULT_OUTPUT_DIR, load_settings
from tests.support.kedro_projects import EXAMPLE_NODES, clean_env, run_folders, run_kedro
from tests.support.otlp_json import read_spans


def _with_pyproject_table(project: Path, table: str) -> None:
    path = project / "pyproject.toml"
    text = path.read_text().replace("[tool.otel_kedro]\ndataset_spans = true\n", "")
    path.write_text(text + "\n[tool.otel_kedro]\n" + table)


def _warnings(output: str) -> list[str]:
    return [
        line
        for line in output.splitlines()
        if "otel-kedro:" in line and "written to" not in line and "otel-kedro: run " not in line
    ]


def test_layers_apply_lowest_to_highest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.otel_kedro]\noutput_dir = "from-pyproject"\nannounce = false\nservice_name = "py"\n'
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
    assert not load_settings(tmp_path, environ={"OTEL_SDK_DISABLED": "TRUE"}).settings.enabled


def test_defaults_without_any_configuration(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, environ={}, package_name="pkg")
    assert loaded.problems == ()
    assert loaded.settings.output_dir == tmp_path / DEFAULT_OUTPUT_DIR
    assert loaded.settings.service_name == "pkg"
    assert loaded.settings.enabled
    assert loaded.settings.dataset_spans


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"OTEL_KEDRO_ENABLED": "maybe"}, "environment variable OTEL_KEDRO_ENABLED: key 'enabled' has value 'maybe'; expected true or false"),
        ({"OTEL_KEDRO_OUTPT_DIR": "x"}, "environment variable OTEL_KEDRO_OUTPT_DIR='x' is not an otel-kedro setting"),
        ({"OTEL_KEDRO_SERVICE_NAME": "  "}, "key 'service_name' has value '  '; expected a non-empty string"),
        ({"OTEL_KEDRO_DELIVERY_WAIT": "forever"}, "key 'delivery_wait' has value 'forever'; expected a number of seconds from 0 to 60"),
    ],
)  # fmt: skip
def test_bad_environment_values_are_named_precisely(
    tmp_path: Path, environ: dict[str, str], expected: str
) -> None:
    loaded = load_settings(tmp_path, environ=environ)
    assert len(loaded.problems) == 1
    assert expected in loaded.problems[0]
    assert loaded.settings.enabled


def test_malformed_pyproject_table_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool]\notel_kedro = "yes"\n')
    loaded = load_settings(tmp_path, environ={})
    assert loaded.problems == (
        f"{tmp_path / 'pyproject.toml'}: [tool.otel_kedro] must be a table, not 'yes'; ignored.",
    )


@pytest.mark.parametrize(
    ("otel_yml", "expected"),
    [
        ("announce: [unclosed\n", "otel.yml under"),
        ("outptu_dir: somewhere\n", "unknown key 'outptu_dir' (value 'somewhere') is ignored; allowed keys:"),
        ("dataset_spans: 12\n", "key 'dataset_spans' has value 12; expected true or false"),
    ],
)  # fmt: skip
def test_bad_otel_yml_warns_once_and_the_run_succeeds(
    example_project: Path, otel_yml: str, expected: str
) -> None:
    (example_project / "conf" / "base" / "otel.yml").write_text(otel_yml)
    result = run_kedro(example_project, "run", "--pipeline", "data_processing")
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = _warnings(result.stdout + result.stderr)
    assert len(warnings) == 1, warnings
    assert expected in warnings[0]
    assert "conf" in warnings[0]
    spans = read_spans(run_folders(example_project)[0] / "traces.jsonl")
    assert any(s.name == "RUN data_processing" for s in spans)


def test_conf_local_and_env_override_base(example_project: Path) -> None:
    conf = example_project / "conf"
    (conf / "base" / "otel.yml").write_text("output_dir: from-base\n")
    (conf / "local" / "otel.yml").write_text("output_dir: from-local\n")
    (conf / "staging").mkdir()
    (conf / "staging" / "otel.yml").write_text("output_dir: from-staging\n")
    assert run_kedro(example_project, "run", "--pipeline", "data_processing").returncode == 0
    assert (example_project / "from-local").is_dir()
    assert not (example_project / "from-base").exists()
    result = run_kedro(example_project, "run", "--pipeline", "data_processing", "--env", "staging")
    assert result.returncode == 0
    run_dirs = list((example_project / "from-staging").iterdir())
    assert len(run_dirs) == 1
    run = next(s for s in read_spans(run_dirs[0] / "traces.jsonl") if s.name.startswith("RUN"))
    assert run.attributes["kedro.env"] == "staging"


def test_environment_overrides_configuration_files(example_project: Path, tmp_path: Path) -> None:
    (example_project / "conf" / "base" / "otel.yml").write_text("output_dir: from-conf\n")
    target = tmp_path / "from-env"
    env = clean_env(OTEL_KEDRO_OUTPUT_DIR=str(target), OTEL_SERVICE_NAME="nightly")
    assert (
        run_kedro(example_project, "run", "--pipeline", "data_processing", env=env).returncode == 0
    )
    assert not (example_project / "from-conf").exists()
    (folder,) = target.iterdir()
    assert {s.resource["service.name"] for s in read_spans(folder / "traces.jsonl")} == {"nightly"}


def test_unwritable_output_dir_warns_once_and_the_run_is_unchanged(
    example_project: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = clean_env(OTEL_KEDRO_OUTPUT_DIR=str(blocker / "runs"))
    result = run_kedro(example_project, "run", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Pipeline execution completed successfully" in result.stdout + result.stderr
    warnings = _warnings(result.stdout + result.stderr)
    assert len(warnings) == 1, warnings
    assert f"cannot create a run folder under {blocker / 'runs'}" in warnings[0]
    assert (example_project / "data" / "08_reporting" / "final_report.csv").is_file()


def test_missing_otel_yml_is_fine(example_project: Path) -> None:
    (example_project / "conf" / "base" / "otel.yml").unlink()
    result = run_kedro(example_project, "run")
    assert result.returncode == 0
    assert _warnings(result.stdout + result.stderr) == []
    assert len(run_folders(example_project)) == 1


@pytest.mark.parametrize("folder", ["conf", "conf/local"])
def test_missing_conf_folder_fails_exactly_as_without_the_plugin(
    example_project: Path, folder: str
) -> None:
    shutil.rmtree(example_project / folder)
    without = run_kedro(example_project, "run", env=clean_env(OTEL_SDK_DISABLED="true"))
    result = run_kedro(example_project, "run")
    assert result.returncode == without.returncode != 0
    assert "MissingConfigException" in result.stdout + result.stderr
    assert _warnings(result.stdout + result.stderr) == []


@pytest.mark.parametrize(
    "env",
    [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_KEDRO_ENABLED": "false"}],
)
def test_disabled_writes_nothing(example_project: Path, env: dict[str, str]) -> None:
    result = run_kedro(example_project, "run", env=clean_env(**env))
    assert result.returncode == 0
    assert not (example_project / ".otel_kedro").exists()
    assert "otel-kedro" not in result.stdout + result.stderr


def test_dataset_spans_can_be_switched_off(example_project: Path) -> None:
    env = clean_env(OTEL_KEDRO_DATASET_SPANS="false", OTEL_KEDRO_ANNOUNCE="false")
    result = run_kedro(example_project, "run", env=env)
    assert result.returncode == 0
    assert "trace written to" not in result.stderr
    spans = read_spans(run_folders(example_project)[0] / "traces.jsonl")
    assert {s.name for s in spans} == {"kedro run", "RUN __default__", *EXAMPLE_NODES}
