"""The run destination's span processor: every ended span on disk at once, every started span
journaled, so that no abrupt end of a process loses what it had recorded.

- When a span ends it goes through the files chain and is appended to ``traces.jsonl`` as one
  line, on the thread that ended it (see :mod:`otel_kedro.exporters.span_lines` for the cost).
- When a span starts, its processed attributes go to the run's ``inflight.jsonl``
  (:mod:`otel_kedro.model.inflight`), so a process killed mid-node leaves the node's span behind
  for :mod:`otel_kedro.runs.recovery` to end. Dataset spans are skipped: they are started and
  ended in the same call (the node tracker creates them after the fact), never in flight.
- :meth:`SpanJournal.seen_alive` notes, at every sample of the process sampler, when each process
  of the run was last seen alive: the end time given to its spans if it dies.

Journal writes that fail (a full disk) are warned about once and never reach the run.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_kedro import attributes as attr
from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters.files import AtomicAppendStream, write_json_atomically
from otel_kedro.exporters.span_lines import SpanLineExporter
from otel_kedro.model.inflight import (
    ALIVE_FILE,
    INFLIGHT_FILE,
    ProcessRecord,
    RunRecord,
    StartRecord,
    process_line,
    run_line,
    start_line,
)
from otel_kedro.model.run_folder import TRACES_FILE
from otel_kedro.processors.apply import ProcessedSpanExporter, apply_to_resource
from otel_kedro.sources.process.identity import start_time

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.util.types import AttributeValue

    from otel_kedro.model.usage import TreeSample
    from otel_kedro.processors.chain import Chain


class SpanJournal:
    """One process's records in one run folder's ``inflight.jsonl`` (and ``alive.json``)."""

    def __init__(self, folder: Path, chain: Chain, *, main: bool) -> None:
        self._folder = folder
        self._chain = chain
        self._main = main
        self._pid = os.getpid()
        self._started = start_time(self._pid) or time.time()
        self._stream = AtomicAppendStream(folder / INFLIGHT_FILE)
        self._resource: Resource | None = None
        self._seen: dict[str, float] = {}
        self._peaks: dict[str, int] = {}

    def _append(self, text: str) -> None:
        try:
            self._stream.append(text)  # a closed stream (the run ended) writes nothing
        except OSError as error:
            warn_once(
                f"cannot write {self._folder / INFLIGHT_FILE} ({error.strerror or error}); a "
                "crash of this run would lose its spans in flight."
            )

    def run_started(self, command: str, working_directory: str) -> None:
        """Record what ``info.json`` needs if the run dies, masked as con-duct's writer masks
        command lines.
        """

        def text(value: str) -> str:
            masked = self._chain.attributes({"process.command_line": value})
            return str(masked.get("process.command_line", ""))

        record = RunRecord(self._pid, text(command), text(working_directory), time.time())
        self._append(run_line(record))

    def span_started(self, span: Span) -> None:
        """Journal a span that starts, through the files chain."""
        raw = span.attributes
        values = dict(raw) if raw else {}
        if attr.KEDRO_DATASET_NAME in values:
            return
        context = span.get_span_context()
        parent = span.parent
        scope = span.instrumentation_scope
        text = ""
        resource = span.resource
        if resource is not self._resource:
            self._resource = resource
            processed = apply_to_resource(resource, self._chain)
            record = ProcessRecord(
                self._pid, self._started, self._main, dict(processed.attributes),
                processed.schema_url,
            )  # fmt: skip
            text = process_line(record)
        record_start = StartRecord(
            pid=self._pid,
            trace_id=f"{context.trace_id:032x}",
            span_id=f"{context.span_id:016x}",
            parent_id=f"{parent.span_id:016x}" if parent is not None else "",
            parent_remote=bool(parent is not None and parent.is_remote),
            name=self._chain.text(span.name),
            kind=span.kind.value,
            start_ns=span.start_time or time.time_ns(),
            attributes=self._chain.attributes(values),
            scope=(scope.name, scope.version or "") if scope is not None else ("", ""),
        )
        self._append(text + start_line(record_start))

    def seen_alive(self, sample: TreeSample) -> None:
        """Note that the sampled processes were alive at the sample's time (main process only)."""
        at = sample.timestamp
        for process in sample.processes:
            self._seen[str(process.pid)] = at
            self._peaks[str(process.pid)] = process.peak_rss
        self._seen[str(self._pid)] = at
        document = {"seen": self._seen, "peak_rss": self._peaks}
        # On failure the spans of a dead process end at their last journal record instead.
        with contextlib.suppress(OSError):
            write_json_atomically(self._folder / ALIVE_FILE, document)

    def close(self) -> None:
        """Release the journal (it stays on disk until the run is closed or completed)."""
        self._stream.close()


class WriteThroughProcessor(SpanProcessor):
    """Journals each span of a run as it starts and writes it to ``traces.jsonl`` as it ends,
    both through the files chain and on the calling thread.
    """

    def __init__(
        self,
        folder: Path,
        chain: Chain,
        *,
        main: bool,
        facts: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        self.journal = SpanJournal(folder, chain, main=main)
        self._exporter = ProcessedSpanExporter(SpanLineExporter(folder / TRACES_FILE), chain, facts)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:  # noqa: ARG002
        """Journal the span."""
        self.journal.span_started(span)

    def on_end(self, span: ReadableSpan) -> None:
        """Write the span now."""
        try:
            self._exporter.export((span,))
        except OSError as error:
            warn_once(f"cannot write a span to {TRACES_FILE}: {error.strerror or error}")

    def shutdown(self) -> None:
        """Close both files."""
        self._exporter.shutdown()
        self.journal.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:  # noqa: ARG002 - SDK signature
        """Nothing is held back."""
        return True
