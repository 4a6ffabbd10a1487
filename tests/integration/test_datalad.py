"""``datalad run`` around a Kedro run: DataLad saves the run folder with the outputs, and the trace
names the commit DataLad ran on.

DataLad and git-annex come from PyPI (the ``git-annex`` wheel carries the binary) into a cached
environment of their own. The dataset is created with ``-c text2git``: Kedro cannot read a
``conf/`` whose files were annexed (they become symlinks into ``.git/annex``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.kedro_projects import clean_env
from tests.support.otlp_json import read_spans
from tests.support.tool_venv import ToolUnavailableError, cache_dir, ensure_tool_venv

DATALAD_SPECS = ("datalad==1.7.1", "git-annex==10.20261026")
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def datalad_bin() -> Path:
    try:
        return ensure_tool_venv(cache_dir() / "datalad-venv", DATALAD_SPECS, "datalad")
    except ToolUnavailableError as error:
        pytest.skip(f"DataLad cannot be installed here: {error}")


def _env(datalad_bin: Path) -> dict[str, str]:
    """Our venv's kedro and DataLad's tools on PATH, a fixed git identity, no way out."""
    path = os.pathsep.join([str(datalad_bin), str(Path(sys.executable).parent), os.environ["PATH"]])
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
                for what, value in (("NAME", "Kedro Dev"), ("EMAIL", "dev@example.invalid"))}  # fmt: skip
    return clean_env(
        PATH=path,
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        **identity,
    )


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    completed = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert completed.returncode == 0, (
        f"{argv}:\n{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
    )
    return completed.stdout.strip()


@pytest.fixture
def dataset(example_project: Path, datalad_bin: Path) -> Path:
    """The example as a DataLad dataset (text in git), its runs kept rather than ignored."""
    (example_project / ".gitignore").write_text("data/02_intermediate/*\n!data/**/.gitkeep\n")
    env = _env(datalad_bin)
    _run(["datalad", "create", "--force", "-c", "text2git", "."], example_project, env)
    _run(["datalad", "save", "-m", "the project"], example_project, env)
    return example_project


def test_datalad_run_saves_the_run_folder_and_the_trace_names_its_commit(
    dataset: Path, datalad_bin: Path
) -> None:
    env = _env(datalad_bin)
    before = _run(["git", "rev-parse", "HEAD"], dataset, env)
    _run(["datalad", "run", "-m", "forecast", "kedro", "run"], dataset, env)

    commit = _run(["git", "log", "-1", "--format=%H%n%P%n%s"], dataset, env).splitlines()
    assert commit[1] == before, "the run commit sits on the commit the run ran on"
    assert commit[2].startswith("[DATALAD RUNCMD] forecast")
    saved = _run(["git", "show", "--name-only", "--format=", "HEAD"], dataset, env).splitlines()
    runs = {Path(name).parent for name in saved if name.startswith(".otel_kedro/runs/")}
    assert len(runs) == 1, saved
    (folder,) = runs
    assert {"traces.jsonl", "metrics.jsonl", "info.json", "usage.jsonl"} <= {
        Path(name).name for name in saved if Path(name).parent == folder
    }
    assert "data/08_reporting/forecast.csv" in saved
    assert _run(["git", "status", "--porcelain"], dataset, env) == "", "everything was saved"

    spans = read_spans(dataset / folder / "traces.jsonl")
    for span in spans:
        if span.name.startswith(("kedro", "RUN ")):
            assert span.attributes["vcs.ref.head.revision"] == before, span.name
            assert span.attributes["kedro.vcs.dirty"] is False, span.name
    record = _run(["git", "log", "-1", "--format=%B"], dataset, env)
    run_record = json.loads(record.split("=== Do not change lines below ===")[1].split("^^^")[0])
    assert run_record["cmd"] == "kedro run"


def test_datalad_run_of_otel_kedro_run_nests_the_run_under_the_wrapped_command(
    dataset: Path, datalad_bin: Path
) -> None:
    """The seed workflow, DataLad + con-duct + Kedro, with otel-kedro in both seats: the wrapper
    writes duct's files and the command span; the Kedro run nests under it; DataLad saves both.
    """
    env = _env(datalad_bin)
    before = _run(["git", "rev-parse", "HEAD"], dataset, env)
    # {{…}}: DataLad fills {…} placeholders itself; the wrapper gets duct's {datetime_filesafe}.
    _run(
        ["datalad", "run", "-m", "wrapped", "otel-kedro", "run", "-p", "logs/{{datetime_filesafe}}_",
         "kedro", "run"],
        dataset,
        env,
    )  # fmt: skip
    saved = _run(["git", "show", "--name-only", "--format=", "HEAD"], dataset, env).splitlines()
    wrapper_files = sorted(
        Path(name).name.split("_", 1)[1] for name in saved if name.startswith("logs/")
    )
    assert wrapper_files == [
        "info.json", "metrics.jsonl", "stderr", "stdout", "traces.jsonl", "usage.jsonl"
    ]  # fmt: skip
    assert _run(["git", "status", "--porcelain"], dataset, env) == ""

    (wrapper_traces,) = [
        name for name in saved if name.startswith("logs/") and name.endswith("traces.jsonl")
    ]
    (wrapped,) = read_spans(dataset / wrapper_traces)
    assert list(wrapped.attributes["process.command_args"]) == ["kedro", "run"]
    assert wrapped.attributes["vcs.ref.head.revision"] == before
    assert wrapped.attributes["kedro.vcs.dirty"] is False
    (run_traces,) = [
        name for name in saved if name.startswith(".otel_kedro/") and name.endswith("traces.jsonl")
    ]
    kedro_spans = read_spans(dataset / run_traces)
    command = next(span for span in kedro_spans if span.name.startswith("kedro"))
    assert command.trace_id == wrapped.trace_id
    assert command.parent_id == wrapped.span_id
    assert command.attributes["vcs.ref.head.revision"] == before
