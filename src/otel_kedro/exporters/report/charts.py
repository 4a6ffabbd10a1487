"""The report's time charts as SVG: the phases of the command, the waterfall of node and dataset
spans with one lane per process and thread, and the process tree's CPU and RSS over time with
node start and end marks. All share one time axis, so a spike lines up with the node behind it.
"""

from __future__ import annotations

import dataclasses
from html import escape
from typing import TYPE_CHECKING, Final

from otel_kedro import attributes as attr
from otel_kedro.exporters.report.graph import duration_colour
from otel_kedro.model.run_view import KIND_DATASET, KIND_NODE, STATUS_ERROR, tree

if TYPE_CHECKING:
    from otel_kedro.model.run_view import RunView, SpanRow

WIDTH: Final = 1100  # pixels of the time axis, widened for many nodes per lane (the page scrolls)
PER_NODE: Final = 6  # pixels per node of the busiest lane
MAX_WIDTH: Final = 60_000
LABEL: Final = 220
NODE_H: Final = 16
DATASET_H: Final = 8
PHASE_H: Final = 16
CHART_H: Final = 140


@dataclasses.dataclass(frozen=True)
class TimeAxis:
    """Nanoseconds since the epoch to x, over the run's whole span of time."""

    start_ns: int
    end_ns: int
    width: int = WIDTH

    def x(self, ns: int) -> float:
        """The x of an instant, in pixels (after the label column)."""
        span = max(1, self.end_ns - self.start_ns)
        return LABEL + (ns - self.start_ns) / span * self.width

    def seconds(self) -> float:
        """The axis length in seconds."""
        return max(0, self.end_ns - self.start_ns) / 1e9


def axis_of(view: RunView) -> TimeAxis:
    """From the first span's start to the last span's end or the last sample."""
    starts = [r.start_ns for r in view.spans if r.start_ns] or [view.start_ns]
    ends = [r.end_ns for r in view.spans if r.end_ns] or [view.end_ns]
    start = min(starts)
    end = max(ends)
    if view.usage.times_s:
        end = max(end, view.start_ns + int(view.usage.times_s[-1] * 1e9))
        start = min(start, view.start_ns + int(view.usage.times_s[0] * 1e9))
    per_lane: dict[str, int] = {}
    for node in view.nodes:
        per_lane[node.span.lane] = per_lane.get(node.span.lane, 0) + 1
    width = min(MAX_WIDTH, max(WIDTH, PER_NODE * max(per_lane.values(), default=0)))
    return TimeAxis(start, max(end, start + 1), width)


def _ticks(axis: TimeAxis, y: float, height: float) -> str:
    seconds = axis.seconds()
    step = next(
        (s for s in (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 600, 1800, 3600)
         if seconds / s <= axis.width / 110),  # a tick every 110 px or more
        7200,
    )  # fmt: skip
    parts = []
    t = 0.0
    while t <= seconds + 1e-9:
        x = axis.x(axis.start_ns + int(t * 1e9))
        parts.append(
            f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{y:.0f}" y2="{y + height:.0f}"/>'
            f'<text class="ticklabel" x="{x + 2:.1f}" y="{y + 10:.0f}">{t:g} s</text>'
        )
        t += step
    return "".join(parts)


def _bar(  # noqa: PLR0913, PLR0917 - a bar's place and look
    row: SpanRow, axis: TimeAxis, y: float, height: float, css: str, fill: str
) -> str:
    x = axis.x(row.start_ns)
    width = max(0.8, axis.x(row.end_ns) - x)
    title = f"{row.name}: {row.duration_s:.3f} s ({row.lane})"
    if row.status == STATUS_ERROR:
        css += " failed"
        title += f" — {row.status_message}"
    data = ""
    if row.kind == KIND_NODE:
        name = str(row.attributes.get(attr.CICD_TASK_NAME, row.name))
        data = f' data-node="{escape(name)}"'
    label = ""
    if height >= NODE_H and width > 30:
        chars = int(width / 6.2)
        text = row.name if len(row.name) <= chars else row.name[: max(1, chars - 1)] + "…"
        label = f'<text x="{x + 3:.1f}" y="{y + 12:.0f}">{escape(text)}</text>'
    return (
        f'<g class="{css}"{data}><title>{escape(title)}</title>'
        f'<rect x="{x:.1f}" y="{y:.0f}" width="{width:.1f}" height="{height}" fill="{fill}"/>'
        f"{label}</g>"
    )


def _svg(axis: TimeAxis, height: float, body: list[str], css: str) -> str:
    total = LABEL + axis.width + 10
    return (
        f'<svg class="timechart {css}" xmlns="http://www.w3.org/2000/svg" width="{total}" '
        f'height="{height:.0f}" viewBox="0 0 {total} {height:.0f}">' + "".join(body) + "</svg>"
    )


