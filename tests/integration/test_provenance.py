"""Provenance of real runs of the example project kept in a real git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kedro.runner import SequentialRunner

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.processors.apply import apply_to_spans
from otel_kedro.runs.chains import destination_chain
from otel_kedro.testing import run_session
from tests.support.kedro_projects import clean_env, run_kedro
from tests.support.trace_checks import check_run_trace, only_run_spans


def _git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return completed.stdout.strip()


@pytest.fixture
def repo_project(example_project: Path) -> Path:
    """The example committed to a fresh repository with a credentialed remote."""
    _git(example_project, "init", "-q", "-b", "main")
    _git(example_project, "config", "user.email", "dev@example.invalid")
    _git(example_project, "config", "user.name", "dev")
    _git(example_project, "remote", "add", "origin", "https://ci:Tk9pQ2zLm8vR@127.0.0.1:9/x.git")
    (example_project / ".gitignore").write_text(".otel_kedro/\ndata/0[2-8]*/\n")
    _git(example_project, "add", "-A")
    _git(example_project, "commit", "-q", "-m", "pipeline")
    return example_project


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("OTEL_KEDRO_CONFIG_DIR", str(tmp_path / "key"))
    for name in ("OTEL_SDK_DISABLED", "TRACEPARENT", "OTEL_KEDRO_PROVENANCE_HASHES"):
        monkeypatch.delenv(name, raising=False)


def test_the_run_names_its_commit_branch_remote_and_dirty_state(
    repo_project: Path, tmp_path: Path
) -> None:
    clean = run_session(repo_project, tmp_path / "runs", pipeline_name="data_processing")
    run = clean.span("RUN data_processing").attributes
    assert run["vcs.ref.head.revision"] == _git(repo_project, "rev-parse", "HEAD")
    assert run["vcs.ref.head.name"] == "main"
    assert run["vcs.repository.url.full"] == "https://127.0.0.1:9/x.git"
    assert run["kedro.vcs.dirty"] is False
    nodes_py = next(repo_project.glob("src/*/pipelines/data_processing/nodes.py"))
    nodes_py.write_text(nodes_py.read_text() + "\n# an uncommitted change\n")
    edited = run_session(repo_project, tmp_path / "runs", pipeline_name="data_processing")
    assert edited.span("RUN data_processing").attributes["kedro.vcs.dirty"] is True
    for folder in (clean.folder, edited.folder):
        assert "Tk9pQ2zLm8vR" not in (folder / "traces.jsonl").read_text()


def test_the_parameters_hash_changes_with_any_parameter(repo_project: Path, tmp_path: Path) -> None:
    def params_hash(**runtime: object) -> str:
        captured = run_session(
            repo_project, tmp_path / "runs", pipeline_name="data_processing", runtime_params=runtime
        )
        return str(captured.span("RUN data_processing").attributes["kedro.params.hash"])

    default = params_hash()
    assert default == params_hash()
    changed = params_hash(quality={"note": "pvhmswruuozy"})
    assert changed != default
    assert changed.startswith("hmac:")


def test_dataset_spans_name_their_files_and_the_otlp_chain_hides_the_paths(
    repo_project: Path, tmp_path: Path
) -> None:
    captured = run_session(repo_project, tmp_path / "runs", runner=SequentialRunner())
    loads = [s.attributes for s in captured.spans if s.name == "LOAD sales_raw"]
    assert len(loads) == 2  # by two nodes
    load = loads[0]
    raw = repo_project / "data" / "01_raw" / "sales.csv"
    assert load["file.path"] == str(raw)
    assert load["file.size"] == raw.stat().st_size
    save = captured.span("SAVE forecast").attributes
    forecast = repo_project / "data" / "08_reporting" / "forecast.csv"
    assert save["file.path"] == str(forecast)
    assert save["file.size"] == forecast.stat().st_size
    assert "file.path" not in captured.span("SAVE quality_report").attributes  # in memory

    otlp = apply_to_spans(
        captured.spans,
        destination_chain(PrivacySettings(), "otlp", project_path=repo_project),
    )
    sent = {span.name: span.attributes for span in otlp}  # one LOAD sales_raw of the two
    assert str(repo_project) not in str(sent["LOAD sales_raw"]["file.path"])
    assert str(sent["LOAD sales_raw"]["file.path"]).endswith("/data/01_raw/sales.csv")
    run_name = next(name for name in sent if name.startswith("RUN "))
    assert str(sent[run_name]["vcs.repository.url.full"]).startswith("hmac:")
    heap = apply_to_spans(captured.spans, destination_chain(PrivacySettings(), "heap"))
    assert not any("file.path" in s.attributes or "vcs.ref.head.revision" in s.attributes
                   for s in heap)  # fmt: skip


def test_content_hashes_are_opt_in(
    repo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    plain = run_session(repo_project, tmp_path / "runs", pipeline_name="data_processing")
    assert all("kedro.dataset.sha256" not in s.attributes for s in plain.spans)
    monkeypatch.setenv("OTEL_KEDRO_PROVENANCE_HASHES", "true")
    hashed = run_session(repo_project, tmp_path / "runs", pipeline_name="data_processing")
    raw = (repo_project / "data" / "01_raw" / "sales.csv").read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    loads = [s.attributes for s in hashed.spans if s.name == "LOAD sales_raw"]
    assert [load["kedro.dataset.sha256"] for load in loads] == [sha, sha]


def test_the_command_span_and_parallel_workers_carry_provenance(repo_project: Path) -> None:
    """Through the CLI under ParallelRunner: the command span names the commit too, and the
    dataset spans written by the worker processes name their files.
    """
    result = run_kedro(
        repo_project, "run", "--runner", "ParallelRunner", env=clean_env(KEDRO_MP_CONTEXT="spawn")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    spans = only_run_spans(repo_project)
    check_run_trace(spans, command=True)
    head = _git(repo_project, "rev-parse", "HEAD")
    command = next(s for s in spans if s.name.startswith("kedro"))
    assert command.attributes["vcs.ref.head.revision"] == head
    assert command.attributes["kedro.vcs.dirty"] is False
    load = next(s for s in spans if s.name == "LOAD sales_raw")
    assert load.attributes["file.path"] == str(repo_project / "data" / "01_raw" / "sales.csv")
