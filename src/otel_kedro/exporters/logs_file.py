"""OTLP JSON Lines ``logs.jsonl``: already-processed log records appended as OTLP requests.

A transport like the traces writer beside it: it receives SDK ``ReadableLogRecord`` batches
after the destination's privacy chain ran on them (body, attributes, resource), encodes each
batch as one ``ExportLogsServiceRequest`` (:mod:`otel_kedro.exporters.log_lines`: hex ids, int64
as strings, what the Collector's ``otlpjsonfile`` receiver reads) and appends it as
one line with a single ``write(2)``, so ParallelRunner workers never interleave partial lines.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from otel_kedro.exporters.files import AtomicAppendStream
from otel_kedro.exporters.log_lines import logs_request_line
from otel_kedro.model.run_folder import LOGS_FILE

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord


class JsonLinesLogExporter(LogRecordExporter):
    """One ``ExportLogsServiceRequest`` per export call, one line each, appended atomically.

    The file is opened on the first record, so a run that logs nothing leaves no empty file.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stream: AtomicAppendStream | None = None
        self._closed = False
        self._lock = threading.Lock()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Append the records as one request line."""
        if not batch:
            return LogRecordExportResult.SUCCESS
        line = logs_request_line(batch)
        with self._lock:
            if self._closed:
                return LogRecordExportResult.FAILURE
            if self._stream is None:
                self._stream = AtomicAppendStream(self._path)
            self._stream.write(line)
            self._stream.flush()
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        """Close the file; later exports fail instead of writing."""
        with self._lock:
            self._closed = True
            if self._stream is not None:
                self._stream.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:  # noqa: ARG002 - SDK signature
        """Every export is already on disk."""
        return True


def logs_exporter(folder: Path) -> LogRecordExporter:
    """An OTLP JSON Lines log exporter appending to ``folder/logs.jsonl``."""
    return JsonLinesLogExporter(folder / LOGS_FILE)
