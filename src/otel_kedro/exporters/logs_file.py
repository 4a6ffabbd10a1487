"""OTLP JSON Lines ``logs.jsonl``: already-processed log records appended as OTLP requests.

A transport like the traces writer beside it: it receives batches of a run's records after the
destination's privacy chain ran on them (body, attributes; the resource once), encodes each
batch as one ``ExportLogsServiceRequest`` (:mod:`otel_kedro.exporters.log_lines`: hex ids, int64
as strings, what the Collector's ``otlpjsonfile`` receiver reads) and appends it as one line
with a single ``write(2)``, so ParallelRunner workers never interleave partial lines.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from otel_kedro.exporters.files import AtomicAppendStream
from otel_kedro.exporters.log_lines import logs_request_line
from otel_kedro.model.run_folder import LOGS_FILE

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource

    from otel_kedro.model.log_record import CapturedLog


class LogsFile:
    """One ``ExportLogsServiceRequest`` line per :meth:`write`, appended atomically.

    The file is opened on the first record, so a run that logs nothing leaves no empty file.
    """

    def __init__(self, folder: Path, resource: Resource) -> None:
        self._path = folder / LOGS_FILE
        self._resource = resource
        self._stream: AtomicAppendStream | None = None
        self._closed = False
        self._lock = threading.Lock()

    def write(self, records: Sequence[CapturedLog]) -> bool:
        """Append the records as one request line; whether they reached the file."""
        if not records:
            return True
        line = logs_request_line(records, self._resource)
        with self._lock:
            if self._closed:
                return False
            if self._stream is None:
                self._stream = AtomicAppendStream(self._path)
            return self._stream.append(line)

    def close(self) -> None:
        """Close the file; later writes fail instead of writing."""
        with self._lock:
            self._closed = True
            if self._stream is not None:
                self._stream.close()
