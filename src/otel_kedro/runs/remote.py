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
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters import heap, ledger, otlp, otlp_target
from otel_kedro.exporters.delivery import delivered, record_delivery
from otel_kedro.model.run_folder import (
    LOGS_FILE,
    METRICS_FILE,
    TRACES_FILE,
    Line,
    logs_of_line,
    metrics_of_line,
    read_lines,
    read_spans,
    spans_of_line,
)
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

# (destination, deliver(folder) -> what was sent, "" when nothing was missing)
Job = tuple[str, Callable[[Path], str]]


@dataclasses.dataclass(frozen=True)
class _Signal:
    """How one signal file travels: its OTLP signal name, and how a request is built from the
    intact lines it holds, through the destination's privacy chain.
    """

    file: str
    name: str
    unit: str
    payload: Callable[[Sequence[Line], Chain], tuple[Any, int]]  # (request body, items in it)
    # What a backend without this signal's endpoint raises (remembered, never retried).
    unsupported: type[otlp.NotDelivered] | None = None


def _span_payload(lines: Sequence[Line], chain: Chain) -> tuple[Any, int]:
    spans = apply_to_spans([s for line in lines for s in spans_of_line(line.document)], chain)
    return spans, len(spans)


def _metrics_payload(lines: Sequence[Line], chain: Chain) -> tuple[Any, int]:
    """One ``MetricsData`` of several lines. Lines of one run share their resource and scope,
    and the SDK's encoder keeps only the last entry of a repeated resource or scope, so the
    lines' metrics are merged under one entry per resource and scope.
    """
    from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics

    merged: dict[Any, tuple[Any, str, dict[Any, tuple[str, list[Any]]]]] = {}
    points = 0
    for line in lines:
        data = apply_to_metrics_data(metrics_of_line(line.document), chain)
        for resource_metrics in data.resource_metrics:
            _, _, scopes = merged.setdefault(
                resource_metrics.resource,
                (resource_metrics.resource, resource_metrics.schema_url, {}),
            )
            for scope_metrics in resource_metrics.scope_metrics:
                _, metrics = scopes.setdefault(scope_metrics.scope, (scope_metrics.schema_url, []))
                metrics.extend(scope_metrics.metrics)
                points += sum(len(m.data.data_points) for m in scope_metrics.metrics)
    resources = [
        ResourceMetrics(
            resource,
            [ScopeMetrics(scope, metrics, url) for scope, (url, metrics) in scopes.items()],
            schema_url,
        )
        for resource, schema_url, scopes in merged.values()
    ]
    return MetricsData(resources), points


def _logs_payload(lines: Sequence[Line], chain: Chain) -> tuple[Any, int]:
    """The log records of several lines (a worker writes one line per record) in one request."""
    records = apply_to_logs([r for line in lines for r in logs_of_line(line.document)], chain)
    return records, len(records)


# Every signal file a run folder holds that OTLP delivers, in the order they are sent.
SIGNALS: tuple[_Signal, ...] = (
    _Signal(TRACES_FILE, "traces", "spans", _span_payload),
    _Signal(METRICS_FILE, "metrics", "metric points", _metrics_payload, otlp.MetricsUnsupported),
    _Signal(LOGS_FILE, "logs", "log records", _logs_payload, otlp.LogsUnsupported),
)
# One request holds whole lines up to this much OTLP JSON (the protobuf is smaller), far below
# the 4 MiB a gRPC collector accepts by default; a longer line travels alone.
REQUEST_BYTES = 1 << 20


def _requests(lines: Sequence[Line], budget: int) -> Iterator[list[Line]]:
    """Consecutive lines grouped into requests of at most ``budget`` bytes of JSON."""
    batch: list[Line] = []
    size = 0
    for line in lines:
        length = line.end - line.start
        if batch and size + length > budget:
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += length
    if batch:
        yield batch


@dataclasses.dataclass(frozen=True)
class OtlpDelivery:
    """A run folder's signal files, line by line, through the OTLP chain to one endpoint."""

    target: otlp_target.OtlpTarget
    chain: Chain
    request_bytes: int = REQUEST_BYTES

    def deliver_run(self, folder: Path, *, force: bool = False) -> str:
        """Send every intact line ``target`` has not acknowledged (every line with ``force``),
        recording each request's lines in ``delivery.json`` as soon as it is acknowledged; what
        was sent ("23 spans, 41 metric points"), empty when nothing was missing.
        """
        key = self.target.key
        sent: list[str] = []
        with ledger.sending_lock(folder, key):
            for signal in SIGNALS:
                count = self._deliver_file(folder, signal, force=force)
                if count:
                    sent.append(f"{count} {signal.unit}")
        return ", ".join(sent)

    def _deliver_file(self, folder: Path, signal: _Signal, *, force: bool) -> int:
        key = self.target.key
        if not force and ledger.unsupported(folder, key, signal.file):
            return 0
        acknowledged = [] if force else ledger.acknowledged(folder, key, signal.file)
        pending = [
            line
            for line in read_lines(folder / signal.file).items
            if not ledger.covers(acknowledged, line.start, line.end)
        ]
        counts: dict[int, int] = {}

        def requests() -> Iterator[tuple[list[Line], Any]]:
            for batch in _requests(pending, self.request_bytes):
                payload, count = signal.payload(batch, self.chain)
                counts[id(batch)] = count
                yield batch, payload

        sent = 0

        def acknowledged_request(batch: list[Line]) -> None:
            nonlocal sent
            ledger.record_acknowledged(
                folder, key, signal.file, [(line.start, line.end) for line in batch]
            )
            sent += counts.pop(id(batch), 0)

        try:
            otlp.send_requests(
                self.target, signal.name, requests(), acknowledged_request, signal.unsupported
            )
        except otlp.NotDelivered as error:
            if signal.unsupported is None or not isinstance(error, signal.unsupported):
                raise
            ledger.record_unsupported(folder, key, signal.file, str(error))
        return sent


@dataclasses.dataclass(frozen=True)
class HeapDelivery:
    """A run folder's kedro-telemetry-compatible events, through the Heap chain, to Heap."""

    target: heap.HeapTarget
    facts: heap.HeapFacts
    chain: Chain

    def deliver_run(self, folder: Path, *, force: bool = False) -> str:
        """Send the run's events unless the target already acknowledged them; how many."""
        if not force and self.target.key in delivered(folder):
            return ""
        events = [
            dataclasses.replace(event, properties=apply_to_properties(event.properties, self.chain))
            for event in heap.events_of(read_spans(folder).items, self.facts)
        ]
        if events:
            heap.send(events, self.facts, self.target, folder.name)
        record_delivery(folder, self.target.key, events=len(events))
        return f"{len(events)} events" if events else ""


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
            target = otlp_target.target_from_env(os.environ, endpoint)
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

    def one(deliver: Callable[[Path], str], folder: Path) -> str:
        try:
            return deliver(folder)
        except Exception as error:  # noqa: BLE001 - stays on disk for otel-kedro replay
            warn_once(f"run {folder.name} not delivered ({error!r}); it stays on disk.")
            return ""

    def each(deliver: Callable[[Path], str], folder: Path) -> str:
        sent = [deliver(folder), *(one(deliver, other) for other in others)]
        return "; ".join(text for text in sent if text)

    return [(name, functools.partial(each, deliver)) for name, deliver in jobs]
