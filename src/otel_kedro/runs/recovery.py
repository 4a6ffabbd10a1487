"""Completing runs whose processes died without ending their spans (SIGKILL, the OOM killer,
``os._exit``): the next ``otel-kedro`` command or ``kedro run`` of the project finishes them.

A run folder whose ``inflight.jsonl`` is still there was not closed. If its main process is
still alive (same pid *and* same start time) the run is live and is left alone. Otherwise
every journaled span that is not in ``traces.jsonl`` and whose process is dead is ended at the
last time its process was seen alive, with status ERROR and ``error.type``
``otel_kedro.ProcessKilled`` (a node's task result and the run's result say ``failure``), and
appended as whole lines; con-duct's ``info.json`` is written from the usage records (exit code
unknown). A run's own main process does the same for its dead ParallelRunner workers when the
run ends.

Completion is serialised by an exclusive lock on the journal and idempotent: the spans it adds
are in ``traces.jsonl`` afterwards, so running it again (or after a crash half-way) adds nothing.
The journal is removed only once nothing of a live process is left in flight.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from otel_kedro import attributes as attr
from otel_kedro.diagnostics import warn_once
from otel_kedro.model.inflight import (
    ALIVE_FILE,
    INFLIGHT_FILE,
    PROCESS_KILLED,
    Journal,
    StartRecord,
    read_alive,
    read_journal,
)
from otel_kedro.model.run_folder import TRACES_FILE
from otel_kedro.sources.process.identity import is_alive, start_time


class Completion(NamedTuple):
    """What completing one run folder did."""

    folder: Path
    spans: int  # spans ended now, as killed
    info_written: bool  # con-duct's info.json written now
    waiting: int  # spans still in flight in processes that are alive
    closed: bool  # nothing left in flight: the journal is gone


def complete_dead_runs(output_dir: Path, *, skip: Sequence[Path] = ()) -> list[Completion]:
    """Complete every dead run under ``output_dir``; those where something was done. Never
    raises: a folder that cannot be completed is warned about and left for the next time.
    """
    try:
        journals = sorted(output_dir.glob(f"*/{INFLIGHT_FILE}"))
    except OSError:
        return []
    done = []
    skipped = {folder.resolve() for folder in skip}
    for journal in journals:
        folder = journal.parent
        if folder.resolve() in skipped:
            continue
        try:
            completion = complete_run(folder)
        except Exception as error:  # noqa: BLE001 - never break the command that found it
            warn_once(f"cannot complete the killed run {folder}: {error!r}")
            continue
        if completion is not None and (completion.spans or completion.info_written):
            done.append(completion)
    return done


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[bool]:
    """An exclusive, non-blocking lock on the run's journal; yields False when another process
    holds it (it is completing or closing the run) or the journal is gone.
    """
    try:
        fd = os.open(folder / INFLIGHT_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        except ImportError:  # no flock (Windows): completion is still idempotent
            pass
        yield True
    finally:
        os.close(fd)


def complete_run(folder: Path, *, own_pid: int | None = None) -> Completion | None:
    """Complete what dead processes left in flight in ``folder``; None when there is nothing to
    do or the run is live. ``own_pid`` is the calling run's main process (closing its own run):
    then only its dead workers are completed.
    """
    with _locked(folder) as locked:
        if not locked:
            return None
        journal = read_journal(folder, skip_starts_of=own_pid)
        if journal is None:
            return None
        main = journal.run.pid if journal.run is not None else None
        alive = _alive(journal, own_pid)
        if own_pid is None and main is not None and alive.get(main, False):
            return None  # a live run: only its own process may end its spans
        # The caller's own spans are its own business (it is alive): only others' are looked up,
        # so closing a run that had no workers does not read its traces at all.
        others = [s for s in journal.starts if s.pid != own_pid]
        ended = _ended_spans(folder / TRACES_FILE, {s.span_id for s in others}) if others else {}
        in_flight = [s for s in others if s.span_id not in ended]
        dead = [s for s in in_flight if not alive.get(s.pid, False)]
        waiting = [s for s in in_flight if alive.get(s.pid, False)]
        if dead:
            _write_killed(folder, journal, dead, ended)
        info_written = False
        if own_pid is None and journal.run is not None:
            from otel_kedro.runs.recovery_usage import write_info_of_killed_run

            info_written = write_info_of_killed_run(folder, journal.run, _seen(folder, journal))
        closed = not waiting
        if closed:
            for name in (ALIVE_FILE, INFLIGHT_FILE):
                with contextlib.suppress(FileNotFoundError):
                    (folder / name).unlink()
        return Completion(folder, len(dead), info_written, len(waiting), closed)


def _alive(journal: Journal, own_pid: int | None) -> dict[int, bool]:
    pids = {s.pid for s in journal.starts} | set(journal.processes)
    if journal.run is not None:
        pids.add(journal.run.pid)
    result = {}
    for pid in pids:
        record = journal.processes.get(pid)
        if pid == own_pid:
            result[pid] = True
        elif record is not None:
            result[pid] = is_alive(pid, record.start_time)
        else:  # its process record was lost: the pid alone decides
            result[pid] = start_time(pid) is not None
    return result


_SPAN_ID = re.compile(rb'"spanId":"([0-9a-f]{16})"')


@dataclasses.dataclass
class _Ended:
    end_ns: int
    parent_id: str


def _ended_spans(path: Path, journaled: set[str]) -> dict[str, _Ended]:
    """Span id -> end time and parent of every span already in ``traces.jsonl``.

    A run ending normally has every journaled span in the file: a scan for span ids finds that
    in milliseconds, where decoding every line of a 500-node run takes ~0.1 s; lines are
    decoded only when something is missing (the scan also matches link targets, so it can only
    err towards "ended", for a span that another span links to).
    """
    ended: dict[str, _Ended] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ended
    present = {match.decode() for match in _SPAN_ID.findall(data)}
    if journaled <= present:
        return dict.fromkeys(journaled, _Ended(0, ""))
    for line in data.splitlines():
        ended.update(_spans_of_line(line))
    return ended


def _spans_of_line(line: bytes) -> dict[str, _Ended]:
    """The spans of one request line; none for a torn line (what it held is not on disk)."""
    found = {}
    try:
        document = json.loads(line)
        for resource_spans in document.get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    found[str(span["spanId"])] = _Ended(
                        int(span.get("endTimeUnixNano", 0)), str(span.get("parentSpanId", ""))
                    )
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}
    return found


def _seen(folder: Path, journal: Journal) -> dict[int, float]:
    """When each process was last seen alive: the sampler's note, or its latest journal record."""
    seen = dict(read_alive(folder).seen)
    for start in journal.starts:
        seen[start.pid] = max(seen.get(start.pid, 0.0), start.start_ns / 1e9)
    return seen


