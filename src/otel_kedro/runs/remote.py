"""The remote destinations a consenting run delivers to: OTLP, and Heap when opted in.

Consent is decided before this is called. Each destination reads the run folder with the one
reader, runs its own privacy chain with the one runner, and hands the result to its exporter;
what each acknowledged is recorded in ``delivery.json``. The same jobs serve the end of a run
and ``otel-kedro replay``.
"""

from __future__ import annotations

import dataclasses
import functools
import getpass
import os
import socket
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters import heap, otlp, otlp_logs
from otel_kedro.exporters.delivery import delivered, record_delivery
from otel_kedro.model.run_folder import read_logs, read_metrics, read_spans
from otel_kedro.processors.apply import (
    apply_to_logs,
    apply_to_metrics_data,
    apply_to_properties,
    apply_to_spans,
)
from otel_kedro.processors.chain import hash_key
from otel_kedro.processors.identifiers import hash_identifier
from otel_kedro.runs.chains import destination_chain

if TYPE_CHECKING:
    from otel_kedro.config.settings import Settings
    from otel_kedro.processors.chain import Chain
    from otel_kedro.processors.cli_args import Vocabulary

Job = tuple[str, Callable[[Path], int]]


@dataclasses.dataclass(frozen=True)
class OtlpDelivery:
    """A run folder's spans, then its metrics and log records, through the OTLP chain to one
    endpoint.
    """

    target: otlp.OtlpTarget
    chain: Chain

    def deliver_run(self, folder: Path, *, force: bool = False) -> int:
        """Send what ``target`` has not acknowledged yet; the number of spans sent. Each signal
        is recorded on its own, so a backend that takes traces but not metrics or logs (Jaeger,
        Phoenix, MLflow) is not sent the traces again, and its "unsupported" is remembered.
        """
        record = delivered(folder)
        sent = 0
        if force or self.target.key not in record:
            spans = apply_to_spans(read_spans(folder).items, self.chain)
            otlp.send_spans(spans, self.target)  # in requests of a bounded size
            record_delivery(folder, self.target.key, spans=len(spans))
            sent = len(spans)
        metrics_key = f"{self.target.key} metrics"
        if force or metrics_key not in record:
            requests = read_metrics(folder).items
            try:
                for data in requests:
                    otlp.send_metrics(apply_to_metrics_data(data, self.chain), self.target)
            except otlp.MetricsUnsupported as error:
                record_delivery(folder, metrics_key, unsupported=str(error))
            else:
                record_delivery(folder, metrics_key, requests=len(requests))
        logs_key = f"{self.target.key} logs"
        if force or logs_key not in record:
            # Worker processes write one line per record: send the file's records together.
            records = [r for line in read_logs(folder).items for r in line]
            try:
                otlp_logs.send_logs(apply_to_logs(records, self.chain), self.target)
            except otlp_logs.LogsUnsupported as error:
                record_delivery(folder, logs_key, unsupported=str(error))
            else:
                record_delivery(folder, logs_key, records=len(records))
        return sent


@dataclasses.dataclass(frozen=True)
class HeapDelivery:
    """A run folder's kedro-telemetry-compatible events, through the Heap chain, to Heap."""

    target: heap.HeapTarget
    facts: heap.HeapFacts
    chain: Chain

    def deliver_run(self, folder: Path, *, force: bool = False) -> int:
        """Send the run's events unless the target already acknowledged them; how many."""
        if not force and self.target.key in delivered(folder):
            return 0
        events = [
            dataclasses.replace(event, properties=apply_to_properties(event.properties, self.chain))
            for event in heap.events_of(read_spans(folder).items, self.facts)
        ]
        if events:
            heap.send(events, self.facts, self.target, folder.name)
        record_delivery(folder, self.target.key, events=len(events))
        return len(events)


def heap_facts(key: bytes, project_path: Path, package_name: str | None) -> heap.HeapFacts:
    """Hashed user (user name at host name) and project (path and package) identities."""
    user = f"{getpass.getuser()}@{socket.gethostname()}"
    project = f"{project_path.resolve()}:{package_name or ''}"
    return heap.HeapFacts(
        hash_identifier(user, key), hash_identifier(project, key), heap.is_ci(os.environ)
    )


def remote_jobs(  # noqa: PLR0913 - endpoint and force are replay's keyword-only options
    settings: Settings,
    project_path: Path,
    vocabulary: Vocabulary | None,
    package_name: str | None,
    *,
    endpoint: str | None = None,
    force: bool = False,
    known_values: Collection[str] = (),
) -> list[Job]:
    """One ``(destination, deliver(folder) -> items sent)`` job per enabled remote destination;
    each chain redacts ``known_values`` (the files already did: this holds if they were edited).
    """
    jobs: list[Job] = []
    privacy = settings.privacy
    if settings.otlp:
        try:
            target = otlp.target_from_env(os.environ, endpoint)
        except ValueError as error:
            warn_once(f"{error}. Nothing is sent over OTLP.")
        else:
            chain = destination_chain(
                privacy,
                "otlp",
                vocabulary=vocabulary,
                project_path=project_path,
                known_values=known_values,
            )
            otlp.prepare(target)
            delivery = OtlpDelivery(target, chain)
            jobs.append((target.key, functools.partial(delivery.deliver_run, force=force)))
    if settings.heap:
        chain = destination_chain(
            privacy,
            "heap",
            vocabulary=vocabulary,
            project_path=project_path,
            known_values=known_values,
        )
        facts = heap_facts(hash_key(privacy.hash_key_file), project_path, package_name)
        heap_target = heap.HeapTarget(settings.heap_endpoint, settings.heap_app_id)
        heap_delivery = HeapDelivery(heap_target, facts, chain)
        jobs.append((heap_target.key, functools.partial(heap_delivery.deliver_run, force=force)))
    return jobs


def with_folders(jobs: list[Job], others: list[Path]) -> list[Job]:
    """Each job, delivering ``others`` too after the folder it is given (one job per
    destination, so one bounded wait covers them all).
    """
    if not others:
        return jobs

    def one(deliver: Callable[[Path], int], folder: Path) -> int:
        try:
            return deliver(folder)
        except Exception as error:  # noqa: BLE001 - stays on disk for otel-kedro replay
            warn_once(f"run {folder.name} not delivered ({error!r}); it stays on disk.")
            return 0

    def each(deliver: Callable[[Path], int], folder: Path) -> int:
        sent = deliver(folder)
        return sent + sum(one(deliver, other) for other in others)

    return [(name, functools.partial(each, deliver)) for name, deliver in jobs]
