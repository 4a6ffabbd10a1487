"""Which folders ``otel-kedro replay`` may send and record into, from what the user named.

Replay writes ``delivery.json`` into every folder it sends, so it only ever touches folders
that otel-kedro created for a run (their marker file, see ``model.run_folder.is_run_folder``),
found inside the project's output folder: a symlink is never followed out of it, and a path
outside it is refused unless the user says so explicitly. Runs can be named by id (the folder
names replay prints, or a unique prefix of one) as well as by path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from otel_kedro.model.run_folder import RUN_MARKER, SIGNAL_FILES, is_run_folder, read_lines


@dataclasses.dataclass(frozen=True)
class Selection:
    """The run folders to send; one line per entry ``--all`` skipped (a symlink, a folder that
    is not a run's) and one per name that was refused (a failure: the user asked for it).
    """

    folders: list[Path]
    skipped: list[str]
    refused: list[str]


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or path.is_relative_to(parent)


def _from_output_dir(output_dir: Path) -> Selection:
    """Every run folder directly under ``output_dir`` (symlinks and other folders skipped)."""
    folders: list[Path] = []
    skipped: list[str] = []
    if not output_dir.is_dir():
        return Selection(folders, skipped, [])
    for entry in sorted(output_dir.iterdir()):
        if entry.is_symlink():
            skipped.append(f"{entry.name}: skipped, a symbolic link (replay never follows one)")
        elif is_run_folder(entry):
            folders.append(entry)
        elif entry.is_dir():
            skipped.append(f"{entry.name}: skipped, not an otel-kedro run folder (no {RUN_MARKER})")
    return Selection(folders, skipped, [])


def _by_id(name: str, output_dir: Path) -> tuple[Path | None, str | None]:
    """The run folder under ``output_dir`` called ``name``, or the only one starting with it."""
    candidates = _from_output_dir(output_dir).folders
    exact = [folder for folder in candidates if folder.name == name]
    matches = exact or [folder for folder in candidates if folder.name.startswith(name)]
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        return None, (
            f"{name}: no run folder with this id or path under {output_dir}; "
            "`otel-kedro replay --all` sends every run there"
        )
    shown = ", ".join(folder.name for folder in matches[:5])
    return None, f"{name}: more than one run starts with this id ({shown}); give more of it"


def _by_path(name: str, output_dir: Path, *, outside: bool) -> tuple[Path | None, str | None]:
    resolved = Path(name).resolve()
    if not outside and not _inside(resolved, output_dir):
        return None, (
            f"{name}: refused, it is outside the project's output folder {output_dir} "
            f"(it resolves to {resolved}); pass --outside-output-dir to send it anyway"
        )
    if not is_run_folder(resolved):
        return None, f"{name}: refused, not an otel-kedro run folder (no {RUN_MARKER} in it)"
    return resolved, None


def select(
    names: Sequence[str], output_dir: Path, *, all_runs: bool, outside: bool = False
) -> Selection:
    """The run folders that ``names`` (ids or paths) and ``--all`` designate, each once."""
    output_dir = output_dir.resolve()
    selection = _from_output_dir(output_dir) if all_runs else Selection([], [], [])
    folders = list(selection.folders)
    refused: list[str] = []
    for name in names:
        looks_like_path = Path(name).exists() or "/" in name or name in {".", ".."}
        folder, problem = (
            _by_path(name, output_dir, outside=outside)
            if looks_like_path
            else _by_id(name, output_dir)
        )
        if problem:
            refused.append(problem)
        if folder is not None and folder.resolve() not in {f.resolve() for f in folders}:
            folders.append(folder)
    return Selection(folders, selection.skipped, refused)


def has_telemetry(folder: Path) -> bool:
    """Whether any signal file of ``folder`` holds at least one intact line."""
    return any(read_lines(folder / name).items for name in SIGNAL_FILES)
