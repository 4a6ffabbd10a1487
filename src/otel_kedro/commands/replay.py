"""``otel-kedro replay``: send run folders that were not delivered."""

from __future__ import annotations

from pathlib import Path

import click

from otel_kedro.commands._project import (
    env_option,
    load,
    package_name_of,
    project_option,
    project_root,
)


@click.command()
@click.argument("runs", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--all", "all_runs", is_flag=True, help="Every run folder under output_dir.")
@click.option("--endpoint", default=None, help="OTLP endpoint (default: OTEL_EXPORTER_OTLP_*).")
@click.option("--force", is_flag=True, help="Send runs this endpoint already acknowledged.")
@project_option
@env_option
def replay(  # noqa: PLR0913, PLR0917 - click passes one parameter per option
    runs: tuple[str, ...],
    all_runs: bool,
    endpoint: str | None,
    force: bool,
    project: str | None,
    env: str | None,
) -> None:
    """Send run folders that were not delivered to the OTLP endpoint (and to Heap when opted
    in), consent permitting.
    """
    from otel_kedro.runs.remote import remote_jobs

    root = project_root(project)
    package_name = package_name_of(root)
    configuration = load(root, env, package_name)
    settings = configuration.settings
    for problem in configuration.problems:
        click.echo(f"otel-kedro: {problem}", err=True)
    if not configuration.consent.granted:
        raise click.ClickException(f"nothing sent: {configuration.consent.describe()}")
    if not runs and not all_runs:
        raise click.UsageError("name run folders, or pass --all")
    folders = [Path(run) for run in runs]
    if all_runs and settings.output_dir.is_dir():
        folders += sorted(p for p in settings.output_dir.iterdir() if p.is_dir())
    jobs = remote_jobs(settings, root, None, package_name, endpoint=endpoint, force=force)
    failed = 0
    for folder in folders:
        for destination, deliver in jobs:
            try:
                sent = deliver(folder)
            except Exception as error:  # noqa: BLE001 - report and go on with the other runs
                failed += 1
                click.echo(
                    f"{folder.name}: not delivered to {destination} "
                    f"({type(error).__name__}: {error})"
                )
                continue
            click.echo(
                f"{folder.name}: sent {sent} to {destination}"
                if sent
                else f"{folder.name}: already delivered to {destination}"
            )
    if failed:
        raise SystemExit(1)
