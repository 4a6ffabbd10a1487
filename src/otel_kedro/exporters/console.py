"""The end-of-run summary: one block of text on stderr saying where time and memory went.

Built from the sampler's :class:`~otel_kedro.model.usage.UsageSummary` and the node spans of
the run's own trace file (so ParallelRunner workers' nodes are included), and printed once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from otel_kedro import attributes as attr

if TYPE_CHECKING:
    from otel_kedro.exporters.files import SpanRecord
    from otel_kedro.model.usage import UsageSummary

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
    summary: UsageSummary, result: str, nodes: Sequence[SpanRecord], folder: Path
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
    with_peak = [n for n in nodes if isinstance(n.attributes.get(attr.KEDRO_NODE_MEMORY_PEAK), int)]
    by_memory = sorted(
        with_peak, key=lambda n: int(n.attributes[attr.KEDRO_NODE_MEMORY_PEAK]), reverse=True
    )[:_TOP]
    if by_memory:
        lines.append(
            "  peak memory    "
            + ", ".join(
                f"{n.name} {_size(n.attributes[attr.KEDRO_NODE_MEMORY_PEAK])}" for n in by_memory
            )
        )
    if not sys.platform.startswith("linux"):  # Linux's caveats are in the README, not every run
        lines.extend(f"  note: {note}" for note in summary.approximations)
    lines.append(f"  files   {folder}")
    return "\n".join(lines)