def _write_killed(
    folder: Path, journal: Journal, dead: list[StartRecord], ended: dict[str, _Ended]
) -> None:
    """End the dead processes' spans as killed and append them to ``traces.jsonl``."""
    from otel_kedro.exporters.span_lines import SpanLineExporter

    seen = _seen(folder, journal)
    ends: dict[str, int] = {}
    for span in dead:
        ends[span.span_id] = max(span.start_ns, int(seen.get(span.pid, 0.0) * 1e9))
    # A parent ends no earlier than any of its children, written or completed now.
    children: list[tuple[str, int]] = [(e.parent_id, e.end_ns) for e in ended.values()]
    for _ in range(len(dead) + 1):
        changed = False
        for parent_id, end in [*children, *((s.parent_id, ends[s.span_id]) for s in dead)]:
            if parent_id in ends and ends[parent_id] < end:
                ends[parent_id] = end
                changed = True
        if not changed:
            break
    peaks = read_alive(folder).peak_rss
    spans = [_killed_span(journal, span, ends[span.span_id], peaks) for span in dead]
    exporter = SpanLineExporter(folder / TRACES_FILE)
    try:
        exporter.export(spans)
    finally:
        exporter.shutdown()


def _killed_span(journal: Journal, start: StartRecord, end_ns: int, peaks: dict[int, int]) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    process = journal.processes.get(start.pid)
    resource = (
        Resource(process.resource, process.resource_schema or None)
        if process is not None
        else Resource({})
    )
    values = dict(start.attributes)
    values[attr.ERROR_TYPE] = PROCESS_KILLED
    if attr.CICD_TASK_NAME in values:
        values[attr.CICD_TASK_RUN_RESULT] = attr.RESULT_FAILURE
        if start.pid in peaks:  # its process's high-water mark when last sampled
            values[attr.KEDRO_NODE_MEMORY_PEAK] = peaks[start.pid]
            values[attr.KEDRO_NODE_MEMORY_PEAK_EXACT] = False
    if attr.CICD_PIPELINE_RUN_ID in values:
        values[attr.CICD_PIPELINE_RESULT] = attr.RESULT_FAILURE
    role = "the run's process" if process is None or process.main else "a worker process"
    last = datetime.datetime.fromtimestamp(end_ns / 1e9, datetime.timezone.utc).isoformat()
    description = (
        f"killed: {role} (pid {start.pid}) ended without ending this span (SIGKILL, the OOM "
        f"killer or os._exit); exit code unknown; last seen alive at {last}"
    )
    trace_id, span_id = int(start.trace_id, 16), int(start.span_id, 16)
    flags = TraceFlags(TraceFlags.SAMPLED)
    parent = (
        SpanContext(trace_id, int(start.parent_id, 16), start.parent_remote, flags)
        if start.parent_id
        else None
    )
    return ReadableSpan(
        name=start.name,
        context=SpanContext(trace_id, span_id, False, flags),
        parent=parent,
        resource=resource,
        attributes=values,
        kind=SpanKind(start.kind),
        status=Status(StatusCode.ERROR, description),
        start_time=start.start_ns,
        end_time=end_ns,
        instrumentation_scope=InstrumentationScope(start.scope[0], start.scope[1] or None),
    )
