"""Local files: one folder per run, OTLP JSON Lines written with whole-line appends.

The encoding is done by ``opentelemetry-exporter-otlp-json-common`` (hex ids, int64 as strings,
the format the Collector's ``otlpjsonfile`` receiver reads). What this module adds is where the
lines go: a folder per run that no other run writes into (marked as otel-kedro's), and a stream
that appends whole lines under a lock on an ``O_APPEND`` descriptor, so ParallelRunner workers
appending to the same ``traces.jsonl`` never interleave partial lines, and a full disk never
leaves half a line.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_kedro.exporters.append import AtomicAppendStream, write_failure, write_json_atomically
from otel_kedro.exporters.vcs import ignore_in_version_control
from otel_kedro.model.run_folder import RUN_MARKER, TRACES_FILE

# The append helpers live in .append (no SDK import); re-exported for existing callers.
__all__ = [
    "AtomicAppendStream",
    "JsonLinesSpanExporter",
    "create_run_folder",
    "traces_exporter",
    "write_failure",
    "write_json_atomically",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def create_run_folder(output_dir: Path, run_id: str) -> Path:
    """Create a new folder for one run under ``output_dir`` and return it.

    The name starts with the run id (sortable, recognisable) and ends with a random suffix, so
    two runs never share a folder even when their ids are equal. Its marker file
    (``RUN_MARKER``) is how replay knows the folder is otel-kedro's to read and write.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    ignore_in_version_control(output_dir)
    stem = _UNSAFE.sub("_", run_id).strip("._") or "run"
    while True:
        folder = output_dir / f"{stem}-{secrets.token_hex(3)}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        (folder / RUN_MARKER).write_text(
            "This folder holds one run's telemetry, written by otel-kedro.\n", encoding="utf-8"
        )
        return folder


class JsonLinesSpanExporter(SpanExporter):
    """OTLP JSON Lines: one ``ExportTraceServiceRequest`` per line, appended atomically.

    The encoding is ``opentelemetry-exporter-otlp-json-common``'s; this class only adds the
    atomic-append stream. (``FileSpanExporter`` from the ``-json-file`` package does the same,
    but importing it also imports the metrics encoder: 55 ms instead of 14 ms, measured on the
    ``kedro run`` start-up path.)
    """

    def __init__(self, path: Path) -> None:
        self._stream = AtomicAppendStream(path)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append the spans as one request line."""
        from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans

        if not spans:
            return SpanExportResult.SUCCESS
        line = json.dumps(encode_spans(spans).to_dict(), separators=(",", ":")) + "\n"
        with self._lock:
            if self._stream.closed:
                return SpanExportResult.FAILURE
            # A failed write is reported by the stream; returning FAILURE (not raising) keeps
            # the SDK from printing a traceback to the user's console.
            written = self._stream.append(line)
        return SpanExportResult.SUCCESS if written else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Close the file; later exports fail instead of writing."""
        with self._lock:
            self._stream.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:  # noqa: ARG002 - SDK signature
        """Every export is already on disk."""
        return True


def traces_exporter(folder: Path) -> SpanExporter:
    """An OTLP JSON Lines span exporter appending to ``folder/traces.jsonl``."""
    return JsonLinesSpanExporter(folder / TRACES_FILE)
