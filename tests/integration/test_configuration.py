"""Configuration and consent through real ``kedro`` and ``otel-kedro`` commands: a telemetry
mistake never costs the user their run, and ``check`` catches it. (The rules themselves are unit
tested in tests/unit/config.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.kedro_projects import BIN, EXAMPLE_NODES, clean_env, run_folders, run_kedro
from tests.support.otlp_json import read_spans


def _warnings(output: str) -> list[str]:
    return [
        line
        for line in output.splitlines()
        if "otel-kedro:" in line and "written to" not in line and "otel-kedro: run " not in line
    ]


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
    run_dirs = [p for p in (example_project / "from-staging").iterdir() if p.is_dir()]
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
    (folder,) = (p for p in target.iterdir() if p.is_dir())  # beside it: .gitignore
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
    phases = {"STARTUP bootstrap", "STARTUP session", "STARTUP pipelines", "STARTUP catalog"}
    assert {s.name for s in spans} == {"kedro run", *phases, "RUN __default__", *EXAMPLE_NODES}


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
