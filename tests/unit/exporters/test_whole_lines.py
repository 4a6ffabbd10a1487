"""Whole lines only: every file writer, run under a real file size limit (``RLIMIT_FSIZE``, as
``ulimit -f`` sets it), keeps only whole lines, reports the failure once through our logger
naming the file and the OS error, and raises nothing into the caller (issue 10, case 5)."""

from __future__ import annotations

import errno
import json
import logging
import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_kedro.exporters.conduct import ConductWriter
from otel_kedro.exporters.files import AtomicAppendStream, write_failure
from otel_kedro.exporters.metrics_line import MetricsLineWriter
from otel_kedro.exporters.span_lines import SpanLineExporter
from otel_kedro.model.metric_series import MetricSeries, NumberPoint
from otel_kedro.model.run_folder import TRACES_FILE, read_lines
from otel_kedro.model.usage import UsageSummary
from tests.support.usage_samples import samples

LIMIT = 6_000


def _in_limited_child(work: Callable[[Path], object], folder: Path) -> dict[str, object]:
    """Run ``work(folder)`` in a forked child under ``RLIMIT_FSIZE`` = LIMIT; what it logged,
    what it raised, what it returned."""

    def child(connection: Connection) -> None:
        records: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger().addHandler(handler)
        logging.getLogger("opentelemetry").addHandler(handler)
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))
        try:
            result = work(folder)
            raised = None
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            result, raised = None, repr(error)
        connection.send({"records": records, "raised": raised, "result": repr(result)})

    parent, child_end = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(target=child, args=(child_end,))
    process.start()
    outcome = parent.recv()
    process.join()
    return outcome


def _assert_whole(path: Path) -> int:
    data = path.read_bytes()
    assert data, f"{path.name}: the lines that fit are kept"
    assert data.endswith(b"\n"), f"{path.name} ends in a whole line"
    assert len(data) <= LIMIT
    lines = read_lines(path)
    assert lines.skipped_lines == 0
    return len(lines.items)


def _one_warning(outcome: dict[str, object], path: Path) -> None:
    assert outcome["raised"] is None, outcome["raised"]
    warnings = [r for r in outcome["records"] if str(path) in r]  # type: ignore[attr-defined]
    assert len(warnings) == 1, outcome["records"]
    assert f"cannot write {path}: [Errno {errno.EFBIG}] File too large" in warnings[0]
    assert not [r for r in outcome["records"] if "Traceback" in r or "Exception" in r]  # type: ignore[attr-defined]


def test_the_append_stream_cuts_a_short_write_back_to_the_last_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"

    def work(folder: Path) -> object:
        stream = AtomicAppendStream(path)
        results = [stream.append(json.dumps({"i": i, "pad": "x" * 680}) + "\n") for i in range(20)]
        stream.close()
        return results, write_failure(path) is not None

    outcome = _in_limited_child(work, tmp_path)
    _one_warning(outcome, path)
    kept = _assert_whole(path)
    assert outcome["result"] == repr(([True] * kept + [False] * (20 - kept), True))


def test_the_span_exporter_fails_the_export_instead_of_raising(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"

    def work(folder: Path) -> object:
        provider = TracerProvider(resource=Resource({"service.name": "s"}))
        provider.add_span_processor(SimpleSpanProcessor(SpanLineExporter(folder / TRACES_FILE)))
        for index in range(60):
            provider.get_tracer("t").start_span(f"span-{index}").end()
        provider.shutdown()
        return None

    outcome = _in_limited_child(work, tmp_path)
    _one_warning(outcome, path)
    assert 0 < _assert_whole(path) < 60


def test_the_metrics_writer_keeps_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"

    def work(folder: Path) -> object:
        writer = MetricsLineWriter(folder / "metrics.jsonl", {"service.name": "s"}, "1")
        for index in range(40):
            point = NumberPoint({"i": index}, 0, index, float(index))
            writer.add_series([MetricSeries("process.memory.usage", "", "By", "gauge", (point,))])
        writer.close()
        return None

    outcome = _in_limited_child(work, tmp_path)
    _one_warning(outcome, path)
    assert 0 < _assert_whole(path) < 40


def test_usage_records_keep_whole_lines_and_info_json_is_never_half_written(
    tmp_path: Path,
) -> None:
    usage = tmp_path / "usage.jsonl"
    info = tmp_path / "info.json"
    sequence = samples()

    def work(folder: Path) -> object:
        writer = ConductWriter(
            folder, command="kedro run", working_directory="/w", text=str, report_interval=1e-9
        )
        for _ in range(30):
            for sample in sequence:
                writer.add_sample(sample)
        summary = UsageSummary(
            sequence[0].timestamp, sequence[-1].timestamp, len(sequence), 1.0, 0.5, 1, 1.0, 1,
            1.0, None, None, 1.0, 1.0, 1 << 30, 2, (),
        )  # fmt: skip
        writer.finish(summary, 0, message="x" * 2 * LIMIT)  # info.json cannot fit
        writer.close()
        return None

    outcome = _in_limited_child(work, tmp_path)
    _one_warning(outcome, usage)
    _assert_whole(usage)
    warnings = [r for r in outcome["records"] if str(info) in r]  # type: ignore[attr-defined]
    assert len(warnings) == 1
    assert "[Errno 27] File too large" in warnings[0]
    assert not info.exists(), "no half-written info.json"
    assert not list(tmp_path.glob(".info.json.*")), "no temporary file left behind"
