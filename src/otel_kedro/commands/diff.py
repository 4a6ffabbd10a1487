"""``otel-kedro diff RUN_A RUN_B``: what changed per node from one run to another."""

from __future__ import annotations

import click

from otel_kedro.commands._project import find_run, runs_options


def _threshold(_context: click.Context, _parameter: click.Parameter, value: str) -> float:
    from otel_kedro.model.comparison import parse_threshold

    try:
        return parse_threshold(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option(
    "--threshold",
    default="20%",
    show_default=True,
    callback=_threshold,
    help="Flag nodes this much slower or bigger (e.g. 20%).",
)
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 when a node is flagged.")
@runs_options
def diff(  # noqa: PLR0913, PLR0917 - click passes one parameter per option
    run_a: str,
    run_b: str,
    threshold: float,
    fail_on_regression: bool,
    project: str | None,
    env: str | None,
    runs_dir: str | None,
) -> None:
    """Compare RUN_B with RUN_A: per-node duration and peak memory, nodes added and removed."""
    from rich.console import Console
    from rich.table import Table

    from otel_kedro.commands._text import seconds, size
    from otel_kedro.model.comparison import compare
    from otel_kedro.model.run_view import read_run

    before = read_run(find_run(run_a, project, env, runs_dir), metrics=False)
    after = read_run(find_run(run_b, project, env, runs_dir), metrics=False)
    comparison = compare(before, after, threshold)
    console = Console(highlight=False)
    console.print(
        f"{before.folder.name} ({seconds(before.duration_s)}, {before.result}) → "
        f"{after.folder.name} ({seconds(after.duration_s)}, {after.result})",
        markup=False,
    )
    table = Table(title=f"nodes (▲ = over {threshold * 100:.0f} % worse)", title_justify="left")
    table.add_column("node")
    for header in ("before", "after", "time", "peak before", "peak after", "memory"):
        table.add_column(header, justify="right")

    def percent(change: float | None) -> str:
        return "—" if change is None else f"{change * 100:+.0f} %"

    for change in comparison.changes:
        flag = " ▲" if change.regression else ""
        table.add_row(
            f"[bold red]{change.name}{flag}[/]" if change.regression else change.name,
            seconds(change.before_s),
            seconds(change.after_s),
            percent(change.time_change),
            size(change.before_peak),
            size(change.after_peak),
            percent(change.memory_change),
        )
    console.print(table)
    console.print(f"added: {', '.join(comparison.added) or 'none'}", markup=False)
    console.print(f"removed: {', '.join(comparison.removed) or 'none'}", markup=False)
    regressions = comparison.regressions
    names = ", ".join(c.name for c in regressions)
    summary = f"regressions: {len(regressions)}" + (f" ({names})" if names else "")
    console.print(summary, markup=False)
    if fail_on_regression and regressions:
        raise SystemExit(1)
