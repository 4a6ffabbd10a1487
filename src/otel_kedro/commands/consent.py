"""``otel-kedro consent``: whether telemetry may leave this machine."""

from __future__ import annotations

from pathlib import Path

import click

from otel_kedro.commands._project import decision, env_option, project_option, project_root


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


@click.group(name="consent")
def consent() -> None:
    """Whether telemetry may leave this machine, and who decided."""


@consent.command()
@project_option
@env_option
def status(project: str | None, env: str | None) -> None:
    """Show whether remote export is on and which source decided."""
    click.echo(decision(project_root(project), env).describe())


@consent.command()
@project_option
@env_option
def grant(project: str | None, env: str | None) -> None:
    """Allow remote export for this project (writes consent: true to conf/local/otel.yml)."""
    root = project_root(project)
    click.echo(f"wrote consent: true to {_write_consent(root, env, True)}")
    click.echo(decision(root, env).describe())


@consent.command()
@project_option
@env_option
def deny(project: str | None, env: str | None) -> None:
    """Refuse remote export for this project (writes consent: false to conf/local/otel.yml)."""
    root = project_root(project)
    click.echo(f"wrote consent: false to {_write_consent(root, env, False)}")
    click.echo(decision(root, env).describe())
