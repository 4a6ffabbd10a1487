"""What the `ls`, `show`, `report` and `diff` commands and the end-of-run report share: runs read
from their folders with the one reader, the previous run of a pipeline, and writing the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from otel_kedro import __version__
from otel_kedro.model.run_folder import REPORT_FILE, TRACES_FILE, run_folders
from otel_kedro.model.run_view import RunView, read_run

if TYPE_CHECKING:
    from otel_kedro.model.comparison import Comparison

# How many older run folders are read to find the previous run of the same pipeline.
PREVIOUS_SEARCH: Final = 20
# The end-of-run report must add at most ≈ 50 ms to a run: 28 ms for the example's 38 spans,
# about 0.5 ms per node with its dataset spans (270 ms for 500 nodes, measured). Runs whose
# traces.jsonl is larger than this get their report from `otel-kedro report` on demand.
AUTOMATIC_REPORT_MAX_BYTES: Final = 256 * 1024


class ListedRun(NamedTuple):
    """A run as `otel-kedro ls` lists it."""

    view: RunView
    delivered: tuple[str, ...]  # the destinations that acknowledged it (delivery.json)


def list_runs(
    base: Path,
    *,
    limit: int | None = None,
    pipeline: str | None = None,
    result: str | None = None,
) -> list[ListedRun]:
    """Runs under ``base``, newest first, filtered by pipeline name and result."""
    from otel_kedro.exporters.delivery import delivered

    listed = []
    for folder in run_folders(base):
        view = read_run(folder)
        if pipeline is not None and pipeline not in (view.pipeline, *view.pipelines):
            continue
        if result is not None and view.result != result:
            continue
        listed.append(ListedRun(view, tuple(sorted(delivered(folder)))))
        if limit is not None and len(listed) >= limit:
            break
    return listed


def previous_run(view: RunView) -> RunView | None:
    """The newest run of the same pipeline that started before ``view``, beside it."""
    folders = run_folders(view.folder.parent)
    here = [i for i, folder in enumerate(folders) if folder.resolve() == view.folder.resolve()]
    older = folders[here[0] + 1 :] if here else folders
    checked = 0
    for folder in older:
        if checked >= PREVIOUS_SEARCH:
            break
        candidate = read_run(folder, metrics=False)
        if not candidate.start_ns or candidate.start_ns >= view.start_ns:
            continue
        checked += 1
        if candidate.pipeline == view.pipeline and candidate.nodes:
            return candidate
    return None


def comparison_with_previous(view: RunView, threshold: float | None = None) -> Comparison | None:
    """``view`` compared with the previous run of its pipeline, if there is one."""
    from otel_kedro.model.comparison import DEFAULT_THRESHOLD, compare

    previous = previous_run(view)
    if previous is None:
        return None
    return compare(previous, view, DEFAULT_THRESHOLD if threshold is None else threshold)


def automatic_report(folder: Path) -> bool:
    """Whether the run in ``folder`` is small enough for its report to be written as it ends."""
    try:
        return (folder / TRACES_FILE).stat().st_size <= AUTOMATIC_REPORT_MAX_BYTES
    except OSError:
        return False


def report_line(folder: Path) -> str:
    """What the end-of-run summary says about the report of the run in ``folder``."""
    if automatic_report(folder):
        return str(folder / REPORT_FILE)
    return (
        f"otel-kedro report {folder.name}  (not written as the run ended: over "
        f"{AUTOMATIC_REPORT_MAX_BYTES // 1024} KiB of spans)"
    )


def write_run_report(folder: Path, output: Path | None = None) -> Path:
    """Write the HTML report of the run in ``folder`` (to ``report.html`` there by default)."""
    from otel_kedro.exporters.report import write_report

    view = read_run(folder)
    return write_report(
        view,
        output or folder / REPORT_FILE,
        comparison_with_previous(view),
        generator=f"otel-kedro {__version__}",
    )
