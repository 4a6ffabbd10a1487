"""Span routing for the composition root: provider hook-up, one destination per run, flush, close.

Sources create spans through an ordinary OpenTelemetry tracer. A single routing span processor,
attached once to the process's SDK ``TracerProvider`` (the application's own if it installed one,
otherwise ours), sends every span to the destination of the run it belongs to: a span started
inside :meth:`TracingPipeline.route_to` goes to that destination, and so does every descendant.
That keeps concurrent runs in one process in their own folders, and lets spans that user code
creates inside a node land in the run's trace too.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - see the note above TracingPipeline
import contextlib
import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from otel_kedro import __version__
from otel_kedro.attributes import INSTRUMENTATION_SCOPE
from otel_kedro.exporters.files import create_run_folder, write_failure
from otel_kedro.model.run_folder import TRACES_FILE
from otel_kedro.runs.journal import SpanJournal, WriteThroughProcessor

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.trace import Tracer
    from opentelemetry.util.types import AttributeValue

    from otel_kedro.processors.chain import Chain


@dataclasses.dataclass(eq=False)
class Destination:
    """Where one run's spans are written: a folder and the span processor that writes there."""

    folder: Path
    processor: SpanProcessor
    announce: bool
    journal: SpanJournal | None = None
    main: bool = True  # the run's own process (not a worker that joined it)
    closed: bool = False
    # Called with the folder once its files are complete, e.g. to deliver them remotely.
    after_close: list[Callable[[Path], object]] = dataclasses.field(default_factory=list)

    @property
    def traces_path(self) -> Path:
        """The OTLP JSON Lines file of this run's spans."""
        return self.folder / TRACES_FILE


