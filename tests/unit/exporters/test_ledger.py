"""The delivery ledger's ranges: merged ranges cover exactly the acknowledged bytes, and
delivery.json keeps every record across writers."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from otel_kedro.exporters import ledger
from otel_kedro.exporters.files import create_run_folder

_RANGES = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 40)).map(lambda r: (r[0], r[0] + r[1])),
    max_size=30,
)


@given(_RANGES)
def test_merged_ranges_cover_exactly_the_union(ranges: list[tuple[int, int]]) -> None:
    merged = ledger.merge(ranges)
    union = {byte for start, end in ranges for byte in range(start, end)}
    assert {byte for start, end in merged for byte in range(start, end)} == union
    assert all(a[1] < b[0] for a, b in itertools.pairwise(merged)), "disjoint, apart"
    for start, end in ranges:
        if end > start:
            assert ledger.covers(merged, start, end)
    for byte in range(241):
        assert ledger.covers(merged, byte, byte + 1) == (byte in union)


def test_concurrent_records_lose_nothing(tmp_path: Path) -> None:
    """Eight threads recording 50 requests each: all 400 land (one lock for threads and
    processes around each read-merge-replace)."""
    folder = create_run_folder(tmp_path, "run")

    def record(worker: int) -> None:
        for index in range(50):
            start = (worker * 50 + index) * 10
            ledger.record_acknowledged(folder, "otlp x", "traces.jsonl", [(start, start + 5)])

    threads = [threading.Thread(target=record, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ledger.acknowledged(folder, "otlp x", "traces.jsonl")) == 400
    assert json.loads((folder / "delivery.json").read_text())["otlp x"]["requests"] == 400


def test_a_record_from_before_the_ledger_counts_as_the_whole_files(tmp_path: Path) -> None:
    """An old per-run record is read as every line the file had, and converting it on the
    next record keeps that (nothing is sent twice after an upgrade)."""
    folder = create_run_folder(tmp_path, "run")
    (folder / "traces.jsonl").write_text('{"a":1}\n')
    (folder / "metrics.jsonl").write_text('{"b":2}\n')
    (folder / "delivery.json").write_text(json.dumps({"otlp x": {"spans": 1}}))
    assert ledger.acknowledged(folder, "otlp x", "traces.jsonl") == [(0, 8)]
    assert ledger.acknowledged(folder, "otlp x", "metrics.jsonl") == []
    ledger.record_acknowledged(folder, "otlp x", "metrics.jsonl", [(0, 8)])
    assert ledger.acknowledged(folder, "otlp x", "traces.jsonl") == [(0, 8)]
    assert ledger.acknowledged(folder, "otlp x", "metrics.jsonl") == [(0, 8)]
