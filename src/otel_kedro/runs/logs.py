"""Wires each run's log records (a source) through the files chain to ``logs.jsonl``.

Per run: the capture translates each record on the thread that logs it (a few microseconds)
and queues it; the files chain and the encoding run on one writer thread, which appends a line
of up to 512 records when that many are waiting and at least every 2 s, and everything left when
the run finishes (records are on disk when the run ends). A ParallelRunner worker writes each
record as it is emitted instead, because pool workers leave through ``os._exit`` with no final
flush. Remote delivery reads ``logs.jsonl`` back afterwards, like the traces.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from typing import TYPE_CHECKING

from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters.logs_file import LogsFile
from otel_kedro.processors.apply import apply_to_resource, process_captured_log
from otel_kedro.sources.kedro.logs import LogCapture

if TYPE_CHECKING:
    from pathlib import Path

    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import Resource

    from otel_kedro.model.log_record import CapturedLog
    from otel_kedro.processors.chain import Chain
    from otel_kedro.runs.tracing import Destination, TracingPipeline
    from otel_kedro.sources.kedro.nodes import NodeTracker

# Records a run may queue before the writer catches up (a chatty run logs thousands a second).
_MAX_QUEUE = 65_536
_BATCH = 512
_BATCH_DELAY_S = 2.0


class RunLogWriter:
    """One run's records: through the files chain into its ``logs.jsonl``, in batches from a
    writer thread, or each as it comes when ``worker``.
    """

    def __init__(self, folder: Path, chain: Chain, resource: Resource, *, worker: bool) -> None:
        self._file = LogsFile(folder, apply_to_resource(resource, chain))
        self._chain = chain
        self._queue: collections.deque[CapturedLog] = collections.deque()
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._dropped = 0
        self._thread: threading.Thread | None = None
        if not worker:
            self._thread = threading.Thread(target=self._run, name="otel-kedro-logs", daemon=True)
            self._thread.start()

    def add(self, record: CapturedLog) -> None:
        """Queue one record (the capture's sink, on the logging thread)."""
        if self._thread is None:
            self._write([record])
            return
        queue = self._queue
        if len(queue) >= _MAX_QUEUE:
            self._dropped += 1
            return
        queue.append(record)
        if len(queue) >= _BATCH:
            self._wake.set()

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait(_BATCH_DELAY_S)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        with self._drain_lock:
            queue = self._queue
            while queue:
                take = min(len(queue), _BATCH)
                self._write([queue.popleft() for _ in range(take)])

    def _write(self, records: list[CapturedLog]) -> None:
        try:
            self._file.write([process_captured_log(record, self._chain) for record in records])
        except Exception as error:  # noqa: BLE001 - the run goes on without these records
            warn_once(f"cannot write this run's log records ({error!r}).")

    def close(self) -> None:
        """Write what is queued and close the file."""
        self._closing = True
        if self._thread is not None:
            self._wake.set()
            self._thread.join()
        self._drain()
        self._file.close()
        if self._dropped:
            warn_once(
                f"{self._dropped} log records of this run were not recorded: more than "
                f"{_MAX_QUEUE} waited to be written at once."
            )


class RunLogs:
    """The log capture of this process and the log writer of each of its runs."""

    def __init__(self, tracing: TracingPipeline, nodes: NodeTracker) -> None:
        self._nodes = nodes
        self._capture = LogCapture(
            tracing.destination_of, nodes.context_on_thread, nodes.loading_on_thread
        )
        self._writers: dict[Destination, RunLogWriter] = {}
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._reset_after_fork)

    def _reset_after_fork(self) -> None:
        self._writers = {}  # the parent's writer threads do not exist in a forked child
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
        try:
            writer = RunLogWriter(destination.folder, chain, resource, worker=worker)
            with self._lock:
                self._writers[destination] = writer
            self._capture.add(destination, run_context, writer.add, logging.getLevelName(level))
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
            writer = self._writers.pop(destination, None)
        if writer is not None:
            writer.close()
