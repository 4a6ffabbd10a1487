"""What every command shares: finding the project, resolving its configuration, options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from otel_kedro.config.consent import ConsentDecision
    from otel_kedro.config.resolved import Configuration


def project_root(project: str | None) -> Path:
    """The Kedro project at ``project``, or the one at or above the working directory."""
    if project is not None:
        from kedro.utils import is_kedro_project

        path = Path(project).resolve()
        if not is_kedro_project(path):
            raise click.ClickException(
                f"{path} is not a Kedro project: no pyproject.toml with a [tool.kedro] table "
                "there. Pass --project the folder that holds the project's pyproject.toml."
            )
        return path
    from kedro.utils import find_kedro_project

    found = find_kedro_project(Path.cwd())
    if found is None:
        raise click.UsageError(
            f"no Kedro project at or above {Path.cwd()}; run inside one or pass --project PATH."
        )
    return Path(found).resolve()


def problems_and_decision(project: Path, env: str | None) -> tuple[list[str], ConsentDecision]:
    """Every configuration problem of the project, and its consent decision."""
    configuration = load(project, env)
    return list(configuration.problems), configuration.consent


def load(project: Path, env: str | None, package_name: str | None = None) -> Configuration:
    """The project's configuration and consent, resolved as a run would resolve them."""
    from kedro.config import OmegaConfigLoader

    conf = project / "conf"
    if env is not None and not (conf / env).is_dir():
        present = sorted(p.name for p in conf.iterdir() if p.is_dir()) if conf.is_dir() else []
        raise click.ClickException(
            f"no configuration environment {env!r}: {conf / env} is not a folder. Create it, "
            f"or pass -e/--env one of: {', '.join(present) or 'none found under ' + str(conf)}."
        )

    from otel_kedro.config.resolved import resolve

    loader = OmegaConfigLoader(
        conf_source=str(project / "conf"), env=env, base_env="base", default_run_env="local"
    )
    return resolve(project, loader, package_name=package_name)


def decision(project: Path, env: str | None) -> ConsentDecision:
    """The consent decision, after printing every configuration problem to stderr."""
    problems, decided = problems_and_decision(project, env)
    for problem in problems:
        click.echo(f"otel-kedro: {problem}", err=True)
    return decided


project_option = click.option(
    "--project", type=click.Path(file_okay=False), help="Kedro project root (default: cwd)."
)
env_option = click.option("--env", "-e", default=None, help="Kedro environment (default: local).")


def package_name_of(project: Path) -> str | None:
    """The project's package name, as Kedro reads it from ``pyproject.toml``."""
    from kedro.framework.startup import _get_project_metadata

    try:
        return str(_get_project_metadata(project).package_name)
    except Exception:  # noqa: BLE001 - only used to name the project in hashed form
        return None
