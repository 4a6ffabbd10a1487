"""`otel-kedro ls`, `show`, `report` and `diff` on real runs of the example project under
SequentialRunner, ThreadRunner and ParallelRunner, a failing run, and a folder with garbage.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from kedro.runner import ParallelRunner, SequentialRunner, ThreadRunner

from otel_kedro.commands import main_group
from otel_kedro.commands.ls import JSON_FIELDS
from otel_kedro.runs.views import AUTOMATIC_REPORT_MAX_BYTES
from otel_kedro.testing import CapturedRun, run_session
from tests.support.kedro_projects import (
    BIN,
    EXAMPLE_NODES,
    clean_env,
    copy_example,
    write_chain_project,
)

DATA_PROCESSING = {"check_quality", "clean_sales", "add_features", "aggregate_daily"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CapturedRun]]:
    """Four real runs into one folder, oldest first: sequential, thread, parallel, failing."""
    root = tmp_path_factory.mktemp("views")
    project = copy_example(root)
    output = root / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
        patch.setenv("OTEL_KEDRO_SAMPLE_INTERVAL", "0.1")
        for name in ("OTEL_SDK_DISABLED", "TRACEPARENT", "OTEL_KEDRO_SAMPLER", "OTEL_KEDRO_REPORT"):
            patch.delenv(name, raising=False)
        captured = {
            "sequential": run_session(project, output, runner=SequentialRunner()),
            "thread": run_session(project, output, runner=ThreadRunner(max_workers=2)),
            "parallel": run_session(project, output, runner=ParallelRunner(max_workers=2)),
            "failing": run_session(
                project,
                output,
                pipeline_name="data_processing",
                runtime_params={"quality": {"fail": True}},
            ),
        }
        yield captured


def _otel(*args: str) -> Result:
    result = CliRunner().invoke(main_group, list(args), env={"COLUMNS": "250"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _base(runs: dict[str, CapturedRun]) -> str:
    return str(runs["sequential"].folder.parent)


class TestLs:
    def test_json_lists_every_run_newest_first_with_stable_fields(
        self, runs: dict[str, CapturedRun]
    ) -> None:
        result = _otel("ls", "--runs-dir", _base(runs), "--format", "json")
        assert result.exit_code == 0, result.output
        records = json.loads(result.output)
        assert [r["folder"] for r in records] == [
            str(runs[k].folder) for k in ("failing", "parallel", "thread", "sequential")
        ]
        for record in records:
            assert tuple(record) == JSON_FIELDS
            assert record["delivered"] is False
            assert record["delivered_to"] == []
            assert record["cpu_s"] > 0
            assert record["peak_rss_bytes"] > 0
            assert record["duration_s"] > 0
        failing, parallel, thread, sequential = records
        assert [r["runner"] for r in (sequential, thread, parallel)] == [
            "SequentialRunner", "ThreadRunner", "ParallelRunner",
        ]  # fmt: skip
        for record in (sequential, thread, parallel):
            assert (record["result"], record["nodes_ok"], record["nodes_failed"]) == (
                "success", len(EXAMPLE_NODES), 0,
            )  # fmt: skip
            assert record["pipeline"] == "__default__"
            assert record["pipelines"] == ["__default__"]
        assert failing["result"] == "failure"
        assert failing["pipeline"] == "data_processing"
        assert failing["pipelines"] == ["data_processing"]
        assert failing["nodes_failed"] == 1

    def test_console_script_in_a_project_prints_json_only(
        self, runs: dict[str, CapturedRun]
    ) -> None:
        """Run as users do, from the project folder: the project's configured output_dir is
        read, and nothing Kedro logs while loading it mixes with the JSON on stdout.
        """
        project = runs["sequential"].folder.parents[1] / "retail-demo"
        done = subprocess.run(
            [str(BIN / "otel-kedro"), "ls", "--format", "json", "--limit", "2"],
            cwd=project,
            env=clean_env(OTEL_KEDRO_OUTPUT_DIR=_base(runs)),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        records = json.loads(done.stdout)
        assert [r["folder"] for r in records] == [
            str(runs["failing"].folder),
            str(runs["parallel"].folder),
        ]

    def test_filters_and_limit(self, runs: dict[str, CapturedRun]) -> None:
        def folders(*args: str) -> list[str]:
            result = _otel("ls", "--runs-dir", _base(runs), "--format", "json", *args)
            return [Path(r["folder"]).name for r in json.loads(result.output)]

        assert folders("--pipeline", "data_processing") == [runs["failing"].folder.name]
        assert folders("--result", "failure") == [runs["failing"].folder.name]
        assert len(folders("--result", "success")) == 3
        assert folders("--limit", "1") == [runs["failing"].folder.name]

    def test_table_shows_each_run(self, runs: dict[str, CapturedRun]) -> None:
        result = _otel("ls", "--runs-dir", _base(runs))
        assert result.exit_code == 0
        for captured in runs.values():
            assert captured.folder.name in result.output
        for runner in ("Sequential", "Thread", "Parallel"):
            assert f" {runner} " in result.output
        assert "failure" in result.output


class TestShow:
    @pytest.mark.parametrize("which", ["sequential", "thread", "parallel"])
    def test_tree_nodes_and_timeline_of_every_runner(
        self, runs: dict[str, CapturedRun], which: str
    ) -> None:
        captured = runs[which]
        result = _otel("show", str(captured.folder))
        assert result.exit_code == 0, result.output
        out = result.output
        assert "RUN __default__ success" in out
        tree = out.split("spans", 1)[1].split("nodes", 1)[0]
        assert all(f"── {node}  " in tree for node in EXAMPLE_NODES)
        assert "── LOAD sales_raw" in tree
        timeline = out.split("timeline", 1)[1]
        assert all(f"    {node} " in timeline for node in EXAMPLE_NODES)
        assert "slowest nodes  simulate_forecast" in out

    def test_lanes_are_threads_and_worker_processes(self, runs: dict[str, CapturedRun]) -> None:
        run_pid = runs["parallel"].span("RUN __default__").resource.attributes["process.pid"]
        parallel = _otel("show", str(runs["parallel"].folder)).output.split("timeline", 1)[1]
        lanes = {line.strip() for line in parallel.splitlines() if line.startswith("  pid ")}
        assert lanes
        assert all(f"pid {run_pid} " not in lane for lane in lanes), lanes
        thread = _otel("show", str(runs["thread"].folder)).output.split("timeline", 1)[1]
        lanes = {line.strip() for line in thread.splitlines() if line.startswith("  pid ")}
        assert any("ThreadPoolExecutor" in lane for lane in lanes), lanes

    def test_failure_with_its_exception(self, runs: dict[str, CapturedRun]) -> None:
        result = _otel("show", runs["failing"].folder.name[:26], "--runs-dir", _base(runs))
        assert result.exit_code == 0, result.output
        assert "RUN data_processing failure" in result.output
        assert "failed: check_quality" in result.output
        assert "ValueError" in result.output
        assert "sales quality check failed" in result.output

    def test_no_argument_is_the_newest_and_a_shared_prefix_is_refused(
        self, runs: dict[str, CapturedRun]
    ) -> None:
        newest = _otel("show", "--runs-dir", _base(runs))
        assert runs["failing"].folder.name in newest.output
        shared = _otel("show", "2", "--runs-dir", _base(runs))
        assert shared.exit_code != 0
        assert "fits 4 runs" in shared.output

    def test_garbage_and_torn_lines(self, runs: dict[str, CapturedRun], tmp_path: Path) -> None:
        """A copy of a run with a garbage line and a torn last line in each file still shows,
        lists and reports, and says how many lines it skipped.
        """
        folder = tmp_path / "runs" / runs["sequential"].folder.name
        shutil.copytree(runs["sequential"].folder, folder)
        for name in ("traces.jsonl", "metrics.jsonl"):
            text = (folder / name).read_text()
            (folder / name).write_text("\x00garbage{\n" + text + text[:100])
        shown = _otel("show", str(folder))
        assert shown.exit_code == 0, shown.output
        assert "4 unreadable lines skipped" in shown.output
        assert all(node in shown.output for node in EXAMPLE_NODES)
        listed = json.loads(
            _otel("ls", "--runs-dir", str(folder.parent), "--format", "json").output
        )
        assert listed[0]["nodes_ok"] == len(EXAMPLE_NODES)
        report = _otel("report", str(folder), "-o", str(tmp_path / "page.html"))
        assert report.exit_code == 0
        assert "4 (torn or garbage, skipped)" in (tmp_path / "page.html").read_text()


class TestDiff:
    @pytest.mark.parametrize(("a", "b"), [("sequential", "thread"), ("thread", "parallel")])
    def test_same_pipeline_compares_every_node(
        self, runs: dict[str, CapturedRun], a: str, b: str
    ) -> None:
        result = _otel("diff", str(runs[a].folder), str(runs[b].folder), "--threshold", "20%")
        assert result.exit_code == 0, result.output
        table = result.output
        assert all(node in table for node in EXAMPLE_NODES)
        assert "added: none" in table
        assert "removed: none" in table
        assert "regressions: " in table

    def test_nodes_added_and_removed(self, runs: dict[str, CapturedRun]) -> None:
        result = _otel("diff", str(runs["failing"].folder), str(runs["sequential"].folder))
        ran = {s.name for s in runs["failing"].spans if "cicd.pipeline.task.name" in s.attributes}
        assert "check_quality" in ran
        assert ran <= DATA_PROCESSING
        added = sorted(EXAMPLE_NODES - ran)
        assert f"added: {', '.join(added)}" in result.output
        assert "removed: none" in result.output

    def test_bad_threshold_is_a_usage_error(self, runs: dict[str, CapturedRun]) -> None:
        result = _otel("diff", "a", "b", "--threshold", "fast")
        assert result.exit_code == 2
        assert "percentage" in result.output


class TestReportAtTheEndOfARun:
    def test_each_run_wrote_its_report(self, runs: dict[str, CapturedRun]) -> None:
        for captured in runs.values():
            page = (captured.folder / "report.html").read_text()
            assert captured.folder.name in page

    def test_report_command_writes_where_asked(
        self, runs: dict[str, CapturedRun], tmp_path: Path
    ) -> None:
        target = tmp_path / "out.html"
        result = _otel(
            "report", runs["thread"].folder.name, "--runs-dir", _base(runs), "-o", str(target)
        )
        assert result.exit_code == 0, result.output
        assert result.output.strip() == str(target)
        page = target.read_text()
        assert "Compared with the previous run of this pipeline" in page
        assert runs["sequential"].span("RUN __default__").attributes["cicd.pipeline.run.id"] in page

    def test_report_setting_off_writes_none(
        self, example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
        monkeypatch.setenv("OTEL_KEDRO_REPORT", "false")
        captured = run_session(example_project, tmp_path / "runs", pipeline_name="reporting")
        assert captured.spans
        assert not (captured.folder / "report.html").exists()

    def test_a_run_too_large_for_50_ms_gets_its_report_on_demand(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Over AUTOMATIC_REPORT_MAX_BYTES of spans the run ends without writing the page (it
        would cost more than the 50 ms a run may pay); the summary says which command writes it.
        """
        monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
        monkeypatch.delenv("OTEL_KEDRO_REPORT", raising=False)
        project = write_chain_project(tmp_path, 120, "long_chain")
        captured = run_session(project, tmp_path / "runs")
        assert (captured.folder / "traces.jsonl").stat().st_size > AUTOMATIC_REPORT_MAX_BYTES
        assert not (captured.folder / "report.html").exists()
        assert f"report  otel-kedro report {captured.folder.name}" in capsys.readouterr().err
        result = _otel("report", captured.folder.name, "--runs-dir", str(tmp_path / "runs"))
        assert result.exit_code == 0, result.output
        assert "n119" in (captured.folder / "report.html").read_text()
