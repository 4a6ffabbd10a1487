"""The HTML report of a run: one self-contained file (see :mod:`.page`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from otel_kedro.exporters.report.page import render

if TYPE_CHECKING:
    from otel_kedro.model.comparison import Comparison
    from otel_kedro.model.run_view import RunView

__all__ = ["render", "write_report"]


def write_report(
    view: RunView, path: Path, previous: Comparison | None = None, *, generator: str = ""
) -> Path:
    """Write the page of ``view`` to ``path`` atomically (a reader never sees half a page)."""
    page = render(view, previous, generator=generator)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(path)
    return path
