"""The parts a run is built from, for the composition root (:mod:`otel_kedro.runs.root`):
provenance on its spans, the killed runs it completes, its usage sampler, its remote delivery,
its report page and the command's option vocabulary. Each is optional and never breaks a run.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otel_kedro.diagnostics import warn_once

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.trace import Span

    from otel_kedro.config.resolved import Configuration
    from otel_kedro.config.settings import Settings
    from otel_kedro.processors.chain import Chain
    from otel_kedro.processors.cli_args import Vocabulary
    from otel_kedro.runs.provenance import RunProvenance
    from otel_kedro.runs.tracing import Destination
    from otel_kedro.runs.usage import RunUsage
    from otel_kedro.sources.kedro.command import Command
    from otel_kedro.sources.kedro.node_usage import NodeUsageMeter


def provenance_of(
    project_path: Path, settings: Settings, span: Span, catalog: Any, command: Command | None
) -> RunProvenance | None:
    """Put the code's and parameters' provenance on the run span (and the code's on the
    command span); the dirty flag follows when the run ends.
    """
    if not settings.provenance:
        return None
    from otel_kedro.runs.provenance import RunProvenance

    provenance = RunProvenance(project_path)
    span.set_attributes(provenance.attributes(catalog, settings))
    if command is not None and command.span is not None and command.span.is_recording():
        command.span.set_attributes(provenance.code_attributes())
    return provenance


def complete_dead_runs_of(output_dir: Path, destination: Destination) -> list[Path]:
    """Complete the runs of this output folder whose process was killed (they are
    delivered with this run's files, consent permitting).
    """
    from otel_kedro.runs.recovery import complete_dead_runs

    completed = complete_dead_runs(output_dir, skip=[destination.folder])
    for completion in completed:
        warn_once(
            f"completed the killed run {completion.folder.name}: {completion.spans} span(s) "
            "in flight ended as killed (otel_kedro.ProcessKilled)."
        )
    return [completion.folder for completion in completed]


def start_usage(
    destination: Destination,
    settings: Settings,
    chain: Chain,
    resource: Resource,
    node_usage: NodeUsageMeter,
) -> RunUsage | None:
    """Start sampling the process tree for this run's metrics, con-duct files and summary."""
    from otel_kedro.runs.usage import RunUsage

    try:
        journal = destination.journal
        usage = RunUsage(
            destination.folder, settings, chain, resource, node_usage,
            on_sample=journal.seen_alive if journal is not None else None,
        )  # fmt: skip
        usage.start()
        # The duration histograms are recorded as the run's spans end, not read back.
        destination.processor = usage.observing(destination.processor)
    except Exception as error:  # noqa: BLE001 - the run goes on without usage figures
        warn_once(f"cannot sample this run's resource usage ({error!r}).")
        return None
    return usage


def add_remote_delivery(  # noqa: PLR0913, PLR0917 - the run's parts delivery needs
    destination: Destination,
    configuration: Configuration,
    project_path: Path,
    vocabulary: Vocabulary | None,
    recovered: list[Path],
    known: frozenset[str],
) -> None:
    """Consent given: deliver the run's files over OTLP, and to Heap when opted in, once
    the run ends, with the killed runs this run completed; all destinations and runs share
    one bounded wait.
    """
    from otel_kedro.exporters.delivery import deliver_in_background
    from otel_kedro.runs.remote import remote_jobs, with_folders

    settings = configuration.settings
    package = configuration.package_name
    jobs = with_folders(
        remote_jobs(settings, project_path, vocabulary, package, known_values=known),
        recovered,
    )
    if jobs:
        destination.after_close.append(
            functools.partial(deliver_in_background, jobs=jobs, wait_s=settings.delivery_wait)
        )


def write_report(folder: Path) -> None:
    """Write the run's ``report.html`` once its files are complete; never raises."""
    from otel_kedro.runs.views import automatic_report, write_run_report

    try:
        if automatic_report(folder):
            write_run_report(folder)
    except Exception as error:  # noqa: BLE001 - the report is a bonus; the run is on disk
        warn_once(f"cannot write report.html in {folder} ({error!r}); `otel-kedro report` retries.")


def vocabulary_of(command: Command | None) -> Vocabulary | None:
    """The invoked command's option vocabulary, from the click command running right now
    (built for that command only, never for every plugin's); None outside a command.
    """
    if command is None:
        return None
    if command.vocabulary is not None:  # kept while click's context was there
        return command.vocabulary or None
    import click

    from otel_kedro.processors.cli_args import kedro_vocabulary

    context = click.get_current_context(silent=True)
    if context is None:
        return None
    try:
        return kedro_vocabulary(context.find_root().command, command.raw_args)
    except Exception:  # noqa: BLE001 - a broken plugin command: mask conservatively instead
        return None
