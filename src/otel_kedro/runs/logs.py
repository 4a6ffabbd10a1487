"""Wires each run's log records (a source) through the files chain to ``logs.jsonl``.

Per run: an SDK ``LoggerProvider`` with the run's resource and one processor, a
``ProcessedLogExporter`` (the one privacy runner, files chain) over the JSON Lines writer. The
main process batches (records are on disk when the run ends); a ParallelRunner worker writes
each record as it is emitted, because pool workers leave through ``os._exit`` with no final
flush. Remote delivery reads ``logs.jsonl`` back afterwards, like the traces.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters.logs_file import logs_exporter
from otel_kedro.processors.apply import ProcessedLogExporter
from otel_kedro.sources.kedro.logs import LogCapture

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.resources import Resource

    from otel_kedro.processors.chain import Chain
    from otel_kedro.runs.tracing import Destination, TracingPipeline
    from otel_kedro.sources.kedro.nodes import NodeTracker

# Records a run may queue before the writer catches up (a chatty run logs thousands a second).
_MAX_QUEUE = 65_536
_BATCH_DELAY_MS = 2_000


class RunLogs:
    """The log capture of this process and the log pipeline of each of its runs."""

    def __init__(self, tracing: TracingPipeline, nodes: NodeTracker) -> None:
        self._nodes = nodes
        self._capture = LogCapture(
            tracing.destination_of, nodes.context_on_thread, nodes.loading_on_thread
        )
        self._providers: dict[Destination, LoggerProvider] = {}
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._reset_after_fork)

    def _reset_after_fork(self) -> None:
        self._providers = {}
        self._lock = threading.Lock()

    def start(  # noqa: PLR0913 - the parts of one run's log pipeline
        self,
        destination: Destination,
        run_context: Context,
        chain: Chain,
        resource: Resource,
        level: str,
        *,
        worker: bool = False,
    ) -> None:
        """Capture the run's records at ``level`` and above into its folder's ``logs.jsonl``."""
        from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor

        try:
            exporter = ProcessedLogExporter(logs_exporter(destination.folder), chain)
            processor: LogRecordProcessor = (
                SimpleLogRecordProcessor(exporter)
                if worker
                else BatchLogRecordProcessor(
                    exporter, schedule_delay_millis=_BATCH_DELAY_MS, max_queue_size=_MAX_QUEUE
                )
            )
            provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
            provider.add_log_record_processor(processor)
            with self._lock:
                self._providers[destination] = provider
            self._capture.add(destination, run_context, provider, logging.getLevelName(level))
        except Exception as error:  # noqa: BLE001 - the run goes on without its log records
            warn_once(f"cannot record this run's log records ({error!r}).")

    def node_started(self, node_name: str) -> None:
        """The node's span started on this thread: its input loads' records go out with it."""
        self._capture.emit_held(node_name, self._nodes.context_on_thread())

    def ensure_attached(self) -> None:
        """Re-attach the capture if the root logger was reconfigured since the run started."""
        self._capture.ensure_attached()

    def finish(self, destination: Destination) -> None:
        """Stop capturing the run's records and write what is queued (before its folder is
        closed and delivered).
        """
        self._capture.remove(destination)
        with self._lock:
            provider = self._providers.pop(destination, None)
        if provider is not None:
            provider.force_flush()
            provider.shutdown()
