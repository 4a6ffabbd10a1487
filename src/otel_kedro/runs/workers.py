"""Runs of another process that this process joins: a ParallelRunner worker, forked or spawned,
recognises from the handoff its parent published in the environment that the run is not its
own, and writes its spans, log records and journal into that run's folder.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry import trace

from otel_kedro.config.privacy import spec_from_json
from otel_kedro.runs.chains import chain_of
from otel_kedro.sources.kedro.nodes import NodeTracker, RunScope
from otel_kedro.sources.kedro.propagation import (
    HANDOFF_PREFIX,
    context_from_traceparent,
    published_handoffs,
    read_handoff,
)

if TYPE_CHECKING:
    from otel_kedro.runs.logs import RunLogs
    from otel_kedro.runs.tracing import Destination, TracingPipeline


@dataclasses.dataclass(frozen=True)
class _Joined:
    """A run of another process that this worker process joined."""

    scope: RunScope
    destination: Destination
    logs: bool = False


def may_join() -> bool:
    """Whether a parent process published a run this process could join."""
    return any(name.startswith(HANDOFF_PREFIX) for name in os.environ)


class JoinedRuns:
    """The runs this process joined, by run id (None: published but not joinable)."""

    def __init__(
        self, tracing: TracingPipeline, nodes: NodeTracker, run_logs: Callable[[], RunLogs]
    ) -> None:
        self._tracing = tracing
        self._nodes = nodes
        self._run_logs = run_logs
        self._lock = threading.Lock()
        self._joined: dict[str, _Joined | None] = {}

    def reset_after_fork(self) -> None:
        """A forked worker has joined nothing yet."""
        self._lock = threading.Lock()
        self._joined = {}

    def any(self) -> bool:
        """Whether this process joined a run."""
        return any(self._joined.values())

    def scope(self, run_id: str) -> RunScope | None:
        """The joined run's scope, joining it on first use; None when it cannot be joined."""
        with self._lock:
            if run_id in self._joined:
                joined = self._joined[run_id]
                return joined.scope if joined else None
        joined = self._join(run_id)
        with self._lock:
            joined = self._joined.setdefault(run_id, joined)
        return joined.scope if joined else None

    def join_published(self) -> None:
        """Join every run published to this process (its first load may precede any node)."""
        for handoff in published_handoffs():
            self.scope(handoff.run_id)

    def _join(self, run_id: str) -> _Joined | None:
        handoff = read_handoff(run_id)
        if handoff is None:
            return None
        parent = context_from_traceparent(handoff.traceparent, handoff.tracestate)
        if parent is None:
            return None
        if not self._joined:
            # Pool workers leave through multiprocessing's exit path, not atexit: end what a
            # generator node left open there.
            from multiprocessing import util

            util.Finalize(None, self._end_all, exitpriority=100)
        run_span = trace.get_current_span(parent).get_span_context()
        spec, privacy = spec_from_json(handoff.chain)
        project_path = Path(handoff.project_path) if handoff.project_path else None
        chain = chain_of(
            spec, privacy, project_path=project_path, known_values=handoff.known_values
        )
        scope = RunScope(
            tracer=self._tracing.tracer(handoff.service_name),
            parent=parent,
            dataset_spans=handoff.dataset_spans,
            provenance=handoff.provenance,
            content_hashes=handoff.provenance_hashes,
            record_span=self._tracing.finished_spans(),
        )
        destination = self._tracing.join_destination(Path(handoff.folder), run_span, chain)
        if handoff.logs_level:
            self._run_logs().start(
                destination,
                parent,
                chain,
                self._tracing.resource(),
                handoff.logs_level,
                worker=True,
            )
        return _Joined(scope, destination, logs=bool(handoff.logs_level))

    def _end_all(self) -> None:
        with self._lock:
            joined = [j for j in self._joined.values() if j is not None]
            self._joined = {}
        for run in joined:
            self._nodes.finish_scope(run.scope, None, only_run=True)
            if run.logs:
                self._run_logs().finish(run.destination)
            self._tracing.close(run.destination)