def phases_svg(view: RunView, axis: TimeAxis) -> str:
    """Every span outside the nodes (command, run, startup phases, …) as an indented tree."""
    by_id = {r.span_id: r for r in view.spans}
    rows = [
        (depth, row)
        for depth, row in tree(view.spans)
        if row.kind not in (KIND_NODE, KIND_DATASET) and not _under_node(row, by_id)
    ]
    body = [_ticks(axis, 0, len(rows) * (PHASE_H + 4) + 14)]
    for index, (depth, row) in enumerate(rows):
        y = 14 + index * (PHASE_H + 4)
        body.append(
            f'<text class="lanelabel" x="{4 + depth * 10}" y="{y + 12}">{escape(row.name)}</text>'
        )
        fill = "#fa5252" if row.status == STATUS_ERROR else "#748ffc"
        body.append(_bar(row, axis, y, PHASE_H, "phase", fill))
    return _svg(axis, 14 + len(rows) * (PHASE_H + 4) + 4, body, "phases")


def _under_node(row: SpanRow, by_id: dict[int, SpanRow]) -> bool:
    parent = by_id.get(row.parent_id) if row.parent_id is not None else None
    seen = 0
    while parent is not None and seen < 64:
        if parent.kind == KIND_NODE:
            return True
        parent = by_id.get(parent.parent_id) if parent.parent_id is not None else None
        seen += 1
    return False


def waterfall_svg(view: RunView, axis: TimeAxis) -> str:
    """Node spans (upper row) and their LOAD/SAVE spans (lower row), one lane per process and
    thread, coloured like the graph.
    """
    lanes = view.lanes
    longest = max((n.duration_s for n in view.nodes), default=0.0) or 1.0
    lane_h = NODE_H + DATASET_H + 10
    height = 14 + len(lanes) * lane_h
    body = [_ticks(axis, 0, height)]
    top = {lane: 14 + i * lane_h for i, lane in enumerate(lanes)}
    for lane, y in top.items():
        body.append(f'<text class="lanelabel" x="4" y="{y + 12}">{escape(lane)}</text>')
    for node in view.nodes:
        y = top[node.span.lane]
        fill = "#fa5252" if node.result != "success" else duration_colour(node.duration_s / longest)
        body.append(_bar(node.span, axis, y, NODE_H, "wf-node", fill))
    for row in view.spans:
        if row.kind == KIND_DATASET and row.lane in top:
            fill = "#4dabf7" if row.name.startswith("LOAD") else "#63e6be"
            body.append(_bar(row, axis, top[row.lane] + NODE_H + 2, DATASET_H, "wf-dataset", fill))
    return _svg(axis, height + 4, body, "waterfall")


def usage_svg(view: RunView, axis: TimeAxis) -> str:
    """CPU (% of one core, left scale) and RSS (right scale) of the process tree."""
    usage = view.usage
    top, bottom = 16, 16 + CHART_H
    body = [_ticks(axis, 0, bottom + 10)]
    if usage.times_s:
        cpu_max = max(100.0, *usage.cpu_percent)
        rss_max = max(1.0, *usage.rss_bytes)

        def xy(t: float, value: float, peak: float) -> str:
            x = axis.x(view.start_ns + int(t * 1e9))
            return f"{x:.1f},{bottom - value / peak * CHART_H:.1f}"

        times = usage.times_s
        cpu = " ".join(xy(t, v, cpu_max) for t, v in zip(times, usage.cpu_percent, strict=True))
        rss = " ".join(xy(t, v, rss_max) for t, v in zip(times, usage.rss_bytes, strict=True))
        body += [
            f'<polyline class="cpu" points="{cpu}"/>',
            f'<polyline class="rss" points="{rss}"/>',
            f'<text class="axislabel cpu-label" x="4" y="{top + 10}">CPU {cpu_max:.0f} %</text>',
            f'<text class="axislabel rss-label" x="4" y="{top + 26}">RSS '
            f"{rss_max / 1e6:.1f} MB</text>",
            f'<text class="axislabel" x="4" y="{bottom}">0</text>',
        ]
    else:
        body.append(
            f'<text class="axislabel" x="{LABEL + 10}" y="{top + 40}">no samples in '
            "metrics.jsonl (sampler off, or the run was too short)</text>"
        )
    starts = "".join(f"M{axis.x(n.span.start_ns):.1f} {bottom}v8" for n in view.nodes)
    ends = "".join(f"M{axis.x(n.span.end_ns):.1f} {bottom}v8" for n in view.nodes)
    body.append(f'<path class="mark-start" d="{starts}"/><path class="mark-end" d="{ends}"/>')
    return _svg(axis, bottom + 12, body, "usage")
