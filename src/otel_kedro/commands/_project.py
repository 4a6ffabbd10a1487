"""What every command shares: finding the project, resolving its configuration, options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    configuration = resolve(project, loader, package_name=package_name)
    if configuration.settings.enabled:
        complete_killed_runs(configuration.settings.output_dir)
    return configuration


def complete_killed_runs(output_dir: Path) -> None:
    """Complete the runs under ``output_dir`` whose process was killed (every command does this
    first, so ``replay`` sends them whole), and say so on stderr.
    """
    from otel_kedro.runs.recovery import complete_dead_runs

    for completion in complete_dead_runs(output_dir):
        click.echo(
            f"otel-kedro: completed the killed run {completion.folder.name}: "
            f"{completion.spans} span(s) in flight ended as killed (otel_kedro.ProcessKilled)",
            err=True,
        )


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


def runs_options(function: Any) -> Any:
    """``--project``, ``--env`` and ``--runs-dir``: where the run folders of a command are."""
    function = click.option(
        "--runs-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder of run folders (default: the project's output_dir).",
    )(function)
    return project_option(env_option(function))


def runs_base(project: str | None, env: str | None, runs_dir: str | None) -> Path:
    """The folder whose run folders a command reads: ``--runs-dir``, else the project's
    configured ``output_dir``.
    """
    if runs_dir is not None:
        return Path(runs_dir).resolve()
    import logging
    import warnings

    root = project_root(project)
    # Kedro logs its logging set-up and config-loader deprecations on stdout, which would mix
    # with `ls --format json`; configuration problems are reported by `otel-kedro check`.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load(root, env, package_name_of(root)).settings.output_dir
    finally:
        logging.disable(previous)


def find_run(run: str | None, project: str | None, env: str | None, runs_dir: str | None) -> Path:
    """The run folder a command argument names (path, run id, unique prefix, or the newest)."""
    from otel_kedro.model.run_folder import RunNotFoundError, is_run_folder, resolve_run

    if run is not None and is_run_folder(Path(run)):
        return Path(run).resolve()
    try:
        return resolve_run(runs_base(project, env, runs_dir), run)
    except RunNotFoundError as error:
        raise click.ClickException(str(error)) from None
