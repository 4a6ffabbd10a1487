"""Keep run folders out of version control, as pytest keeps ``.pytest_cache`` out — except in a
DataLad dataset, where ``datalad run`` saves the run folder with the outputs it recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

GITIGNORE: Final = ".gitignore"
_CONTENT: Final = "# Created by otel-kedro: run folders stay out of version control.\n*\n"
_OWN_FOLDER: Final = ".otel_kedro"
_DATALAD: Final = ".datalad"


def ignore_in_version_control(output_dir: Path) -> None:
    """Write a ``.gitignore`` holding ``*`` into ``.otel_kedro/`` (or, for an ``output_dir``
    elsewhere, into ``output_dir`` itself) unless one is there already: the user's own is kept.
    """
    folder = output_dir.parent if output_dir.parent.name == _OWN_FOLDER else output_dir
    if in_datalad_dataset(folder):
        return
    path = folder / GITIGNORE
    if path.exists() or path.is_symlink():
        return
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(_CONTENT)
    except FileExistsError:  # another run wrote it first
        return


def in_datalad_dataset(folder: Path) -> bool:
    """Whether ``folder`` lies in a DataLad dataset: the nearest git work tree above it holds a
    ``.datalad`` folder (what ``datalad create`` makes).
    """
    for parent in (folder, *folder.parents):
        if (parent / ".git").exists():
            return (parent / _DATALAD).is_dir()
    return False
