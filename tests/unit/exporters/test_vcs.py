"""Run folders stay out of git, except where DataLad is to save them with a run's outputs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from otel_kedro.exporters.vcs import GITIGNORE, ignore_in_version_control, in_datalad_dataset


def _repo(root: Path) -> Path:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_a_plain_repository_ignores_its_runs(tmp_path: Path) -> None:
    project = _repo(tmp_path / "project")
    runs = project / ".otel_kedro" / "runs"
    runs.mkdir(parents=True)
    ignore_in_version_control(runs)
    assert (project / ".otel_kedro" / GITIGNORE).read_text().splitlines()[-1] == "*"
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert status == ""


def test_a_datalad_dataset_keeps_its_runs_visible(tmp_path: Path) -> None:
    dataset = _repo(tmp_path / "dataset")
    (dataset / ".datalad").mkdir()
    runs = dataset / "project" / ".otel_kedro" / "runs"
    runs.mkdir(parents=True)
    assert in_datalad_dataset(runs)
    ignore_in_version_control(runs)
    assert not (runs.parent / GITIGNORE).exists()


def test_only_the_nearest_repository_decides(tmp_path: Path) -> None:
    outer = _repo(tmp_path / "outer")
    (outer / ".datalad").mkdir()
    inner = _repo(outer / "inner")  # a plain repository inside a dataset: not DataLad's
    assert not in_datalad_dataset(inner / ".otel_kedro" / "runs")
    assert not in_datalad_dataset(tmp_path / "nowhere")
