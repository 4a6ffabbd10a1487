"""``otel-kedro replay``: send run folders that were not delivered."""

from __future__ import annotations

import click

from otel_kedro.commands._project import (
    env_option,
    load,
    package_name_of,
    project_option,
    project_root,
)


@click.command()
@click.argument("runs", nargs=-1)
@click.option("--all", "all_runs", is_flag=True, help="Every run folder under output_dir.")
@click.option("--endpoint", default=None, help="OTLP endpoint (default: OTEL_EXPORTER_OTLP_*).")
@click.option("--force", is_flag=True, help="Send lines this endpoint already acknowledged.")
@click.option(
    "--outside-output-dir",
    "outside",
    is_flag=True,
    help="Accept run folder paths outside the project's output folder.",
)
@project_option
@env_option
def replay(  # noqa: PLR0913, PLR0917 - click passes one parameter per option
    runs: tuple[str, ...],
    all_runs: bool,
    endpoint: str | None,
    force: bool,
    outside: bool,
    project: str | None,
    env: str | None,
) -> None:
    """Send what each endpoint has not acknowledged of the named runs (ids as replay prints
    them, unique id prefixes, or paths) to the OTLP endpoint (and to Heap when opted in),
    consent permitting. Only otel-kedro run folders inside the output folder are touched.
    """
    from otel_kedro.runs.remote import remote_jobs
    from otel_kedro.runs.replay_targets import has_telemetry, select

    _show_warnings()

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
    selection = select(runs, settings.output_dir, all_runs=all_runs, outside=outside)
    for note in (*selection.skipped, *selection.refused):
        click.echo(note, err=True)
    failed = len(selection.refused)
    jobs = remote_jobs(settings, root, None, package_name, endpoint=endpoint, force=force)
    for folder in selection.folders:
        if not has_telemetry(folder):
            click.echo(f"{folder.name}: nothing recorded in this run folder; nothing to send")
            continue
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
    if not selection.folders and all_runs:
        click.echo(f"no run folders under {settings.output_dir}")
    if failed:
        raise SystemExit(1)


def _show_warnings() -> None:
    """Print otel-kedro's warnings (a torn line skipped, a file that cannot be read) on stderr,
    one line each, whatever logging Kedro's configuration set up.
    """
    import logging

    from otel_kedro.diagnostics import logger

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
