"""Keep run folders out of version control, as pytest keeps ``.pytest_cache`` out.

One small function on purpose: a workflow that does want run folders committed (``datalad run``
saving a run with its outputs) changes what is written here, and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

GITIGNORE: Final = ".gitignore"
_CONTENT: Final = "# Created by otel-kedro: run folders stay out of version control.\n*\n"
_OWN_FOLDER: Final = ".otel_kedro"


def ignore_in_version_control(output_dir: Path) -> None:
    """Write a ``.gitignore`` holding ``*`` into ``.otel_kedro/`` (or, for an ``output_dir``
    elsewhere, into ``output_dir`` itself) unless one is there already: the user's own is kept.
    """
    folder = output_dir.parent if output_dir.parent.name == _OWN_FOLDER else output_dir
    path = folder / GITIGNORE
    if path.exists() or path.is_symlink():
        return
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(_CONTENT)
    except FileExistsError:  # another run wrote it first
        return
