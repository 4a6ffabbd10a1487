"""One self-contained HTML page of a run: CSS, SVG and a few lines of JavaScript inline, nothing
fetched from anywhere (no CDN, no font, no image), so it opens from a file on a machine without
network and can be attached to a ticket or committed with the run.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Final

from otel_kedro.exporters.report.charts import axis_of, phases_svg, usage_svg, waterfall_svg
from otel_kedro.exporters.report.graph import graph_svg

if TYPE_CHECKING:
    from otel_kedro.model.comparison import Comparison
    from otel_kedro.model.run_view import NodeRow, RunView

TOP: Final = 10
CHANGES_SHOWN: Final = 30


def _asset(name: str) -> str:
    """The page's stylesheet or script, inlined (read once per process)."""
    if name not in _ASSETS:
        _ASSETS[name] = (Path(__file__).parent / name).read_text(encoding="utf-8")
    return _ASSETS[name]


_ASSETS: dict[str, str] = {}


def _size(size: float | None) -> str:
    if size is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover - the loop returns at GB


def _when(ns: int) -> str:
    if not ns:
        return "—"
    return dt.datetime.fromtimestamp(ns / 1e9, dt.timezone.utc).isoformat(timespec="milliseconds")


def _badge(result: str) -> str:
    css = result if result in ("success", "failure") else "other"
    return f'<span class="badge {css}">{escape(result)}</span>'


def _facts(view: RunView) -> str:
    failed = sum(1 for n in view.nodes if n.result != "success")
    facts = [
        ("run id", view.run_id),
        ("folder", str(view.folder)),
        ("started", _when(view.start_ns)),
        ("duration", f"{view.duration_s:.3f} s"),
        ("pipeline", view.pipeline or "—"),
        ("runner", view.runner or "—"),
        ("env", view.env or "default"),
        ("command", view.command or "— (no command span: run from Python)"),
        ("exit code", "—" if view.exit_code is None else str(view.exit_code)),
        ("nodes", f"{len(view.nodes) - failed} ok, {failed} failed"),
        ("CPU", "—" if view.usage.cpu_seconds is None else f"{view.usage.cpu_seconds:.2f} s"),
        ("peak memory", _size(view.usage.peak_rss)),
        *((f"{name} version", version) for name, version in view.versions.items()),
    ]
    if view.skipped_lines:
        facts.append(("unreadable lines", f"{view.skipped_lines} (torn or garbage, skipped)"))
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f'<section id="facts"><h2>Run</h2><dl>{rows}</dl></section>'


def _failures(view: RunView) -> str:
    if not view.failures:
        return ""
    items = [
        f"<h3>{escape(failure.span)}: {escape(failure.type)}</h3>"
        f"<p>{escape(failure.message)}</p><pre>{escape(failure.stacktrace)}</pre>"
        for failure in view.failures
    ]
    return f'<section id="failures"><h2>Failures</h2>{"".join(items)}</section>'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _node_cells(node: NodeRow) -> list[str]:
    return [
        escape(node.name),
        f"{node.duration_s:.3f} s",
        "—" if node.cpu_s is None else f"{node.cpu_s:.3f} s",
        _size(node.peak_bytes),
        escape(node.span.lane),
        escape(node.result),
    ]


def _top(view: RunView) -> str:
    headers = ["node", "duration", "CPU", "peak memory", "process · thread", "result"]
    by_time = sorted(view.nodes, key=lambda n: n.duration_s, reverse=True)[:TOP]
    by_memory = sorted(
        (n for n in view.nodes if n.peak_bytes is not None),
        key=lambda n: n.peak_bytes or 0,
        reverse=True,
    )[:TOP]
    memory = (
        _table(headers, [_node_cells(n) for n in by_memory], {1, 2, 3})
        if by_memory
        else '<p class="muted">No per-node memory (ThreadRunner nodes share one process).</p>'
    )
    return (
        f'<section id="top"><h2>Slowest nodes</h2>'
        f"{_table(headers, [_node_cells(n) for n in by_time], {1, 2, 3})}"
        f"<h2>Most memory</h2>{memory}</section>"
    )


