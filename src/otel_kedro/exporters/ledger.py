"""The delivery ledger: ``delivery.json``, which lines of each signal file each endpoint
acknowledged, recorded request by request.

A line is named by its byte range in its file. The files only ever grow by whole lines, so a
range names the same line for ever: lines appended after a run ended (late spans of orphaned
ParallelRunner workers) are simply ranges no endpoint has acknowledged yet. Every record is a
read-merge-write of the whole document, replaced atomically (temporary file and rename) under a
lock that threads and processes share, so two deliveries never lose each other's records.

Document shape, per endpoint key (never holding endpoint credentials)::

    {"otlp http/protobuf http://127.0.0.1:4318/v1/traces": {
        "acknowledged": {"traces.jsonl": [[0, 10432]], "metrics.jsonl": [[0, 5120]]},
        "unsupported": {"metrics.jsonl": "... takes no OTLP metrics (HTTP 404 Not Found)"},
        "requests": 3, "at": "2026-12-04T15:00:00+00:00"}}
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import hashlib
import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from otel_kedro.exporters.files import write_json_atomically
from otel_kedro.model.run_folder import DELIVERY_FILE, METRICS_FILE, TRACES_FILE

if sys.platform != "win32":
    import fcntl

Ranges = list[tuple[int, int]]

ACKNOWLEDGED: Final = "acknowledged"
UNSUPPORTED: Final = "unsupported"
_WRITE_LOCK_FILE: Final = ".delivery.lock"
_thread_lock = threading.RLock()


def merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sorted, non-overlapping ``[start, end)`` ranges covering exactly the given ones
    (adjacent ranges join, so a fully delivered file is one range).
    """
    merged: Ranges = []
    for start, end in sorted((int(a), int(b)) for a, b in ranges):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def covers(ranges: Ranges, start: int, end: int) -> bool:
    """Whether merged ``ranges`` hold all of ``[start, end)``."""
    index = bisect.bisect_right(ranges, (start, float("inf"))) - 1
    return index >= 0 and ranges[index][0] <= start and end <= ranges[index][1]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``: it excludes other processes, and other threads of this
    one too (each holds its own open file description).
    """
    if sys.platform == "win32":  # pragma: no cover - threads are still serialised
        yield
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


@contextlib.contextmanager
def document_lock(folder: Path) -> Iterator[None]:
    """Held while ``delivery.json`` is read, changed and replaced."""
    with _thread_lock, _file_lock(folder / _WRITE_LOCK_FILE):
        yield


def sending_lock(folder: Path, key: str) -> contextlib.AbstractContextManager[None]:
    """Held by whoever sends ``folder`` to ``key`` (the end of a run, a replay), so two of them
    never send the same unacknowledged lines at once.
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return _file_lock(folder / f".delivery-{digest}.lock")


def read_document(folder: Path) -> dict[str, Any]:
    """``delivery.json`` as a mapping (empty when missing or unreadable)."""
    try:
        document = json.loads((folder / DELIVERY_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def acknowledged(folder: Path, key: str, file: str) -> Ranges:
    """The byte ranges of ``file`` that endpoint ``key`` acknowledged.

    A record from before the ledger (``{"spans": n}`` per run, with metrics under
    ``"<key> metrics"``) counted as the whole file at the time: it is read as every line the
    file has now, the only reading that sends nothing twice.
    """
    return _acknowledged(read_document(folder), folder, key, file)


def _acknowledged(document: dict[str, Any], folder: Path, key: str, file: str) -> Ranges:
    entry = document.get(key)
    if isinstance(entry, dict) and isinstance(entry.get(ACKNOWLEDGED), dict):
        ranges = entry[ACKNOWLEDGED].get(file)
        return merge(ranges) if isinstance(ranges, list) else []
    legacy = entry if file == TRACES_FILE else document.get(f"{key} metrics")
    if file in {TRACES_FILE, METRICS_FILE} and isinstance(legacy, dict):
        try:
            return [(0, (folder / file).stat().st_size)]
        except OSError:
            return []
    return []


def unsupported(folder: Path, key: str, file: str) -> str | None:
    """Why endpoint ``key`` takes no lines of ``file`` at all (a traces-only backend), if so."""
    entry = read_document(folder).get(key)
    reasons = entry.get(UNSUPPORTED) if isinstance(entry, dict) else None
    reason = reasons.get(file) if isinstance(reasons, dict) else None
    return str(reason) if reason else None


def _entry(document: dict[str, Any], folder: Path, key: str) -> dict[str, Any]:
    """The endpoint's entry, created (or converted from a record before the ledger) if needed."""
    entry = document.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get(ACKNOWLEDGED), dict):
        legacy = {
            file: [list(pair) for pair in _acknowledged(document, folder, key, file)]
            for file in (TRACES_FILE, METRICS_FILE)
        }
        entry = {ACKNOWLEDGED: {file: ranges for file, ranges in legacy.items() if ranges}}
        document.pop(f"{key} metrics", None)
        document[key] = entry
    return entry


def record_acknowledged(
    folder: Path, key: str, file: str, ranges: Iterable[tuple[int, int]]
) -> None:
    """Endpoint ``key`` acknowledged one request made of the lines at ``ranges`` of ``file``."""
    with document_lock(folder):
        document = read_document(folder)
        entry = _entry(document, folder, key)
        entry[ACKNOWLEDGED][file] = [
            list(pair) for pair in merge([*entry[ACKNOWLEDGED].get(file, []), *ranges])
        ]
        entry["requests"] = int(entry.get("requests", 0)) + 1
        entry["at"] = dt.datetime.now(dt.timezone.utc).isoformat()
        write_json_atomically(folder / DELIVERY_FILE, document, indent=1)


def record_unsupported(folder: Path, key: str, file: str, reason: str) -> None:
    """Endpoint ``key`` takes no lines of ``file`` (replay will not offer them again)."""
    with document_lock(folder):
        document = read_document(folder)
        entry = _entry(document, folder, key)
        reasons = entry.setdefault(UNSUPPORTED, {})
        reasons[file] = reason
        entry["at"] = dt.datetime.now(dt.timezone.utc).isoformat()
        write_json_atomically(folder / DELIVERY_FILE, document, indent=1)
