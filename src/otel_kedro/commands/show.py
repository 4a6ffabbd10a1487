"""``otel-kedro show [RUN]``: one run in the terminal — span tree, node usage, a text timeline
with one lane per process and thread, failures, and the slowest and hungriest nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import click

from otel_kedro.commands._project import find_run, runs_options

if TYPE_CHECKING:
    from rich.console import Console

    from otel_kedro.model.run_view import NodeRow, RunView

TOP: Final = 5
BAR_WIDTH: Final = 50


@click.command()
@click.argument("run", required=False)
@click.option("--no-datasets", is_flag=True, help="Leave LOAD/SAVE spans out of the tree.")
@runs_options
def show(
    run: str | None, no_datasets: bool, project: str | None, env: str | None, runs_dir: str | None
) -> None:
    """Show a run (a run id, a unique prefix, a folder; default: the newest run)."""
    from rich.console import Console

    from otel_kedro.model.run_view import read_run

    view = read_run(find_run(run, project, env, runs_dir))
    console = Console(highlight=False)
    _facts(console, view)
    _tree(console, view, datasets=not no_datasets)
    _nodes(console, view)
    _timeline(console, view)
    _failures(console, view)
    _top(console, view)


def _facts(console: Console, view: RunView) -> None:
    from otel_kedro.commands._text import result, seconds, size, when

    failed = sum(1 for n in view.nodes if n.result != "success")
    console.print(
        f"[bold]RUN {view.pipeline or '?'}[/] {result(view.result)} in "
        f"{seconds(view.duration_s)} — {view.folder.name}"
    )
    console.print(
        f"  started {when(view.start_ns)} UTC · runner {view.runner or '—'} · env "
        f"{view.env or 'default'} · nodes {len(view.nodes) - failed} ok, {failed} failed · "
        f"CPU {seconds(view.usage.cpu_seconds)} · peak RSS {size(view.usage.peak_rss)}"
    )
    if view.command:
        console.print(f"  command {view.command}", markup=False)
    versions = ", ".join(f"{k} {v}" for k, v in view.versions.items())
    if versions:
        console.print(f"  {versions}", markup=False)
    if view.skipped_lines:
        console.print(f"  [yellow]{view.skipped_lines} unreadable lines skipped[/]")


def _tree(console: Console, view: RunView, *, datasets: bool) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    from otel_kedro.commands._text import seconds
    from otel_kedro.model.run_view import KIND_DATASET, STATUS_ERROR, tree

    root = Tree("[bold]spans[/]")
    branches: dict[int, Tree] = {}
    for _, row in tree(view.spans):
        if row.kind == KIND_DATASET and not datasets:
            continue
        mark = "[red]✗ error[/]" if row.status == STATUS_ERROR else "[green]✓[/]"
        label = f"{escape(row.name)}  [cyan]{seconds(row.duration_s)}[/]  {mark}"
        parent = branches.get(row.parent_id) if row.parent_id is not None else None
        branches[row.span_id] = (parent or root).add(label)
    console.print(root)


def _nodes(console: Console, view: RunView) -> None:
    from rich.table import Table

    from otel_kedro.commands._text import result, seconds, size

    if not view.nodes:
        return
    table = Table(title="nodes", title_justify="left")
    table.add_column("node")
    for header in ("duration", "CPU", "peak memory"):
        table.add_column(header, justify="right")
    table.add_column("process · thread")
    table.add_column("result")
    for node in view.nodes:
        table.add_row(
            node.name,
            seconds(node.duration_s),
            seconds(node.cpu_s),
            size(node.peak_bytes),
            node.span.lane,
            result(node.result),
        )
    console.print(table)


def _bar(node: NodeRow, start: int, length: int) -> str:
    begin = int((node.span.start_ns - start) / length * BAR_WIDTH)
    end = int((node.span.end_ns - start) / length * BAR_WIDTH)
    begin = min(max(begin, 0), BAR_WIDTH - 1)
    end = max(begin + 1, min(end, BAR_WIDTH))
    return " " * begin + "█" * (end - begin) + " " * (BAR_WIDTH - end)


def _timeline(console: Console, view: RunView) -> None:
    from rich.markup import escape

    from otel_kedro.commands._text import seconds

    if not view.nodes:
        return
    start = min(n.span.start_ns for n in view.nodes)
    length = max(1, max(n.span.end_ns for n in view.nodes) - start)
    width = min(40, max(len(n.name) for n in view.nodes))
    console.print(f"[bold]timeline[/] (0 → {seconds(length / 1e9)}, one lane per process · thread)")
    for lane in view.lanes:
        console.print(f"  [bold]{escape(lane)}[/]")
        for node in (n for n in view.nodes if n.span.lane == lane):
            colour = "green" if node.result == "success" else "red"
            name = node.name if len(node.name) <= width else node.name[: width - 1] + "…"
            console.print(
                f"    {escape(name):<{width}} │[{colour}]{_bar(node, start, length)}[/]│ "
                f"{seconds(node.duration_s)}"
            )


def _failures(console: Console, view: RunView) -> None:
    from rich.markup import escape
    from rich.panel import Panel

    for failure in view.failures:
        body = f"[bold]{escape(failure.type)}[/]: {escape(failure.message)}"
        if failure.stacktrace:
            body += "\n\n" + escape(failure.stacktrace.rstrip())
        console.print(Panel(body, title=f"failed: {escape(failure.span)}", border_style="red"))


def _top(console: Console, view: RunView) -> None:
    from otel_kedro.commands._text import seconds, size

    by_time = sorted(view.nodes, key=lambda n: n.duration_s, reverse=True)[:TOP]
    if by_time:
        console.print(
            "slowest nodes  " + ", ".join(f"{n.name} {seconds(n.duration_s)}" for n in by_time),
            markup=False,
        )
    by_memory = sorted(
        (n for n in view.nodes if n.peak_bytes is not None),
        key=lambda n: n.peak_bytes or 0,
        reverse=True,
    )[:TOP]
    if by_memory:
        console.print(
            "most memory    " + ", ".join(f"{n.name} {size(n.peak_bytes)}" for n in by_memory),
            markup=False,
        )
