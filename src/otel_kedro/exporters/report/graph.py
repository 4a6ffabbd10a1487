"""The pipeline graph as Kedro-Viz draws it — nodes and datasets as separate vertices, flowing
left to right — laid out in Python and drawn as SVG, coloured by duration and status.

Layout is the classic layered (Sugiyama-style) one, kept linear enough for thousands of nodes:
longest-path layers from the sources, then a few barycentre sweeps to reduce crossings, then one
column per layer. The node spans' ``kedro.node.inputs``/``outputs`` are the edges.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from otel_kedro.model.run_view import NodeRow

COLUMN: Final = 210
ROW: Final = 34
BOX_W: Final = 170
BOX_H: Final = 24
MARGIN: Final = 12
_SWEEPS: Final = 4


@dataclasses.dataclass(frozen=True)
class Vertex:
    """A node or a dataset, placed."""

    key: str  # "n:<node>" or "d:<dataset>"
    label: str
    is_node: bool
    x: float
    y: float


@dataclasses.dataclass(frozen=True)
class Layout:
    """Placed vertices, edges between their keys, and the drawing's size."""

    vertices: dict[str, Vertex]
    edges: list[tuple[str, str]]
    width: float
    height: float


def _edges(nodes: Sequence[NodeRow]) -> tuple[list[str], list[tuple[str, str]]]:
    keys: dict[str, None] = {}
    edges: dict[tuple[str, str], None] = {}
    for node in nodes:
        n = f"n:{node.name}"
        for name in node.inputs:
            keys.setdefault(f"d:{name}", None)
            edges.setdefault((f"d:{name}", n), None)
        keys.setdefault(n, None)
        for name in node.outputs:
            keys.setdefault(f"d:{name}", None)
            edges.setdefault((n, f"d:{name}"), None)
    return list(keys), list(edges)


def _layers(keys: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the sources (Kahn's order); a cycle's leftovers go last."""
    successors: dict[str, list[str]] = {k: [] for k in keys}
    indegree = dict.fromkeys(keys, 0)
    for a, b in edges:
        successors[a].append(b)
        indegree[b] += 1
    layer = dict.fromkeys(keys, 0)
    sources = [k for k in keys if indegree[k] == 0]
    queue = deque(k for k in keys if indegree[k] == 0)
    done = 0
    while queue:
        key = queue.popleft()
        done += 1
        for successor in successors[key]:
            layer[successor] = max(layer[successor], layer[key] + 1)
            indegree[successor] -= 1
            if indegree[successor] == 0:
                queue.append(successor)
    if done < len(keys):  # Kedro forbids cycles; never loop on a malformed file anyway
        last = max(layer.values(), default=0) + 1
        for key, count in indegree.items():
            if count > 0:
                layer[key] = last
    # Inputs nothing produces (raw data, parameters) sit just before their first consumer, as
    # Kedro-Viz draws them, not all in the first column with long edges.
    for key in sources:
        if successors[key]:
            layer[key] = max(0, min(layer[s] for s in successors[key]) - 1)
    return layer


def layout(nodes: Sequence[NodeRow]) -> Layout:
    """Place every node and dataset of the run."""
    keys, edges = _edges(nodes)
    layer_of = _layers(keys, edges)
    columns: dict[int, list[str]] = {}
    for key in keys:
        columns.setdefault(layer_of[key], []).append(key)
    neighbours: dict[str, list[str]] = {k: [] for k in keys}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    position = {key: float(i) for column in columns.values() for i, key in enumerate(column)}
    order = sorted(columns)
    for sweep in range(_SWEEPS):
        for index in order if sweep % 2 == 0 else reversed(order):
            column = columns[index]
            for key in column:
                near = neighbours[key]
                if near:
                    position[key] = sum(position[n] for n in near) / len(near)
            column.sort(key=lambda k: position[k])
            for i, key in enumerate(column):
                position[key] = float(i)
    tallest = max((len(c) for c in columns.values()), default=0)
    vertices = {}
    for index, column in columns.items():
        offset = (tallest - len(column)) * ROW / 2
        for i, key in enumerate(column):
            vertices[key] = Vertex(
                key=key,
                label=key[2:],
                is_node=key.startswith("n:"),
                x=MARGIN + index * COLUMN,
                y=MARGIN + offset + i * ROW,
            )
    width = MARGIN * 2 + (max(columns, default=0)) * COLUMN + BOX_W
    height = MARGIN * 2 + tallest * ROW
    return Layout(vertices, edges, width, height)


def duration_colour(fraction: float) -> str:
    """A light-to-dark orange for a duration as a fraction of the longest node's."""
    fraction = min(1.0, max(0.0, fraction))
    light, dark = (255, 236, 210), (217, 72, 15)
    r, g, b = (round(lo + (hi - lo) * fraction) for lo, hi in zip(light, dark, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 1)] + "…"


def graph_svg(nodes: Sequence[NodeRow]) -> str:
    """The graph as one SVG element (vertices carry ``data-node``/``data-dataset``)."""
    placed = layout(nodes)
    by_name = {f"n:{n.name}": n for n in nodes}
    longest = max((n.duration_s for n in nodes), default=0.0) or 1.0
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" '
        f'width="{placed.width:.0f}" height="{placed.height:.0f}" '
        f'viewBox="0 0 {placed.width:.0f} {placed.height:.0f}">',
        '<path class="edges" d="',
    ]
    for a, b in placed.edges:
        va, vb = placed.vertices[a], placed.vertices[b]
        x1, y1 = va.x + BOX_W, va.y + BOX_H / 2
        x2, y2 = vb.x, vb.y + BOX_H / 2
        mid = (x1 + x2) / 2
        parts.append(f"M{x1:.0f} {y1:.0f}C{mid:.0f} {y1:.0f} {mid:.0f} {y2:.0f} {x2:.0f} {y2:.0f}")
    parts.append('"/>')
    for key, vertex in placed.vertices.items():
        label = escape(vertex.label, quote=True)
        shown = escape(_clip(vertex.label, 26))
        if vertex.is_node:
            node = by_name[key]
            failed = node.result != "success"
            fill = "#fa5252" if failed else duration_colour(node.duration_s / longest)
            title = f"{vertex.label}: {node.duration_s:.3f} s, {node.result}"
            parts.append(
                f'<g class="vertex node{" failed" if failed else ""}" data-node="{label}" '
                f'transform="translate({vertex.x:.0f},{vertex.y:.0f})">'
                f"<title>{escape(title)}</title>"
                f'<rect width="{BOX_W}" height="{BOX_H}" rx="3" fill="{fill}"/>'
                f'<text x="8" y="16">{shown}</text></g>'
            )
        else:
            parts.append(
                f'<g class="vertex dataset" data-dataset="{label}" '
                f'transform="translate({vertex.x:.0f},{vertex.y:.0f})">'
                f"<title>{label}</title>"
                f'<rect width="{BOX_W}" height="{BOX_H}" rx="12"/>'
                f'<text x="12" y="16">{shown}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)
