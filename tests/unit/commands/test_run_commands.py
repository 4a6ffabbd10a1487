"""`diff --fail-on-regression` and `--threshold` on synthetic runs whose figures are exact."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from otel_kedro.commands import main_group
from tests.support.run_folders import FakeNode, write_run


def _runs(tmp_path: Path, after_seconds: float) -> tuple[Path, Path]:
    before = write_run(tmp_path / "2026-01-01T00.00.00.000Z-aaaaaa", [FakeNode("train", 0, 1.0)])
    after = write_run(
        tmp_path / "2026-01-02T00.00.00.000Z-bbbbbb",
        [FakeNode("train", 0, after_seconds)],
        start_ns=1_800_000_000 * 10**9,
    )
    return before, after


def test_a_regression_fails_the_command_when_asked(tmp_path: Path) -> None:
    before, after = _runs(tmp_path, 1.5)
    args = ["diff", str(before), str(after), "--fail-on-regression"]
    result = CliRunner().invoke(main_group, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "train ▲" in result.output
    assert "+50 %" in result.output
    assert "regressions: 1 (train)" in result.output


def test_under_the_threshold_is_no_regression(tmp_path: Path) -> None:
    _runs(tmp_path, 1.5)
    args = ["diff", "2026-01-01", "2026-01-02", "--runs-dir", str(tmp_path), "--threshold", "60%"]
    result = CliRunner().invoke(main_group, [*args, "--fail-on-regression"])
    assert result.exit_code == 0, result.output
    assert "regressions: 0" in result.output


def test_report_without_output_writes_into_the_run_folder(tmp_path: Path) -> None:
    before, _ = _runs(tmp_path, 1.0)
    result = CliRunner().invoke(main_group, ["report", str(before)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(before / "report.html")
    assert (before / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_an_unknown_run_says_what_to_do(tmp_path: Path) -> None:
    _runs(tmp_path, 1.0)
    result = CliRunner().invoke(main_group, ["show", "1999", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "otel-kedro ls" in result.output
