"""Which run folders to remove, and removing them: ``otel-kedro prune`` and ``keep_runs``.

Only folders that :func:`otel_kedro.model.run_folder.is_run_folder` recognises, directly under
the project's ``output_dir``, are ever candidates; symlinks are never followed (a symlink in the
output folder is neither a candidate nor entered, and ``shutil.rmtree`` removes links inside a
run folder without following them).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
from pathlib import Path
from typing import Final

from otel_kedro.diagnostics import warn_once
from otel_kedro.model.run_folder import INFO_FILE, TRACES_FILE, is_run_folder

_AGE: Final = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw])\s*")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> float:
    """``7d``, ``12h``, ``30m``, ``90s`` or ``2w`` in seconds; ``ValueError`` otherwise."""
    match = _AGE.fullmatch(text)
    if not match:
        raise ValueError(
            f"{text!r} is not an age; use a number and a unit: s, m, h, d or w (e.g. 7d, 12h)"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclasses.dataclass(frozen=True)
class RunFolder:
    """A recognised run folder and when its run last wrote to it."""

    path: Path
    written: float  # seconds since the epoch
    size: int  # bytes


def _written(folder: Path) -> float:
    """When the run last wrote its trace or info file (a later replay's delivery.json, which
    touches the folder itself, does not make an old run young).
    """
    times = [
        (folder / name).lstat().st_mtime
        for name in (TRACES_FILE, INFO_FILE)
        if (folder / name).is_file()
    ]
    return max(times) if times else folder.lstat().st_mtime


def _size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def run_folders(output_dir: Path) -> list[RunFolder]:
    """The run folders directly under ``output_dir``, newest first."""
    if output_dir.is_symlink() or not output_dir.is_dir():
        return []
    folders = [
        RunFolder(path, _written(path), _size(path))
        for path in output_dir.iterdir()
        if is_run_folder(path)
    ]
    return sorted(folders, key=lambda f: (f.written, f.path.name), reverse=True)


def select(
    folders: list[RunFolder],
    *,
    keep: int | None = None,
    older_than_s: float | None = None,
    now: float | None = None,
) -> list[RunFolder]:
    """The folders to remove (``folders`` newest first): those beyond the newest ``keep``, or
    older than ``older_than_s``; with both, only those that both rules would remove.
    """
    if keep is None and older_than_s is None:
        return []
    now = time.time() if now is None else now
    chosen = []
    for index, folder in enumerate(folders):
        beyond = keep is None or index >= keep
        old = older_than_s is None or now - folder.written > older_than_s
        if beyond and old:
            chosen.append(folder)
    return chosen


def remove(folder: RunFolder, output_dir: Path) -> None:
    """Delete one run folder, after checking again that it is a real run folder of
    ``output_dir`` (nothing outside it is ever touched).
    """
    path = folder.path
    if path.parent.resolve() != output_dir.resolve() or not is_run_folder(path):
        raise ValueError(f"{path} is not a run folder of {output_dir}; left alone")
    shutil.rmtree(path)


def keep_newest(output_dir: Path, keep: int) -> int:
    """Apply ``keep_runs`` at the end of a run: remove all but the newest ``keep`` run folders;
    how many were removed.
    """
    removed = 0
    for folder in select(run_folders(output_dir), keep=keep):
        remove(folder, output_dir)
        removed += 1
    return removed


def apply_keep_runs(output_dir: Path, keep: int, _folder: Path) -> None:
    """``keep_runs``, once a run's files are complete: remove the oldest run folders; a failure
    is one warning, never the run's.
    """
    try:
        keep_newest(output_dir, keep)
    except (OSError, ValueError) as error:
        warn_once(
            f"cannot remove old run folders under {output_dir} (setting keep_runs={keep}): "
            f"{error}; remove them with `otel-kedro prune --keep {keep}`."
        )
