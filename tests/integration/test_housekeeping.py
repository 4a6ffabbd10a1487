"""Housekeeping (issue 10, case 10): worker spans carry the worker's pid, run folders stay out
of git, old runs can be pruned (by command or ``keep_runs``), and ``check`` refuses a folder
that is not a project or an environment that does not exist.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.kedro_projects import BIN, clean_env, run_folders, run_kedro
from tests.support.otlp_json import read_spans


def _runs(project: Path) -> list[Path]:
    """Run folders, oldest first (what the test itself put there is left out)."""
    return [p for p in run_folders(project) if (p / "traces.jsonl").is_file()]


def _otel_kedro(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "otel-kedro"), *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_parallel_worker_spans_carry_the_workers_own_pid(
    example_project: Path, context: str
) -> None:
    """Node spans ended in a worker name that worker's pid, and the run's process as parent."""
    result = run_kedro(
        example_project,
        "run",
        "--pipeline",
        "data_processing",
        "--runner",
        "ParallelRunner",
        env=clean_env(KEDRO_MP_CONTEXT=context),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    spans = read_spans(run_folders(example_project)[0] / "traces.jsonl")
    main_pid = next(s for s in spans if s.name.startswith("RUN ")).resource["process.pid"]
    nodes = [s for s in spans if s.parent_id and "cicd.pipeline.task.name" in s.attributes]
    assert nodes
    for span in nodes:
        assert span.resource["process.pid"] != main_pid, span.name
        assert span.resource["process.parent_pid"] == main_pid


def test_run_folders_stay_out_of_git(example_project: Path) -> None:
    """``.otel_kedro/`` holds a ``.gitignore`` of ``*``: ``git status`` does not list it."""
    subprocess.run(["git", "init", "-q", str(example_project)], check=True)
    result = run_kedro(example_project, "run", "--pipeline", "data_processing")
    assert result.returncode == 0, result.stderr[-3000:]
    ignore = example_project / ".otel_kedro" / ".gitignore"
    assert ignore.read_text().splitlines()[-1] == "*"
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=example_project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".otel_kedro" not in status
    assert "conf/" in status, "the rest of the project is still seen"


def test_a_gitignore_of_the_users_own_is_kept(example_project: Path) -> None:
    (example_project / ".otel_kedro").mkdir()
    (example_project / ".otel_kedro" / ".gitignore").write_text("runs/old\n")
    assert run_kedro(example_project, "run", "--pipeline", "data_processing").returncode == 0
    assert (example_project / ".otel_kedro" / ".gitignore").read_text() == "runs/old\n"


def test_keep_runs_removes_the_oldest_at_the_end_of_each_run(example_project: Path) -> None:
    env = clean_env(OTEL_KEDRO_KEEP_RUNS="2")
    for _ in range(3):
        result = run_kedro(example_project, "run", "--pipeline", "data_processing", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
    assert len(run_folders(example_project)) == 2


def test_prune_by_count_and_age_with_a_dry_run(example_project: Path) -> None:
    for _ in range(3):
        assert run_kedro(example_project, "run", "--pipeline", "data_processing").returncode == 0
    folders = _runs(example_project)  # oldest first
    old = time.time() - 10 * 86400
    for name in ("traces.jsonl", "info.json"):
        os.utime(folders[0] / name, (old, old))
    (folders[0].parent / "notes").mkdir()  # not a run folder: never touched

    dry = _otel_kedro(example_project, "prune", "--keep", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {folders[0].name}" in dry.stdout
    assert "would remove 2 of 3 run folders" in dry.stdout
    assert _runs(example_project) == folders

    aged = _otel_kedro(example_project, "prune", "--older-than", "7d")
    assert aged.returncode == 0, aged.stderr
    assert _runs(example_project) == folders[1:]

    kept = _otel_kedro(example_project, "prune", "--keep", "1")
    assert kept.returncode == 0, kept.stderr
    assert _runs(example_project) == folders[2:]
    assert (folders[0].parent / "notes").is_dir()

    bad = _otel_kedro(example_project, "prune", "--older-than", "a week")
    assert bad.returncode != 0
    assert "s, m, h, d or w" in bad.stderr
    neither = _otel_kedro(example_project, "prune")
    assert neither.returncode != 0
    assert "--keep N, --older-than AGE" in neither.stderr


def test_check_refuses_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    result = _otel_kedro(tmp_path, "check", "--project", str(tmp_path / "not-a-project"))
    assert result.returncode == 1
    assert "configuration: ok" not in result.stdout
    assert f"{tmp_path / 'not-a-project'} is not a Kedro project" in result.stderr
    assert "Pass --project the folder that holds the project's pyproject.toml" in result.stderr


def test_check_refuses_an_environment_without_its_conf_folder(example_project: Path) -> None:
    result = _otel_kedro(example_project, "check", "-e", "prod")
    assert result.returncode == 1
    assert "configuration: ok" not in result.stdout
    conf = example_project / "conf"
    assert f"no configuration environment 'prod': {conf / 'prod'} is not a folder" in result.stderr
    assert "one of: base, local" in result.stderr
    assert _otel_kedro(example_project, "check", "-e", "local").returncode == 0
