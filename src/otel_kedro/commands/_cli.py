"""The click groups of ``otel-kedro`` and ``kedro otel …``, with every subcommand.

Kedro imports this on every ``kedro`` command in a project (project command entry point), so it
imports only click, and each subcommand's module is imported when that subcommand is used or
listed by ``--help`` (the nine of them cost ≈ 7 ms to import, on every ``kedro run`` otherwise).
Each subcommand lives in its own module and is listed once in ``SUBCOMMANDS``.
"""

from __future__ import annotations

import functools
import importlib
from typing import Final

import click

# Each subcommand's name and where it is: "module:attribute" (``click_command`` is a factory).
SUBCOMMANDS: Final = {
    "consent": "otel_kedro.commands.consent:consent",
    "check": "otel_kedro.commands.check:check",
    "replay": "otel_kedro.commands.replay:replay",
    "run": "otel_kedro.commands.run:click_command",
    "ls": "otel_kedro.commands.ls:ls",
    "show": "otel_kedro.commands.show:show",
    "report": "otel_kedro.commands.report:report",
    "diff": "otel_kedro.commands.diff:diff",
    "prune": "otel_kedro.commands.prune:prune",
}


@functools.cache
def subcommand(name: str) -> click.Command | None:
    """The subcommand called ``name`` (one object, shared by both groups), or None."""
    where = SUBCOMMANDS.get(name)
    if where is None:
        return None
    module, attribute = where.split(":")
    found = getattr(importlib.import_module(module), attribute)
    command: click.Command = found() if attribute == "click_command" else found
    return command


class _Subcommands(click.Group):
    """A group of the subcommands above, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 - click's signature
        """Every subcommand, sorted as click sorts a group's own."""
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: ARG002
        """The subcommand, imported now if it was not yet."""
        return subcommand(cmd_name)


@click.group(name="otel-kedro", cls=_Subcommands)
def main_group() -> None:
    """OpenTelemetry for Kedro."""


@click.group(name="otel_kedro")
def kedro_commands() -> None:
    """Entry point for ``kedro.project_commands``."""


@kedro_commands.group(name="otel", cls=_Subcommands)
def otel() -> None:
    """OpenTelemetry for this Kedro project."""
