"""``traces.jsonl`` streamed line by line for what other processes wrote, without keeping spans.

The run's own process sees every span it ends; ParallelRunner workers append theirs to the same
file through their own writers, each line carrying its writer's ``process.pid`` in its resource
(a joining worker's writer sets it). :func:`spans_of_other_processes` reads the file one line at
a time from a byte offset, skips, without decoding them, the lines whose first ``process.pid``
is one of the given ones (or that carry none: they can only be the run's own), and yields the name,
attributes and wall time of each span of the other lines. Memory stays one line; torn lines are
skipped, as the one reader (:mod:`otel_kedro.model.run_folder`) skips them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from otel_kedro.model.run_folder import attributes_of

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_PID_KEY: Final = b'"key":"process.pid","value":{"intValue":"'


class SpanFacts(NamedTuple):
    """What a duration histogram needs of one span."""

    name: str
    attributes: dict[str, AttributeValue]
    seconds: float


def writer_pid(line: bytes) -> int | None:
    """The ``process.pid`` a line names first (its resource's), or None when it names none."""
    at = line.find(_PID_KEY)
    if at < 0:
        return None
    start = at + len(_PID_KEY)
    end = line.find(b'"', start)
    try:
        return int(line[start:end])
    except ValueError:
        return None


def spans_of_other_processes(
    path: Path, own_pids: Collection[int], offset: int = 0
) -> Iterator[SpanFacts]:
    """The spans in ``path`` from ``offset`` on that processes other than ``own_pids`` wrote."""
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return
    with stream:
        stream.seek(offset)
        for line in stream:
            pid = writer_pid(line)
            if pid is None or pid in own_pids:
                continue
            yield from _spans(line)


def _spans(line: bytes) -> Iterator[SpanFacts]:
    try:
        document = json.loads(line)
        for resource_spans in document.get("resourceSpans", ()):
            for scope_spans in resource_spans.get("scopeSpans", ()):
                for span in scope_spans.get("spans", ()):
                    start = int(span.get("startTimeUnixNano", 0))
                    end = int(span.get("endTimeUnixNano", 0))
                    yield SpanFacts(
                        str(span.get("name", "")),
                        attributes_of(span.get("attributes")),
                        max(0, end - start) / 1e9,
                    )
    except (ValueError, TypeError, AttributeError):  # a torn or foreign line: skip it
        return
