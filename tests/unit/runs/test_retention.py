"""Run-folder retention: only recognised run folders under output_dir are removed, by count or
age, and symlinks are never followed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from otel_kedro.model.run_folder import RUN_MARKER, is_run_folder
from otel_kedro.runs.retention import keep_newest, parse_age, remove, run_folders, select

DAY = 86400.0


def _run(output_dir: Path, name: str, age_days: float, file: str = "traces.jsonl") -> Path:
    folder = output_dir / name
    folder.mkdir(parents=True)
    (folder / RUN_MARKER).write_text("")
    (folder / file).write_text("{}\n")
    stamp = time.time() - age_days * DAY
    os.utime(folder / file, (stamp, stamp))
    return folder


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    out = tmp_path / ".otel_kedro" / "runs"
    for index, age in enumerate([0, 1, 2, 3, 10]):
        _run(out, f"run-{index}", age, "info.json" if index == 2 else "traces.jsonl")
    return out


class TestIsRunFolder:
    def test_recognises_folders_by_their_marker(self, output_dir: Path, tmp_path: Path) -> None:
        """A folder otel-kedro created (its marker file) is a run; anything else is not, even
        a folder holding a ``traces.jsonl``.
        """
        assert is_run_folder(output_dir / "run-0")
        assert is_run_folder(output_dir / "run-2")  # info.json only
        (output_dir / "foreign").mkdir()
        (output_dir / "foreign" / "traces.jsonl").write_text("{}\n")
        assert not is_run_folder(output_dir / "foreign")
        (output_dir / "notes").mkdir()
        (output_dir / "notes" / "todo.txt").write_text("x")
        assert not is_run_folder(output_dir / "notes")
        assert not is_run_folder(output_dir / "run-0" / "traces.jsonl")
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "traces.jsonl").write_text("{}\n")
        (output_dir / "link").symlink_to(tmp_path / "elsewhere")
        assert not is_run_folder(output_dir / "link"), "a symlink is never a run folder"


class TestSelect:
    def test_newest_first_by_when_the_run_wrote(self, output_dir: Path) -> None:
        (output_dir / "run-4" / "delivery.json").write_text("{}")  # a later replay: still old
        assert [f.path.name for f in run_folders(output_dir)] == [f"run-{i}" for i in range(5)]

    def test_keep_and_older_than(self, output_dir: Path) -> None:
        folders = run_folders(output_dir)
        names = lambda chosen: [f.path.name for f in chosen]  # noqa: E731
        assert names(select(folders, keep=2)) == ["run-2", "run-3", "run-4"]
        assert names(select(folders, older_than_s=2.5 * DAY)) == ["run-3", "run-4"]
        assert names(select(folders, keep=4, older_than_s=2.5 * DAY)) == ["run-4"]
        assert names(select(folders, keep=0)) == [f"run-{i}" for i in range(5)]
        assert select(folders) == []

    @pytest.mark.parametrize(
        ("text", "seconds"), [("7d", 7 * DAY), ("12h", 43200), ("30m", 1800), ("2w", 14 * DAY)]
    )
    def test_ages(self, text: str, seconds: float) -> None:
        assert parse_age(text) == seconds

    @pytest.mark.parametrize("text", ["7", "d", "7 days", "-1d", ""])
    def test_bad_ages_say_what_is_allowed(self, text: str) -> None:
        with pytest.raises(ValueError, match="s, m, h, d or w"):
            parse_age(text)


class TestRemove:
    def test_symlinks_are_never_followed(self, output_dir: Path, tmp_path: Path) -> None:
        """A symlinked run elsewhere, and a link inside a run folder, leave their targets alone."""
        victim = _run(tmp_path / "other-project" / "runs", "precious", 30)
        (output_dir / "linked").symlink_to(victim)
        (output_dir / "run-4" / "escape").symlink_to(victim)
        assert keep_newest(output_dir, 1) == 4
        assert sorted(p.name for p in output_dir.iterdir()) == ["linked", "run-0"]
        assert (victim / "traces.jsonl").is_file()

    def test_only_what_it_recognises(self, output_dir: Path, tmp_path: Path) -> None:
        (output_dir / "notes").mkdir()
        (output_dir / "README").write_text("mine")
        keep_newest(output_dir, 1)
        assert sorted(p.name for p in output_dir.iterdir()) == ["README", "notes", "run-0"]

    def test_refuses_a_folder_outside_output_dir(self, output_dir: Path, tmp_path: Path) -> None:
        outside = _run(tmp_path / "else", "run-x", 5)
        (folder,) = run_folders(tmp_path / "else")
        with pytest.raises(ValueError, match="not a run folder of"):
            remove(folder, output_dir)
        assert outside.is_dir()

    def test_a_missing_or_symlinked_output_dir_has_no_runs(self, tmp_path: Path) -> None:
        assert run_folders(tmp_path / "nothing") == []
        (tmp_path / "real").mkdir()
        _run(tmp_path / "real", "r", 1)
        (tmp_path / "link").symlink_to(tmp_path / "real")
        assert run_folders(tmp_path / "link") == []