class _RoutingSpanProcessor(SpanProcessor):
    """Sends each span to the destination of its run; spans of no run are left alone."""

    def __init__(self) -> None:
        self._routes: dict[tuple[int, int], Destination] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    # Single dict operations are atomic under the GIL, which keeps the per-span path lock-free.
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        destination: Destination | None = getattr(self._local, "destination", None)
        if destination is None and span.parent is not None:
            destination = self._routes.get((span.parent.trace_id, span.parent.span_id))
        if destination is None:
            return
        own = span.get_span_context()
        self._routes[(own.trace_id, own.span_id)] = destination
        destination.processor.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is None:
            return
        destination = self._routes.get((context.trace_id, context.span_id))
        if destination is not None:
            destination.processor.on_end(span)

    def destination_of(self, context: SpanContext) -> Destination | None:
        """The destination of the run a live span belongs to, if any."""
        return self._routes.get((context.trace_id, context.span_id))

    def ended(self, span: ReadableSpan) -> None:
        """Write a span that was never live (see :meth:`TracingPipeline.finished_spans`) to the
        destination of its parent.
        """
        parent = span.parent
        if parent is None:
            return
        destination = self._routes.get((parent.trace_id, parent.span_id))
        if destination is not None:
            destination.processor.on_end(span)

    def adopt(self, parent: SpanContext, destination: Destination) -> None:
        """Send the local children of a span from another process to ``destination``."""
        self._routes[(parent.trace_id, parent.span_id)] = destination

    @contextlib.contextmanager
    def route_to(self, destination: Destination) -> Iterator[None]:
        previous = getattr(self._local, "destination", None)
        self._local.destination = destination
        try:
            yield
        finally:
            self._local.destination = previous

    def forget(self, destination: Destination) -> None:
        with self._lock:
            for key, value in list(self._routes.items()):
                if value is destination:
                    self._routes.pop(key, None)

    def reset_after_fork(self) -> None:
        """In a forked child the parent's destinations belong to the parent: drop them."""
        self._routes = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def shutdown(self) -> None:
        """Destinations are closed by their runs; nothing is owned here."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        destinations = {id(value): value for value in list(self._routes.values())}
        return all(d.processor.force_flush(timeout_millis) for d in destinations.values())


class FinishedSpans:
    """Records spans whose start and end are already known (a dataset load timed before its
    node span existed) as plain ``ReadableSpan`` values routed to their parent's run: the same
    record a live span of our provider ends as, without a live span's bookkeeping, which costs
    about as much as writing the span (see the README's Performance section).
    """

    def __init__(self, provider: TracerProvider, router: _RoutingSpanProcessor) -> None:
        self._ids = provider.id_generator
        self._resource = provider.resource
        self._scope = InstrumentationScope(INSTRUMENTATION_SCOPE, __version__)
        self._router = router

    def __call__(
        self,
        name: str,
        parent: SpanContext,
        attributes: dict[str, AttributeValue],
        start_ns: int,
        end_ns: int,
    ) -> None:
        """Record one ended ``INTERNAL`` span under ``parent``."""
        context = SpanContext(
            parent.trace_id,
            self._ids.generate_span_id(),
            is_remote=False,
            trace_flags=TraceFlags(parent.trace_flags),
            trace_state=parent.trace_state,
        )
        span = ReadableSpan(
            name,
            context=context,
            parent=parent,
            resource=self._resource,
            attributes=attributes,
            kind=SpanKind.INTERNAL,
            start_time=start_ns,
            end_time=end_ns,
            instrumentation_scope=self._scope,
        )
        self._router.ended(span)


# Why concurrent.futures.thread is imported above: an SDK TracerProvider re-detects its resource
# with a thread pool in every forked child (ParallelRunner workers). At-fork child handlers run in
# registration order, so the pool's global lock must have registered its reset before our first
# provider registers its handler, or the forked worker waits on a lock nobody will release.
class TracingPipeline:
    """Owns the tracer provider hookup and every run's destination in this process."""

    def __init__(self) -> None:
        self._router = _RoutingSpanProcessor()
        self._provider: TracerProvider | None = None
        self._own_provider = False
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._router.reset_after_fork)

    def tracer(self, service_name: str) -> Tracer:
        """Our tracer, from the application's SDK provider if it has one, else from ours."""
        with self._lock:
            if self._provider is None:
                self._provider = self._attach(service_name)
        return self._provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)

    def finished_spans(self) -> FinishedSpans | None:
        """A writer of spans that are over before they are recorded, or None when the provider
        is the application's (its own span processors must see every span, through the SDK).
        """
        with self._lock:
            provider = self._provider if self._own_provider else None
        return FinishedSpans(provider, self._router) if provider is not None else None

    def resource(self) -> Resource:
        """The resource our spans carry (the application's provider's, if it has one)."""
        from otel_kedro.sources.resource import build_resource

        with self._lock:
            provider = self._provider
        return provider.resource if provider is not None else build_resource("kedro")

    def _attach(self, service_name: str) -> TracerProvider:
        from opentelemetry import trace

        from otel_kedro.sources.resource import build_resource

        existing = trace.get_tracer_provider()
        if isinstance(existing, TracerProvider):
            existing.add_span_processor(self._router)
            return existing
        provider = TracerProvider(resource=build_resource(service_name))
        provider.add_span_processor(self._router)
        self._own_provider = True
        if isinstance(existing, trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)
        return provider

    def open_destination(
        self, output_dir: Path, run_id: str, chain: Chain, *, announce: bool = True
    ) -> Destination:
        """Create a new run folder and the writer of the main process's spans: each span is
        journaled as it starts and written as it ends, through the files destination's chain.
        """
        folder = create_run_folder(output_dir, run_id)
        processor = WriteThroughProcessor(folder, chain, main=True)
        return Destination(
            folder=folder, processor=processor, announce=announce, journal=processor.journal
        )

    def join_destination(self, folder: Path, parent: SpanContext, chain: Chain) -> Destination:
        """A writer for a worker process joining a run whose span is ``parent``: every span
        is appended as it ends, because pool workers never run a final flush. Its spans carry
        the worker's own pid (a forked worker inherits its parent's resource).
        """
        own = {"process.pid": os.getpid(), "process.parent_pid": os.getppid()}
        processor = WriteThroughProcessor(folder, chain, main=False, facts=own)
        destination = Destination(
            folder=folder, processor=processor, announce=False, journal=processor.journal,
            main=False,
        )  # fmt: skip
        self._router.adopt(parent, destination)
        return destination

    def destination_of(self, context: SpanContext) -> Destination | None:
        """The destination of the run a live span (or a joined run's span) belongs to."""
        return self._router.destination_of(context)

    def route_to(self, destination: Destination) -> contextlib.AbstractContextManager[None]:
        """Within this block, spans started on this thread (and their descendants) go to
        ``destination``.
        """
        return self._router.route_to(destination)

    def flush(self, destination: Destination) -> None:
        """Write everything the destination holds so far."""
        destination.processor.force_flush()

    def close(self, destination: Destination) -> None:
        """Flush and close a run's destination, and say where its files are (once)."""
        if destination.closed:
            return
        destination.closed = True
        try:
            destination.processor.force_flush()
            destination.processor.shutdown()
        finally:
            self._router.forget(destination)
        if destination.main:
            self._close_journal(destination.folder)
        if destination.announce and write_failure(destination.traces_path) is None:
            print(f"otel-kedro: trace written to {destination.traces_path}", file=sys.stderr)  # noqa: T201
        for callback in destination.after_close:
            callback(destination.folder)

    @staticmethod
    def _close_journal(folder: Path) -> None:
        """End what dead workers left in flight; drop the journal when nothing is left."""
        from otel_kedro.diagnostics import warn_once
        from otel_kedro.runs.recovery import complete_run

        try:
            complete_run(folder, own_pid=os.getpid())
        except Exception as error:  # noqa: BLE001 - the run's own files are complete already
            warn_once(f"cannot close the journal of {folder}: {error!r}")
