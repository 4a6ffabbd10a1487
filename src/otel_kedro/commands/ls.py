"""``otel-kedro ls``: the runs of a project, newest first."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import click

from otel_kedro.commands._project import runs_base, runs_options

if TYPE_CHECKING:
    from otel_kedro.runs.views import ListedRun

# The fields of `ls --format json`, in order (documented in the README; keep them stable).
JSON_FIELDS = (
    "run_id",
    "folder",
    "start",
    "pipeline",
    "pipelines",
    "runner",
    "env",
    "result",
    "duration_s",
    "nodes_ok",
    "nodes_failed",
    "cpu_s",
    "peak_rss_bytes",
    "delivered",
    "delivered_to",
)


def as_record(listed: ListedRun) -> dict[str, Any]:
    """One run as a JSON object with the fields of ``JSON_FIELDS``."""
    view = listed.view
    failed = sum(1 for n in view.nodes if n.result != "success")
    start = (
        dt.datetime.fromtimestamp(view.start_ns / 1e9, dt.timezone.utc).isoformat()
        if view.start_ns
        else None
    )
    return {
        "run_id": view.run_id,
        "folder": str(view.folder),
        "start": start,
        "pipeline": view.pipeline or None,
        "pipelines": list(view.pipelines),
        "runner": view.runner or None,
        "env": view.env or None,
        "result": view.result,
        "duration_s": round(view.duration_s, 6),
        "nodes_ok": len(view.nodes) - failed,
        "nodes_failed": failed,
        "cpu_s": None if view.usage.cpu_seconds is None else round(view.usage.cpu_seconds, 3),
        "peak_rss_bytes": None if view.usage.peak_rss is None else int(view.usage.peak_rss),
        "delivered": bool(listed.delivered),
        "delivered_to": list(listed.delivered),
    }


@click.command(name="ls")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--pipeline", default=None, help="Only runs of this pipeline.")
@click.option(
    "--result",
    default=None,
    type=click.Choice(["success", "failure", "cancellation", "unfinished", "unknown"]),
    help="Only runs with this result.",
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@runs_options
def ls(  # noqa: PLR0913, PLR0917 - click passes one parameter per option
    limit: int,
    pipeline: str | None,
    result: str | None,
    output_format: str,
    project: str | None,
    env: str | None,
    runs_dir: str | None,
) -> None:
    """List runs, newest first."""
    from otel_kedro.runs.views import list_runs

    base = runs_base(project, env, runs_dir)
    listed = list_runs(base, limit=limit, pipeline=pipeline, result=result)
    if output_format == "json":
        click.echo(json.dumps([as_record(item) for item in listed], indent=2))
        return
    _table(listed, base)


def _table(listed: list[ListedRun], base: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from otel_kedro.commands._text import result, seconds, size, when

    table = Table(
        title=f"runs in {base}",
        title_justify="left",
        box=None,
        pad_edge=False,
        header_style="bold underline",
    )
    table.add_column("run", no_wrap=True)
    table.add_column("start (UTC)", no_wrap=True)  # month-day and time: the run id has the year
    for header in ("pipeline", "runner", "env", "result"):
        table.add_column(header, no_wrap=True)
    for header in ("duration", "ok/fail", "CPU", "peak RSS"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("sent", no_wrap=True)
    for item in listed:
        record = as_record(item)
        runner = record["runner"] or "—"
        table.add_row(
            item.view.folder.name,
            when(item.view.start_ns)[5:],
            record["pipeline"] or "—",
            runner.removesuffix("Runner") if runner != "Runner" else runner,
            record["env"] or "default",
            result(item.view.result),
            seconds(item.view.duration_s),
            f"{record['nodes_ok']}/{record['nodes_failed']}",
            seconds(item.view.usage.cpu_seconds),
            size(item.view.usage.peak_rss),
            "yes" if item.delivered else "no",
        )
    Console(highlight=False).print(table)
    skipped = sum(item.view.skipped_lines for item in listed)
    if skipped:
        click.echo(f"({skipped} unreadable lines skipped: torn or garbage)", err=True)
