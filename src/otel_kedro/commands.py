"""The ``otel-kedro`` command, also available inside a project as ``kedro otel …``.

Kedro imports this module on every ``kedro`` command in a project (project command entry point),
so only click is imported at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from otel_kedro.config.consent import ConsentDecision
    from otel_kedro.config.resolved import Configuration


def _project(project: str | None) -> Path:
    if project is not None:
        return Path(project).resolve()
    from kedro.utils import find_kedro_project

    found = find_kedro_project(Path.cwd())
    if found is None:
        raise click.UsageError(
            f"no Kedro project at or above {Path.cwd()}; run inside one or pass --project PATH."
        )
    return Path(found).resolve()


def _problems_and_decision(project: Path, env: str | None) -> tuple[list[str], ConsentDecision]:
    """Every configuration problem of the project, and its consent decision."""
    configuration = _load(project, env)
    return list(configuration.problems), configuration.consent


def _load(project: Path, env: str | None, package_name: str | None = None) -> Configuration:
    """The project's configuration and consent, resolved as a run would resolve them."""
    from kedro.config import OmegaConfigLoader

    from otel_kedro.config.resolved import resolve

    loader = OmegaConfigLoader(
        conf_source=str(project / "conf"), env=env, base_env="base", default_run_env="local"
    )
    return resolve(project, loader, package_name=package_name)


def _decision(project: Path, env: str | None) -> ConsentDecision:
    problems, decision = _problems_and_decision(project, env)
    for problem in problems:
        click.echo(f"otel-kedro: {problem}", err=True)
    return decision


def _write_consent(project: Path, env: str | None, value: bool) -> Path:
    """Set ``consent`` in ``conf/<env or local>/otel.yml``, keeping every other key."""
    import yaml

    path = project / "conf" / (env or "local") / "otel.yml"
    document: dict[str, object] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise click.ClickException(
                f"{path} is not valid YAML ({error}); fix it first, it was left unchanged."
            ) from error
        if loaded is not None and not isinstance(loaded, dict):
            raise click.ClickException(f"{path} must hold a mapping; it was left unchanged.")
        document = dict(loaded or {})
    document["consent"] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


_project_option = click.option(
    "--project", type=click.Path(file_okay=False), help="Kedro project root (default: cwd)."
)
_env_option = click.option("--env", "-e", default=None, help="Kedro environment (default: local).")


@click.group(name="consent")
def consent() -> None:
    """Whether telemetry may leave this machine, and who decided."""


@consent.command()
@_project_option
@_env_option
def status(project: str | None, env: str | None) -> None:
    """Show whether remote export is on and which source decided."""
    click.echo(_decision(_project(project), env).describe())


@consent.command()
@_project_option
@_env_option
def grant(project: str | None, env: str | None) -> None:
    """Allow remote export for this project (writes consent: true to conf/local/otel.yml)."""
    root = _project(project)
    click.echo(f"wrote consent: true to {_write_consent(root, env, True)}")
    click.echo(_decision(root, env).describe())


@consent.command()
@_project_option
@_env_option
def deny(project: str | None, env: str | None) -> None:
    """Refuse remote export for this project (writes consent: false to conf/local/otel.yml)."""
    root = _project(project)
    click.echo(f"wrote consent: false to {_write_consent(root, env, False)}")
    click.echo(_decision(root, env).describe())


@click.command()
@_project_option
@_env_option
def check(project: str | None, env: str | None) -> None:
    """Check the project's otel-kedro configuration; exit 1 on any problem (for CI)."""
    problems, decision = _problems_and_decision(_project(project), env)
    for problem in problems:
        click.echo(f"otel-kedro: {problem}", err=True)
    click.echo(decision.describe())
    if problems:
        raise SystemExit(1)
    click.echo("configuration: ok")


@click.command()
@click.argument("runs", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--all", "all_runs", is_flag=True, help="Every run folder under output_dir.")
@click.option("--endpoint", default=None, help="OTLP endpoint (default: OTEL_EXPORTER_OTLP_*).")
@click.option("--force", is_flag=True, help="Send runs this endpoint already acknowledged.")
@_project_option
@_env_option
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

    root = _project(project)
    package_name = _package(root)
    configuration = _load(root, env, package_name)
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


def _package(project: Path) -> str | None:
    """The project's package name, as Kedro reads it from ``pyproject.toml``."""
    from kedro.framework.startup import _get_project_metadata

    try:
        return str(_get_project_metadata(project).package_name)
    except Exception:  # noqa: BLE001 - only used to name the project in hashed form
        return None


@click.group(name="otel-kedro")
def main_group() -> None:
    """OpenTelemetry for Kedro."""


main_group.add_command(consent)
main_group.add_command(check)
main_group.add_command(replay)


@click.group(name="otel_kedro")
def kedro_commands() -> None:
    """Entry point for ``kedro.project_commands``."""


@kedro_commands.group(name="otel")
def otel() -> None:
    """OpenTelemetry for this Kedro project."""


otel.add_command(consent)
otel.add_command(check)
otel.add_command(replay)


def main() -> None:
    """``otel-kedro`` console script."""
    main_group()
