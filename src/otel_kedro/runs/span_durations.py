"""The run's duration histograms, fed as spans end instead of from a re-read of the trace file.

:class:`DurationTee` sits in front of the run destination's span processor: each span the run's
own process ends (SequentialRunner, ThreadRunner's pool threads, the run span) is written first,
then its duration recorded, at about a microsecond a span. Spans that ParallelRunner workers end
never pass through this process: :func:`record_other_processes` streams the lines they appended
to ``traces.jsonl`` (and only those) once the run has ended, one line in memory at a time.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_kedro.diagnostics import warn_once
from otel_kedro.model.span_stream import spans_of_other_processes

if TYPE_CHECKING:
    from opentelemetry.context import Context

    from otel_kedro.sources.kedro.durations import KedroDurations


class DurationTee(SpanProcessor):
    """Passes every call to ``inner`` (the run's writer), then records each ended span's
    duration in ``durations``; a failure to record is warned about once, never raised.
    """

    def __init__(self, inner: SpanProcessor, durations: KedroDurations) -> None:
        self.inner = inner
        self._durations = durations
        self._resource: object = None
        # The pids this process's lines carry: its own, and its resource's (which names the
        # process that built the provider, should that be another).
        self.own_pids: set[int] = {os.getpid()}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """The writer's."""
        self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        """Write the span, then record how long it took."""
        self.inner.on_end(span)
        try:
            if span.resource is not self._resource:
                self._resource = span.resource
                pid = span.resource.attributes.get("process.pid")
                if isinstance(pid, int):
                    self.own_pids.add(pid)
            seconds = max(0, (span.end_time or 0) - (span.start_time or 0)) / 1e9
            self._durations.observe(span.name, span.attributes or {}, seconds)
        except Exception as error:  # noqa: BLE001 - histograms are a bonus; never break a run
            warn_once(f"cannot record the duration of span {span.name!r} ({error!r}).")

    def shutdown(self) -> None:
        """The writer's."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """The writer's."""
        return self.inner.force_flush(timeout_millis)


def traces_offset(path: Path) -> int:
    """Where lines appended from now on start in ``path`` (0 when it does not exist yet)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def record_other_processes(
    durations: KedroDurations, path: Path, offset: int, own_pids: Collection[int]
) -> None:
    """Record the spans that processes other than ``own_pids`` appended to ``path`` since
    ``offset`` (ParallelRunner workers): this process recorded its own as they ended.
    """
    for span in spans_of_other_processes(path, own_pids, offset):
        durations.observe(span.name, span.attributes, span.seconds)