def _percent(change: float | None) -> str:
    return "—" if change is None else f"{change * 100:+.0f} %"


def comparison_html(comparison: Comparison, title: str) -> str:
    """The changes between two runs as a section (also used for the previous run)."""
    before = comparison.before
    head = (
        f"<p>{escape(before.run_id)} ({_when(before.start_ns)}, {escape(before.result)}, "
        f"{before.duration_s:.3f} s) → this run ({comparison.after.duration_s:.3f} s). "
        f"Flagged: more than {comparison.threshold * 100:.0f} % slower or bigger.</p>"
    )
    rows = []
    for change in comparison.changes[:CHANGES_SHOWN]:
        css = ' class="regression"' if change.regression else ""
        rows.append(
            [
                f"<span{css}>{escape(change.name)}{' ▲' if change.regression else ''}</span>",
                f"{change.before_s:.3f} s",
                f"{change.after_s:.3f} s",
                _percent(change.time_change),
                _size(change.before_peak),
                _size(change.after_peak),
                _percent(change.memory_change),
            ]
        )
    headers = ["node", "before", "after", "time", "peak before", "peak after", "memory"]
    table = _table(headers, rows, {1, 2, 3, 4, 5, 6})
    more = len(comparison.changes) - CHANGES_SHOWN
    extra = f'<p class="muted">… and {more} more nodes.</p>' if more > 0 else ""
    summary = (
        f"<p>{len(comparison.regressions)} regression(s); added: "
        f"{escape(', '.join(comparison.added)) or 'none'}; removed: "
        f"{escape(', '.join(comparison.removed)) or 'none'}.</p>"
    )
    return (
        f'<section id="comparison"><h2>{escape(title)}</h2>{head}{summary}{table}{extra}</section>'
    )


def render(view: RunView, previous: Comparison | None = None, *, generator: str = "") -> str:
    """The whole page of one run, with the comparison to its previous run when there is one."""
    axis = axis_of(view)
    if previous is not None:
        compared = comparison_html(previous, "Compared with the previous run of this pipeline")
    else:
        compared = (
            '<section id="comparison"><h2>Compared with the previous run of this pipeline</h2>'
            '<p class="muted">No earlier run of this pipeline in this folder.</p></section>'
        )
    title = f"RUN {view.pipeline}" if view.pipeline else view.folder.name
    return "".join(
        [
            "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)} — otel-kedro</title>",
            f"<style>{_asset('report.css')}</style></head><body>",
            f"<header><h1>{escape(title)}{_badge(view.result)}</h1>",
            f'<div class="muted">{escape(_when(view.start_ns))} · {view.duration_s:.3f} s · '
            f"{len(view.nodes)} node{'' if len(view.nodes) == 1 else 's'}</div></header><main>",
            _facts(view),
            _failures(view),
            '<section id="phases"><h2>Command and run</h2><div class="scroll">',
            phases_svg(view, axis),
            "</div></section>",
            '<section id="timeline"><h2>Waterfall: nodes and their LOAD/SAVE, one lane per '
            'process and thread</h2><div class="tools"><input id="find" placeholder="mark nodes…"'
            ' aria-label="mark nodes"> <span id="found" class="muted"></span></div>',
            '<div class="legend muted"><span>node: colour = duration</span><span>blue: LOAD'
            "</span><span>green: SAVE</span><span>red: failed</span></div>",
            '<div class="scroll">',
            waterfall_svg(view, axis),
            "</div></section>",
            '<section id="usage"><h2>CPU and memory of the process tree</h2>',
            '<div class="legend muted"><span>orange: CPU % of one core</span><span>blue: RSS'
            "</span><span>ticks: node start (green) and end (grey)</span></div>",
            '<div class="scroll">',
            usage_svg(view, axis),
            "</div></section>",
            '<section id="pipeline"><h2>Pipeline</h2><div class="scroll">',
            graph_svg(view.nodes),
            "</div></section>",
            _top(view),
            compared,
            f'<footer class="muted">{escape(generator)}</footer>',
            f"</main><script>{_asset('report.js')}</script></body></html>",
        ]
    )
