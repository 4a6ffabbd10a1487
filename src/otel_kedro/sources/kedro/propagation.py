"""W3C trace context through environment variables: inbound ``TRACEPARENT``, and the run's
context handed to ParallelRunner workers and to subprocesses that nodes start.

Environment variables are the carrier because they are what crosses into a process pool (the
pool is created after ``before_pipeline_run``) and into any command a node launches, the same
way Airflow and CI systems pass ``TRACEPARENT``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, NamedTuple

from otel_kedro.sources.kedro.traceparent import (
    TRACEPARENT,
    TRACESTATE,
)

if TYPE_CHECKING:
    from opentelemetry.context import Context

HANDOFF_PREFIX = "_OTEL_KEDRO_RUN_"


class RunHandoff(NamedTuple):
    """What a worker process needs to join a run: its context and where its files are."""

    traceparent: str
    tracestate: str
    folder: str
    service_name: str
    dataset_spans: bool
    chain: dict[str, object]
    project_path: str | None
    provenance: bool = False
    provenance_hashes: bool = False
    # The run's known sensitive values: a worker's chain must redact them too. The variable is
    # readable by the same user only (``--params`` values are on the command line, visible to all).
    known_values: tuple[str, ...] = ()
    run_id: str = ""
    logs_level: str | None = None  # the level log records are captured at; None: not at all

    def to_json(self) -> str:
        """Encode for an environment variable."""
        return json.dumps(self._asdict(), separators=(",", ":"))


def handoff_variable(run_id: str) -> str:
    """The environment variable that carries one run's handoff (one per run, so concurrent
    runs in one process never read each other's).
    """
    import hashlib  # here: ~3 ms that `otel-kedro run`'s start-up does without

    return HANDOFF_PREFIX + hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:16].upper()


def read_handoff(run_id: str, environ: Mapping[str, str] | None = None) -> RunHandoff | None:
    """The handoff a parent process left for ``run_id``, if any."""
    environ = os.environ if environ is None else environ
    raw = environ.get(handoff_variable(run_id))
    if not raw:
        return None
    try:
        return RunHandoff(**json.loads(raw))
    except (TypeError, ValueError):
        return None


def published_handoffs(environ: Mapping[str, str] | None = None) -> list[RunHandoff]:
    """Every run handoff in the environment (a worker's runs, before it knows their ids)."""
    environ = os.environ if environ is None else environ
    found = []
    for name, raw in environ.items():
        if name.startswith(HANDOFF_PREFIX) and raw:
            try:
                found.append(RunHandoff(**json.loads(raw)))
            except (TypeError, ValueError):
                continue
    return found


def context_from_traceparent(traceparent: str, tracestate: str = "") -> Context | None:
    """Parse a W3C traceparent into a context with a remote parent, or None when invalid."""
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    context = TraceContextTextMapPropagator().extract(carrier)
    if not trace.get_current_span(context).get_span_context().is_valid:
        return None
    return context


def traceparent_of(context: Context) -> tuple[str, str]:
    """The W3C ``traceparent`` and ``tracestate`` headers for a context."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context)
    return carrier.get("traceparent", ""), carrier.get("tracestate", "")


class RunEnvironment:
    """The process environment while runs are active.

    ``TRACEPARENT`` points at the newest active run (so commands a node launches, and process
    pools, join it) and goes back to its original value when the last run ends. The original
    value is also what every overlapping run sees as its inbound parent, so one run never
    becomes the child of another. Each run's handoff lives in a variable of its own. The caller
    serialises calls.
    """

    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._original: tuple[str | None, str | None] = (None, None)
        self._active: dict[str, tuple[str, str]] = {}

    def inbound(self) -> Context | None:
        """The parent a run starting now should join: the environment's, never one of ours."""
        traceparent, tracestate = (
            self._original
            if self._active
            else (self._environ.get(TRACEPARENT), self._environ.get(TRACESTATE))
        )
        if not traceparent or not traceparent.strip():
            return None
        return context_from_traceparent(traceparent.strip(), tracestate or "")

    def run_started(self, run_id: str, context: Context, handoff: RunHandoff) -> None:
        """Point TRACEPARENT at this run and publish its handoff for worker processes."""
        if not self._active:
            self._original = (self._environ.get(TRACEPARENT), self._environ.get(TRACESTATE))
        self._active[run_id] = traceparent_of(context)
        self._environ[handoff_variable(run_id)] = handoff.to_json()
        self._publish()

    def run_finished(self, run_id: str) -> None:
        """Withdraw the run's handoff and point TRACEPARENT at the newest run still active."""
        if self._active.pop(run_id, None) is None:
            return
        self._environ.pop(handoff_variable(run_id), None)
        self._publish()

    def _publish(self) -> None:
        values: tuple[str | None, str | None] = (
            next(reversed(self._active.values())) if self._active else self._original
        )
        for name, value in zip((TRACEPARENT, TRACESTATE), values, strict=True):
            if value:
                self._environ[name] = value
            else:
                self._environ.pop(name, None)
