"""logs.jsonl: what the writer appends decodes as OTLP, and the run-folder reader reads it back."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from otel_kedro.exporters.logs_file import LogsFile
from otel_kedro.model.log_record import CapturedLog
from otel_kedro.model.run_folder import LOGS_FILE, read_logs
from tests.support.log_records import Translating
from tests.support.otlp_json import read_logs as decode_file

_RESOURCE = Resource({"service.name": "svc"})


def _records(count: int = 3) -> list[CapturedLog]:
    logger = logging.getLogger("test_logs_file")
    logger.propagate = False
    handler = Translating()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with TracerProvider().get_tracer("t").start_as_current_span("node"):
            for index in range(count):
                logger.warning("record %d", index, extra={"kedro.extra": index})
        logger.info({"structured": [1, 2], "nested": {"a": "b"}})
    finally:
        logger.removeHandler(handler)
    return handler.records


class TestLogsFile:
    """One OTLP request per write, one line each, decodable by opentelemetry-proto."""

    def test_lines_decode_and_read_back(self, tmp_path: Path) -> None:
        """Each write is one ExportLogsServiceRequest line; the reader returns the same records."""
        records = _records()
        writer = LogsFile(tmp_path, _RESOURCE)
        assert writer.write(records[:2])
        assert writer.write(records[2:])
        writer.close()
        assert not writer.write(records), "a closed file takes no more lines"
        assert len((tmp_path / LOGS_FILE).read_text().splitlines()) == 2
        decoded = decode_file(tmp_path / LOGS_FILE)
        assert [d.body for d in decoded[:3]] == ["record 0", "record 1", "record 2"]
        assert decoded[0].severity_text == "WARN"
        assert decoded[0].span_id == format(records[0].span_id, "016x")
        assert decoded[0].attributes["kedro.extra"] == 0

        back = read_logs(tmp_path)
        assert back.skipped_lines == 0
        assert [len(line) for line in back.items] == [2, 2]
        flat = [record for line in back.items for record in line]
        for original, read in zip(records, flat, strict=True):
            assert read.log_record.body == original.body
            assert read.log_record.trace_id == original.trace_id
            assert read.log_record.span_id == original.span_id
            assert read.log_record.timestamp == original.timestamp
            assert read.log_record.severity_number.value == original.severity_number  # type: ignore[union-attr]
            assert read.instrumentation_scope.name == original.scope  # type: ignore[union-attr]
            assert read.resource.attributes["service.name"] == "svc"
        assert flat[3].log_record.body == {"structured": [1, 2], "nested": {"a": "b"}}

    def test_nothing_logged_leaves_no_file_and_a_torn_line_is_skipped(self, tmp_path: Path) -> None:
        """A run without records has no logs.jsonl; a torn last line costs only itself."""
        writer = LogsFile(tmp_path, _RESOURCE)
        assert writer.write([])
        assert not (tmp_path / LOGS_FILE).exists()
        writer.write(_records(1)[:1])
        writer.close()
        with (tmp_path / LOGS_FILE).open("a") as handle:
            handle.write('{"resourceLogs": [{"scopeLogs"')
        back = read_logs(tmp_path)
        assert (len(back.items), back.skipped_lines) == (1, 1)

    def test_concurrent_writers_never_interleave_lines(self, tmp_path: Path) -> None:
        """Threads (and, the same way, processes) appending to one file write whole lines."""
        records = _records(20)
        writers = [LogsFile(tmp_path, _RESOURCE) for _ in range(4)]

        def write(writer: LogsFile) -> None:
            for _ in range(25):
                writer.write(records)

        threads = [threading.Thread(target=write, args=(w,)) for w in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        back = read_logs(tmp_path)
        assert back.skipped_lines == 0
        assert len(back.items) == 100
        assert all(len(line) == len(records) for line in back.items)
