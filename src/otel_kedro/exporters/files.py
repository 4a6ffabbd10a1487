"""Local files: one folder per run, marked as otel-kedro's, that no other run writes into.

The lines themselves are appended whole by :mod:`.append` (under a lock on an ``O_APPEND``
descriptor, cut back to the last whole line when a write fails) and encoded by
:mod:`.span_lines` for spans.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from otel_kedro.exporters.append import AtomicAppendStream, write_failure, write_json_atomically
from otel_kedro.exporters.vcs import ignore_in_version_control
from otel_kedro.model.run_folder import RUN_MARKER

# The append helpers live in .append (no SDK import); re-exported for existing callers.
__all__ = [
    "AtomicAppendStream",
    "create_run_folder",
    "write_failure",
    "write_json_atomically",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def create_run_folder(output_dir: Path, run_id: str) -> Path:
    """Create a new folder for one run under ``output_dir`` and return it.

    The name starts with the run id (sortable, recognisable) and ends with a random suffix, so
    two runs never share a folder even when their ids are equal. Its marker file
    (``RUN_MARKER``) is how replay knows the folder is otel-kedro's to read and write.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    ignore_in_version_control(output_dir)
    stem = _UNSAFE.sub("_", run_id).strip("._") or "run"
    while True:
        folder = output_dir / f"{stem}-{secrets.token_hex(3)}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        (folder / RUN_MARKER).write_text(
            "This folder holds one run's telemetry, written by otel-kedro.\n", encoding="utf-8"
        )
        return folder
