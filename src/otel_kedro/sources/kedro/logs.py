"""Python ``logging`` records of a run -> OpenTelemetry log records (translated as the SDK's
``LoggingHandler`` translates them, see :mod:`~otel_kedro.sources.kedro.log_translation`),
stamped with the span they were emitted in.

One :class:`LogCapture` handler per process sits on the root logger while at least one run of
that process (or, in a ParallelRunner worker, a run it joined) is active, and is removed when
the last one ends. It adds a handler and changes no level, so what other handlers print is what
they printed before. For each record it picks the run and the span the record belongs to:

1. the current span (a node span under every runner, or a span of the user's), when it belongs
   to a run;
2. else the node still in flight on this thread (Kedro saves a node's outputs after
   ``after_node_run`` detached the node's context);
3. else the node whose inputs this thread is loading: Kedro loads them before
   ``before_node_run``, when the node span does not exist yet, so these records are held
   and emitted with the node span as soon as it starts (their timestamps are their own);
4. else the run span, when one run is active in this process (held records whose node never
   started, because a load failed, go out with it when the run ends).

The translated record goes to that run's sink (its ``logs.jsonl`` writer). After a fork
(ParallelRunner workers) the parent's runs are forgotten; the worker adds its own when it joins
the run.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, NamedTuple

from opentelemetry import trace

from otel_kedro.sources.kedro.log_translation import LogTranslator

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import SpanContext

    from otel_kedro.model.log_record import CapturedLog

# The SDK's and exporters' own records: exporting them while exporting could recurse.
_SKIPPED_LOGGERS = ("opentelemetry",)


class _Route(NamedTuple):
    sink: Callable[[CapturedLog], None]
    translator: LogTranslator
    run_span: SpanContext
    level: int


class LogCapture(logging.Handler):
    """Routes the process's logging records to the OpenTelemetry log pipeline of their run.

    ``run_of`` names the run (any hashable key, the one given to :meth:`add`) a span context
    belongs to; ``node_context`` gives the context of a node still in flight on the calling
    thread, or None; ``loading_node`` names the node whose inputs the calling thread is
    loading before its span exists, or None.
    """

    def __init__(
        self,
        run_of: Callable[[SpanContext], Hashable | None],
        node_context: Callable[[], Context | None],
        loading_node: Callable[[], str | None] = lambda: None,
    ) -> None:
        super().__init__(logging.NOTSET)
        self._run_of = run_of
        self._node_context = node_context
        self._loading_node = loading_node
        self._held: dict[tuple[str, int], list[logging.LogRecord]] = {}
        self._routes: dict[Hashable, _Route] = {}
        self._lock = threading.Lock()
        self._inside = threading.local()
        os.register_at_fork(after_in_child=self._reset_after_fork)

    def _reset_after_fork(self) -> None:
        """A forked worker's records are not its parent's runs' until it joins one."""
        self._routes = {}
        self._held = {}
        self._lock = threading.Lock()
        self._inside = threading.local()

    def add(
        self,
        run: Hashable,
        run_context: Context,
        sink: Callable[[CapturedLog], None],
        level: int,
    ) -> None:
        """Capture records for ``run`` (at ``level`` and above) into ``sink``; attach to the
        root logger.
        """
        run_span = trace.get_current_span(run_context).get_span_context()
        route = _Route(sink, LogTranslator(), run_span, level)
        with self._lock:
            self._routes = {**self._routes, run: route}
            root = logging.getLogger()
            if self not in root.handlers:
                root.addHandler(self)

    def ensure_attached(self) -> None:
        """Attach again if something replaced the root logger's handlers while runs capture
        (Kedro reconfigures logging before every node in a ``spawn`` worker).
        """
        if self._routes and self not in logging.getLogger().handlers:
            with self._lock:
                root = logging.getLogger()
                if self._routes and self not in root.handlers:
                    root.addHandler(self)

    def emit_held(self, node: str, context: Context | None) -> None:
        """The span of ``node`` started on this thread (as ``context``): emit the records
        its input loads logged before.
        """
        records = self._held.pop((node, threading.get_ident()), None)
        if not records or context is None:
            return
        run = self._run_of(trace.get_current_span(context).get_span_context())
        route = self._routes.get(run) if run is not None else None
        if route is None:
            return
        span = trace.get_current_span(context).get_span_context()
        for record in records:
            self._emit(route, record, span)

    def remove(self, run: Hashable) -> None:
        """Stop capturing for ``run``; leave the root logger when no run is left. The last
        run gets the held records of nodes that never started (a failed load).
        """
        route = self._routes.get(run)
        if route is not None and len(self._routes) == 1:
            held, self._held = self._held, {}
            for records in held.values():
                for record in records:
                    self._emit(route, record, route.run_span)
        with self._lock:
            routes = dict(self._routes)
            routes.pop(run, None)
            self._routes = routes
            if not routes:
                logging.getLogger().removeHandler(self)

    def handle(self, record: logging.LogRecord) -> bool:
        """Emit without the handler-wide lock: sinks are thread-safe, and threads of a
        ThreadRunner should not queue behind each other to log.
        """
        routes = self._routes
        if not routes or record.name.startswith(_SKIPPED_LOGGERS):
            return False
        if getattr(self._inside, "active", False):
            return False  # a record logged while one of ours is emitted: never recurse
        self._inside.active = True
        try:
            return self._emit_to_run(record, routes)
        except Exception:  # noqa: BLE001 - telemetry never breaks or changes a run
            return False
        finally:
            self._inside.active = False

    def _emit_to_run(self, record: logging.LogRecord, routes: dict[Hashable, _Route]) -> bool:
        span = trace.get_current_span().get_span_context()
        run = self._run_of(span) if span.is_valid else None
        if run is None:
            node = self._node_context()
            if node is not None:
                span = trace.get_current_span(node).get_span_context()
                run = self._run_of(span)
        route = routes.get(run) if run is not None else None
        if route is None:
            loading = self._loading_node()
            if loading is not None:  # the node's span is about to start: hold the record
                if record.levelno >= min(r.level for r in routes.values()):
                    self._held.setdefault((loading, threading.get_ident()), []).append(record)
                return True
            if len(routes) != 1:
                return False  # concurrent runs and no span to tell them apart
            route = next(iter(routes.values()))
            span = route.run_span
        return self._emit(route, record, span)

    def _emit(self, route: _Route, record: logging.LogRecord, span: SpanContext) -> bool:
        """Translated, as logged inside ``span``, into the run's sink."""
        if record.levelno < route.level:
            return False
        route.sink(route.translator.translate(record, span))
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Routed in :meth:`handle`; present for callers that use ``emit`` directly."""
        self.handle(record)
