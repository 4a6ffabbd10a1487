"""The end-of-run summary: one block of text on stderr saying where time and memory went.

Built from the sampler's :class:`~otel_kedro.model.usage.UsageSummary` and the few slowest and
hungriest nodes of the run, every process's (ParallelRunner workers' included), and printed once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otel_kedro.model.usage import NodeFigure, UsageSummary

_TOP = 3


def _size(size: float) -> str:
    if abs(size) < 1000:
        return f"{size:.0f} B"
    for unit in ("KB", "MB"):
        size /= 1000
        if abs(size) < 1000:
            return f"{size:.1f} {unit}"
    return f"{size / 1000:.1f} GB"


def format_summary(
    summary: UsageSummary,
    result: str,
    nodes: Sequence[NodeFigure],
    folder: Path,
    report: str | None = None,
) -> str:
    """The summary block: wall time, result, memory, CPU, top nodes, and the run folder."""
    lines = [
        f"otel-kedro: run {result} in {summary.wall_clock_time:.1f} s "
        f"({summary.num_samples} samples of the process tree)",
        f"  memory  peak {_size(summary.peak_rss)} RSS, average {_size(summary.average_rss)}"
        + (f"; peak PSS {_size(summary.peak_pss)}" if summary.peak_pss else ""),
        f"  cpu     {summary.cpu_seconds:.1f} s ({summary.cpu_user:.1f} user, "
        f"{summary.cpu_system:.1f} system); peak {summary.peak_pcpu:.0f} %, "
        f"average {summary.average_pcpu:.0f} % of one core",
    ]
    by_time = sorted(nodes, key=lambda n: n.seconds, reverse=True)[:_TOP]
    if by_time:
        lines.append(
            "  slowest nodes  " + ", ".join(f"{n.name} {n.seconds:.2f} s" for n in by_time)
        )
    peaks = {n.name: n.peak_bytes for n in nodes if n.peak_bytes is not None}
    by_memory = sorted(peaks.items(), key=lambda item: item[1], reverse=True)[:_TOP]
    if by_memory:
        lines.append(
            "  peak memory    " + ", ".join(f"{name} {_size(peak)}" for name, peak in by_memory)
        )
    if not sys.platform.startswith("linux"):  # Linux's caveats are in the README, not every run
        lines.extend(f"  note: {note}" for note in summary.approximations)
    lines.append(f"  files   {folder}")
    if report is not None:
        lines.append(f"  report  {report}")
    return "\n".join(lines)
