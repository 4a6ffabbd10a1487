"""``otel-kedro prune``: remove old run folders from the project's output folder."""

from __future__ import annotations

import click

from otel_kedro.commands._project import env_option, load, project_option, project_root


@click.command()
@click.option("--keep", type=click.IntRange(min=0), default=None, help="Keep the newest N runs.")
@click.option(
    "--older-than", default=None, help="Remove runs older than this age: 7d, 12h, 30m, 2w."
)
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@project_option
@env_option
def prune(
    keep: int | None, older_than: str | None, dry_run: bool, project: str | None, env: str | None
) -> None:
    """Remove run folders under the project's output_dir: beyond the newest --keep N, or older
    than --older-than (with both, only runs both would remove). Without either, the keep_runs
    setting applies. Only recognised run folders are removed; symlinks are never followed.
    """
    from otel_kedro.runs.retention import parse_age, remove, run_folders, select

    root = project_root(project)
    settings = load(root, env).settings
    if keep is None and older_than is None:
        keep = settings.keep_runs
        if keep is None:
            raise click.UsageError(
                "say what to keep: --keep N, --older-than AGE (e.g. 7d), or set keep_runs "
                "in otel.yml"
            )
    try:
        age = parse_age(older_than) if older_than is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--older-than") from error
    output_dir = settings.output_dir
    folders = run_folders(output_dir)
    chosen = select(folders, keep=keep, older_than_s=age)
    freed = done = 0
    for folder in chosen:
        if not dry_run:
            try:
                remove(folder, output_dir)
            except (OSError, ValueError) as error:
                click.echo(f"otel-kedro: cannot remove {folder.path}: {error}", err=True)
                continue
        freed += folder.size
        done += 1
        click.echo(f"{'would remove' if dry_run else 'removed'} {folder.path.name}")
    verb = "would remove" if dry_run else "removed"
    click.echo(
        f"{verb} {done} of {len(folders)} run folders ({freed / 1e6:.1f} MB) under {output_dir}"
    )
