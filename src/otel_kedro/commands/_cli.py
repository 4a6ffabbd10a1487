"""The click groups of ``otel-kedro`` and ``kedro otel …``, with every subcommand.

Kedro imports this on every ``kedro`` command in a project (project command entry point), so its
modules import only click at module level. Each subcommand lives in its own module and is listed
once in ``COMMANDS``.
"""

from __future__ import annotations

import click

from otel_kedro.commands.check import check
from otel_kedro.commands.consent import consent
from otel_kedro.commands.diff import diff
from otel_kedro.commands.ls import ls
from otel_kedro.commands.prune import prune
from otel_kedro.commands.replay import replay
from otel_kedro.commands.report import report
from otel_kedro.commands.run import click_command as run_command
from otel_kedro.commands.show import show

COMMANDS: tuple[click.Command, ...] = (
    consent, check, replay, run_command(), ls, show, report, diff, prune
)  # fmt: skip


@click.group(name="otel-kedro")
def main_group() -> None:
    """OpenTelemetry for Kedro."""


@click.group(name="otel_kedro")
def kedro_commands() -> None:
    """Entry point for ``kedro.project_commands``."""


@kedro_commands.group(name="otel")
def otel() -> None:
    """OpenTelemetry for this Kedro project."""


for _command in COMMANDS:
    main_group.add_command(_command)
    otel.add_command(_command)
