"""model.inflight: the journal reader, and what a closing run leaves unread."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_kedro.model.inflight import (
    INFLIGHT_FILE,
    ProcessRecord,
    StartRecord,
    process_line,
    read_journal,
    start_line,
)


def _start(pid: int, span: int, name: str) -> StartRecord:
    return StartRecord(
        pid=pid, trace_id="1" * 32, span_id=f"{span:016x}", parent_id="", parent_remote=False,
        name=name, kind=0, start_ns=span, attributes={"n": span}, scope=("otel_kedro", "0.1"),
    )  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(
    pids=st.lists(st.integers(min_value=1, max_value=4_194_304), min_size=1, max_size=4),
    spans=st.integers(min_value=0, max_value=20),
    data=st.data(),
)
def test_the_starts_of_one_pid_are_left_out_and_every_other_record_read(
    pids: list[int], spans: int, data: st.DataObject
) -> None:
    """A closing run skips its own starts (one per node) and still reads its workers' starts
    and every process record, whatever the pids (one a prefix of another: 12 and 123)."""
    # Not under pytest's shared temporary root: other tests complete the dead runs found there.
    with tempfile.TemporaryDirectory() as temporary:
        _check_skipping(Path(temporary), pids, spans, data)


def _check_skipping(folder: Path, pids: list[int], spans: int, data: st.DataObject) -> None:
    pids = [*pids, pids[0] * 10 + 3]  # a pid whose digits extend the first one's
    starts = [_start(data.draw(st.sampled_from(pids)), i + 1, f"n{i}") for i in range(spans)]
    lines = [process_line(ProcessRecord(pid, 1.0, pid == pids[0], {}, "")) for pid in pids]
    lines += [start_line(start) for start in starts]
    (folder / INFLIGHT_FILE).write_text("".join(lines) + '{"start":{"torn', encoding="utf-8")

    journal = read_journal(folder, skip_starts_of=pids[0])
    assert journal is not None
    assert journal.starts == [s for s in starts if s.pid != pids[0]]
    assert set(journal.processes) == set(pids)
    assert journal.skipped_lines == 1
    everything = read_journal(folder)
    assert everything is not None
    assert everything.starts == starts


def test_a_run_without_a_journal_has_none(tmp_path: Path) -> None:
    """No inflight.jsonl: the run was closed normally."""
    assert read_journal(tmp_path, skip_starts_of=1) is None
