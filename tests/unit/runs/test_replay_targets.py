"""Which folders replay may touch: marked run folders inside the output folder, named by id,
unique prefix or path; never a symlink out, never an unmarked folder."""

from __future__ import annotations

from pathlib import Path

from otel_kedro.exporters.files import create_run_folder
from otel_kedro.runs.replay_targets import has_telemetry, select


def test_all_skips_symlinks_and_unmarked_folders(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    real = create_run_folder(runs, "2026-12-04T10.00.00.000Z")
    outside = create_run_folder(tmp_path / "elsewhere", "other")
    (runs / "link").symlink_to(outside)
    (runs / "plain").mkdir()
    selection = select([], runs, all_runs=True)
    assert selection.folders == [real]
    assert any(s.startswith("link: skipped, a symbolic link") for s in selection.skipped)
    assert any(
        s.startswith("plain: skipped, not an otel-kedro run folder") for s in selection.skipped
    )
    assert selection.refused == []


def test_ids_prefixes_and_paths(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = create_run_folder(runs, "2026-12-04T10.00.00.000Z")
    second = create_run_folder(runs, "2026-12-04T11.00.00.000Z")
    assert select([first.name], runs, all_runs=False).folders == [first]
    assert select(["2026-12-04T11"], runs, all_runs=False).folders == [second]
    ambiguous = select(["2026-12-04T1"], runs, all_runs=False)
    assert ambiguous.folders == []
    assert "more than one run" in ambiguous.refused[0]
    assert select([str(first)], runs, all_runs=False).folders == [first]
    assert "no run folder" in select(["nope"], runs, all_runs=False).refused[0]


def test_paths_outside_need_the_flag_and_a_marker(tmp_path: Path) -> None:
    runs = tmp_path / "project" / "runs"
    create_run_folder(runs, "mine")
    foreign = create_run_folder(tmp_path / "other", "theirs")
    escaped = select([str(runs / ".." / ".." / "..")], runs, all_runs=False)
    assert escaped.folders == []
    assert "outside the project's output folder" in escaped.refused[0]
    assert select([str(foreign)], runs, all_runs=False).folders == []
    assert select([str(foreign)], runs, all_runs=False, outside=True).folders == [foreign]
    unmarked = select([str(tmp_path)], runs, all_runs=False, outside=True)
    assert unmarked.folders == []
    assert "not an otel-kedro run folder" in unmarked.refused[0]


def test_an_empty_run_folder_has_no_telemetry(tmp_path: Path) -> None:
    folder = create_run_folder(tmp_path, "run")
    assert not has_telemetry(folder)
    (folder / "traces.jsonl").write_text('{"resourceSpans": [')  # torn: nothing intact
    assert not has_telemetry(folder)
    (folder / "metrics.jsonl").write_text('{"resourceMetrics": []}\n')
    assert has_telemetry(folder)
