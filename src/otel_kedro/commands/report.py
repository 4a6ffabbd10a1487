"""``otel-kedro report [RUN] [-o FILE]``: one self-contained HTML page of a run."""

from __future__ import annotations

from pathlib import Path

import click

from otel_kedro.commands._project import find_run, runs_options


@click.command()
@click.argument("run", required=False)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the page (default: report.html in the run folder).",
)
@runs_options
def report(
    run: str | None, output: str | None, project: str | None, env: str | None, runs_dir: str | None
) -> None:
    """Write the HTML report of a run (a run id, a unique prefix, a folder; default: the
    newest run) and print its path.
    """
    from otel_kedro.runs.views import write_run_report

    folder = find_run(run, project, env, runs_dir)
    try:
        written = write_run_report(folder, Path(output).resolve() if output else None)
    except OSError as error:
        raise click.ClickException(
            f"cannot write the report to {error.filename or output}: {error.strerror or error}; "
            "choose another place with -o FILE."
        ) from None
    click.echo(str(written))
