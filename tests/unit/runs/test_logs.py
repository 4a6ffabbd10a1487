"""A run's log writer: records in order, in lines of at most 512, through the files chain; a
worker writes each at once; a flood beyond the queue's bound is counted and said once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.model.run_folder import LOGS_FILE, read_logs
from otel_kedro.runs import logs as run_logs
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.logs import RunLogWriter
from tests.support.log_records import translated

_RESOURCE = Resource({"service.name": "svc"})
_CHAIN = destination_chain(PrivacySettings(), "files")


def _bodies(folder: Path) -> list[list[object]]:
    back = read_logs(folder)
    assert back.skipped_lines == 0
    return [[record.log_record.body for record in line] for line in back.items]


def test_queued_records_are_written_in_order_in_lines_of_512(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing waits for the 2 s timer here: full batches wake the writer, the rest is written
    when the run closes, all of it in the order logged."""
    monkeypatch.setattr(run_logs, "_BATCH_DELAY_S", 3600.0)
    records = translated("test_run_logs", *(f"record {i}" for i in range(1100)))
    writer = RunLogWriter(tmp_path, _CHAIN, _RESOURCE, worker=False)
    for record in records:
        writer.add(record)
    writer.close()
    lines = _bodies(tmp_path)
    assert all(len(line) <= 512 for line in lines)
    assert [body for line in lines for body in line] == [f"record {i}" for i in range(1100)]


def test_the_files_chain_runs_before_writing(tmp_path: Path) -> None:
    """Secrets in a message never reach logs.jsonl."""
    writer = RunLogWriter(tmp_path, _CHAIN, _RESOURCE, worker=False)
    writer.add(translated("test_run_logs", "connect with password=hunter2secret")[0])
    writer.close()
    assert _bodies(tmp_path) == [["connect with password=*****"]]
    assert "hunter2secret" not in (tmp_path / LOGS_FILE).read_text()


def test_a_worker_writes_each_record_as_it_comes(tmp_path: Path) -> None:
    """Pool workers leave through os._exit: every record is on disk before the next."""
    writer = RunLogWriter(tmp_path, _CHAIN, _RESOURCE, worker=True)
    for record in translated("test_run_logs", "one", "two"):
        writer.add(record)
        assert (tmp_path / LOGS_FILE).is_file()
    assert _bodies(tmp_path) == [["one"], ["two"]]
    writer.close()


def test_a_flood_beyond_the_bound_is_counted_and_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Records that find the queue full are dropped, and the run's end says how many."""
    monkeypatch.setattr(run_logs, "_BATCH_DELAY_S", 3600.0)
    monkeypatch.setattr(run_logs, "_MAX_QUEUE", 3)
    writer = RunLogWriter(tmp_path, _CHAIN, _RESOURCE, worker=False)
    for record in translated("test_run_logs", *(f"flood {i}" for i in range(5))):
        writer.add(record)
    with caplog.at_level(logging.WARNING, logger="otel_kedro"):
        writer.close()
    assert _bodies(tmp_path) == [["flood 0", "flood 1", "flood 2"]]
    assert "2 log records of this run were not recorded" in caplog.text
