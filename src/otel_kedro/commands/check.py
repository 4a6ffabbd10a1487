"""``otel-kedro check``: the project's configuration problems, for CI."""

from __future__ import annotations

import click

from otel_kedro.commands._project import (
    env_option,
    problems_and_decision,
    project_option,
    project_root,
)


@click.command()
@project_option
@env_option
def check(project: str | None, env: str | None) -> None:
    """Check the project's otel-kedro configuration; exit 1 on any problem (for CI)."""
    problems, decision = problems_and_decision(project_root(project), env)
    for problem in problems:
        click.echo(f"otel-kedro: {problem}", err=True)
    click.echo(decision.describe())
    if problems:
        raise SystemExit(1)
    click.echo("configuration: ok")
