"""What a run folder records about work in flight, so a run killed outright can be completed.

Two small files sit beside ``traces.jsonl`` while a run is going:

- ``inflight.jsonl``: one JSON object per line, appended with one ``write(2)`` each. A
  ``process`` record names each process writing to the run (pid, start time, whether it is the
  run's main process, its resource attributes as processed by the files chain); a ``run`` record
  carries what con-duct's ``info.json`` needs (the processed command and working directory); a
  ``start`` record is written for every span when it starts (ids, parent, name, kind, start time
  and attributes, already processed by the files chain: never raw values). A span whose start is
  journaled but that is not in ``traces.jsonl`` was in flight.
- ``alive.json``: replaced atomically at every sample of the process sampler: when each process
  of the run was last seen alive, and its memory high-water mark then.

The journal is removed when the run ends normally; its presence means "not closed". These are
the value types and the reader; the writers are in ``otel_kedro.runs.journal`` and the
completion of dead runs in ``otel_kedro.runs.recovery``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Final, NamedTuple

INFLIGHT_FILE: Final = "inflight.jsonl"
ALIVE_FILE: Final = "alive.json"
# error.type of a span whose process ended without ending it (SIGKILL, OOM killer, os._exit).
PROCESS_KILLED: Final = "otel_kedro.ProcessKilled"


class ProcessRecord(NamedTuple):
    """A process that writes spans into the run."""

    pid: int
    start_time: float  # the process's start (creation) time, to tell a reused pid apart
    main: bool  # the run's own process, not a ParallelRunner worker
    resource: dict[str, Any]  # attributes, as processed by the files chain
    resource_schema: str = ""


class StartRecord(NamedTuple):
    """A span as it was when it started (attributes as processed by the files chain). A named
    tuple, not a frozen dataclass: one is built for every node, and this builds in C.
    """

    pid: int
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_id: str  # 16 hex digits, "" for a root span
    parent_remote: bool
    name: str
    kind: int  # the SDK's SpanKind value (INTERNAL = 0)
    start_ns: int
    attributes: dict[str, Any]
    scope: tuple[str, str]  # instrumentation scope name and version


_START_FIELDS: Final = StartRecord._fields


class RunRecord(NamedTuple):
    """What con-duct's ``info.json`` needs about a run, already processed."""

    pid: int
    command: str
    working_directory: str
    start_time: float


@dataclasses.dataclass
class Journal:
    """Everything ``inflight.jsonl`` holds, in file order."""

    processes: dict[int, ProcessRecord] = dataclasses.field(default_factory=dict)
    starts: list[StartRecord] = dataclasses.field(default_factory=list)
    run: RunRecord | None = None
    skipped_lines: int = 0


def start_line(record: StartRecord) -> str:
    """The journal line of a started span (built field by field: ``asdict`` deep-copies, and
    this runs on every span start).
    """
    return _line({"start": dict(zip(_START_FIELDS, record, strict=True))})


def process_line(record: ProcessRecord) -> str:
    """The journal line naming a process of the run."""
    return _line({"process": record._asdict()})


def run_line(record: RunRecord) -> str:
    """The journal line of the run's own facts."""
    return _line({"run": record._asdict()})


# One encoder: json.dumps with options builds one per call, and a line is written per span start.
_ENCODE: Final = json.JSONEncoder(separators=(",", ":")).encode


def _line(document: dict[str, Any]) -> str:
    return _ENCODE(document) + "\n"


def read_journal(folder: Path, *, skip_starts_of: int | None = None) -> Journal | None:
    """The run's journal, or None when it has none (the run was closed normally). A line that
    cannot be decoded (torn by a crash) is skipped and counted.

    ``skip_starts_of``: a pid whose span starts are left out unread (a run closing its own
    journal needs only its workers' starts; its own, one per node, would cost a decode each and
    the memory of all of them at the end of a large run). Its start lines are recognised by
    their prefix, which :func:`start_line` writes first.
    """
    skipped = b'{"start":{"pid":%d,' % skip_starts_of if skip_starts_of is not None else None
    journal = Journal()
    try:
        with (folder / INFLIGHT_FILE).open("rb") as lines:
            for line in lines:
                if skipped is not None and line.startswith(skipped):
                    continue
                _read_line(line, journal)
    except FileNotFoundError:
        return None
    return journal


def _read_line(line: bytes, journal: Journal) -> None:
    if not line.strip():
        return
    try:
        document = json.loads(line)
        if "start" in document:
            fields = dict(document["start"])
            fields["scope"] = tuple(fields["scope"])
            journal.starts.append(StartRecord(**fields))
        elif "process" in document:
            process = ProcessRecord(**document["process"])
            journal.processes[process.pid] = process
        elif "run" in document:
            journal.run = RunRecord(**document["run"])
    except (ValueError, TypeError, KeyError):
        journal.skipped_lines += 1


class Alive(NamedTuple):
    """What ``alive.json`` says about each process of the run."""

    seen: dict[int, float]  # last seen alive, seconds since the epoch
    peak_rss: dict[int, int]  # its memory high-water mark at that time, in bytes


def read_alive(folder: Path) -> Alive:
    """When each process of the run was last seen alive, and its memory peak then."""
    try:
        document = json.loads((folder / ALIVE_FILE).read_text(encoding="utf-8"))
        seen = {int(pid): float(at) for pid, at in document["seen"].items()}
        peaks = {int(pid): int(peak) for pid, peak in document.get("peak_rss", {}).items()}
    except (FileNotFoundError, ValueError, TypeError, KeyError, AttributeError):
        return Alive({}, {})
    return Alive(seen, peaks)
