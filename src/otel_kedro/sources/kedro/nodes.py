"""Node and dataset hooks -> node spans and their ``LOAD``/``SAVE`` children.

Kedro calls the dataset hooks without a run id, loads a node's inputs *before*
``before_node_run`` and saves its outputs *after* ``after_node_run``, and under ThreadRunner calls
everything concurrently on one hook instance. So load timings are recorded first and turned into
spans once the node span exists (with their real start and end times); the node span stays open
until its last output is saved; and every piece of state is keyed by node name and thread, which
is exact for Sequential, Thread and Parallel runners and for concurrent runs in one process.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_kedro import attributes as attr
from otel_kedro.sources.kedro.dataset_files import dataset_file_facts
from otel_kedro.sources.kedro.node_usage import NodeUsageMeter, UsageWindow

if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanContext, Tracer

    # Records an ended span: name, parent, attributes, start and end (ns since the epoch).
    RecordSpan = Callable[[str, SpanContext, dict[str, Any], int, int], None]


def _no_catalog() -> None:
    return None


@dataclasses.dataclass(eq=False)
class RunScope:
    """A run as seen from this process: the tracer its spans come from and what they hang
    under (the run span's context, through which the composition root routes them).
    """

    tracer: Tracer
    parent: Context
    dataset_spans: bool
    catalog: dataclasses.InitVar[Any] = None
    provenance: bool = False  # file path, version and size of file datasets
    content_hashes: bool = False  # and the SHA-256 of local files
    # Writes dataset spans without a live SDK span, when the tracer's provider is ours.
    record_span: RecordSpan | None = None
    _types: dict[str, str] = dataclasses.field(default_factory=dict)
    _fileless: set[str] = dataclasses.field(default_factory=set)
    _catalog: Callable[[], Any] = dataclasses.field(init=False, repr=False)  # use_catalog

    def __post_init__(self, catalog: Any) -> None:
        self.use_catalog(catalog)

    def use_catalog(self, catalog: Any) -> None:
        """Look datasets up in ``catalog`` from now on, without keeping it alive: a
        ParallelRunner worker gets a new catalog for every task, each holding a manager proxy
        per dataset, which must go when Kedro lets the task go (a weak reference, when the
        catalog allows one).
        """
        try:
            self._catalog = weakref.ref(catalog) if catalog is not None else _no_catalog
        except TypeError:  # no weak references to it: hold it
            self._catalog = lambda: catalog

    def dataset_type(self, name: str) -> str | None:
        """The dataset's fully qualified type, looked up once per run."""
        if name not in self._types and (catalog := self._catalog()) is not None:
            try:
                found = catalog.get_type(name)
            except Exception:  # noqa: BLE001 - a custom catalog may not support it
                found = None
            self._types[name] = found or ""
        return self._types.get(name) or None

    def dataset_files(self, name: str, *, saved: bool) -> dict[str, Any]:
        """Where the dataset's data is (see :mod:`dataset_files`); empty for datasets that have
        no file, which are remembered so they cost one look-up per run.
        """
        if not self.provenance or name in self._fileless:
            return {}
        catalog = self._catalog()
        if catalog is None:
            return {}
        try:
            facts = dataset_file_facts(
                catalog.get(name), saved=saved, content_hash=self.content_hashes
            )
        except Exception:  # noqa: BLE001 - a custom catalog or dataset: no file facts
            facts = {}
        if not facts:
            self._fileless.add(name)
        return facts


class _DatasetTiming(NamedTuple):
    dataset: str
    thread: int
    start_ns: int
    end_ns: int
    rows: int | None


@dataclasses.dataclass(eq=False)
class _NodeState:
    scope: RunScope
    name: str
    thread: int
    span: Span
    context: Context
    token: object | None
    waiting_for: set[str] | None  # outputs still to be saved; None when unknowable (generators)
    last_ns: int
    function_done: bool = False
    failed: bool = False
    usage: UsageWindow | None = None


def error_type(error: BaseException) -> str:
    """``error.type`` for an exception: its fully qualified class name."""
    cls = type(error)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def mark_failed(span: Span, error: BaseException) -> None:
    """Status ERROR, ``error.type`` and the exception event, as OpenTelemetry recommends."""
    span.set_attribute(attr.ERROR_TYPE, error_type(error))
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


def _rows(data: Any) -> int | None:
    shape = getattr(data, "shape", None)
    if isinstance(shape, tuple) and shape and isinstance(shape[0], int):
        return shape[0]
    return None


def _function_name(node: Any) -> str:
    func = getattr(node, "func", None)
    func = getattr(func, "func", func)  # functools.partial
    module = getattr(func, "__module__", None)
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    return f"{module}.{name}" if module else str(name)


def _node_attributes(node: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        attr.CICD_TASK_NAME: node.name,
        attr.KEDRO_NODE_TAGS: sorted(str(tag) for tag in node.tags),
        attr.KEDRO_NODE_INPUTS: [str(name) for name in node.inputs],
        attr.KEDRO_NODE_OUTPUTS: [str(name) for name in node.outputs],
        attr.CODE_FUNCTION_NAME: _function_name(node),
    }
    if node.namespace:
        result[attr.KEDRO_NODE_NAMESPACE] = str(node.namespace)
    return result


class NodeTracker:
    """Turns node and dataset hook calls into spans; safe under concurrent calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._starts: dict[tuple[str, str, str, int], int] = {}
        self._loads: dict[str, list[_DatasetTiming]] = {}
        self._nodes: dict[tuple[str, int], _NodeState] = {}
        # Usage is measured from a node's first load, before its span can exist.
        self._windows: dict[tuple[str, int], UsageWindow] = {}
        # The node whose inputs are loading, so a failed or interrupted load keeps its facts.
        self._loading: dict[str, Any] = {}
        self.usage = NodeUsageMeter()

    def reset_after_fork(self) -> None:
        """A forked worker starts with no node of its parent's in flight."""
        self._lock = threading.Lock()
        self._starts, self._loads, self._nodes, self._windows = {}, {}, {}, {}
        self._loading = {}
        self.usage.reset_after_fork()

    # Datasets ------------------------------------------------------------------------------

    def dataset_started(
        self, node_name: str, dataset: str, operation: str, node: Any = None
    ) -> None:
        """Remember when a load or save began (and, for a load, which node it is for)."""
        thread = threading.get_ident()
        key = (node_name, dataset, operation, thread)
        window = None
        if operation == "load" and (node_name, thread) not in self._windows:
            window = self.usage.start()
        with self._lock:
            if window is not None:
                self._windows.setdefault((node_name, thread), window)
                if node is not None:
                    self._loading[node_name] = node
            self._starts[key] = time.time_ns()

    def _pop_start(self, node_name: str, dataset: str, operation: str) -> int | None:
        with self._lock:
            return self._starts.pop((node_name, dataset, operation, threading.get_ident()), None)

    def dataset_loaded(self, node_name: str, dataset: str, data: Any) -> None:
        """Keep a finished load until its node span exists."""
        start = self._pop_start(node_name, dataset, "load")
        if start is None:
            return
        timing = _DatasetTiming(dataset, threading.get_ident(), start, time.time_ns(), _rows(data))
        with self._lock:
            self._loads.setdefault(node_name, []).append(timing)

    def dataset_saved(self, node_name: str, dataset: str, data: Any) -> None:
        """Record a ``SAVE`` span and end the node span once its last output is saved."""
        start = self._pop_start(node_name, dataset, "save")
        end = time.time_ns()
        with self._lock:
            state = self._find(node_name)
            if state is None or start is None:
                return
            state.last_ns = end
            finished = False
            if state.waiting_for is not None:
                state.waiting_for.discard(dataset)
                finished = state.function_done and not state.waiting_for
            if finished:
                self._nodes.pop((state.name, state.thread), None)
        timing = _DatasetTiming(dataset, threading.get_ident(), start, end, _rows(data))
        self._dataset_span(state, attr.SAVE_SPAN_PREFIX, timing)
        if finished:
            self._end_node(state, state.last_ns)

    def _find(self, node_name: str) -> _NodeState | None:
        """The node's state on this thread, or the only one of that name (async saves run on
        helper threads). Caller holds the lock.
        """
        state = self._nodes.get((node_name, threading.get_ident()))
        if state is not None:
            return state
        candidates = [s for s in self._nodes.values() if s.name == node_name]
        return candidates[0] if len(candidates) == 1 else None

    def _dataset_span(self, state: _NodeState, operation: str, timing: _DatasetTiming) -> None:
        scope = state.scope
        if not scope.dataset_spans:
            return
        attributes: dict[str, Any] = {attr.KEDRO_DATASET_NAME: timing.dataset}
        dataset_type = scope.dataset_type(timing.dataset)
        if dataset_type:
            attributes[attr.KEDRO_DATASET_TYPE] = dataset_type
        if timing.rows is not None:
            attributes[attr.KEDRO_DATASET_ROWS] = timing.rows
        attributes.update(
            scope.dataset_files(timing.dataset, saved=operation == attr.SAVE_SPAN_PREFIX)
        )
        name = f"{operation} {timing.dataset}"
        if scope.record_span is not None:
            parent = state.span.get_span_context()
            scope.record_span(name, parent, attributes, timing.start_ns, timing.end_ns)
            return
        span = scope.tracer.start_span(
            name,
            context=state.context,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=timing.start_ns,
        )
        span.end(end_time=timing.end_ns)

    # Nodes ---------------------------------------------------------------------------------

    def context_on_thread(self) -> Context | None:
        """The context of a node still open on this thread (its outputs being saved after its
        function returned), or None; for stamping log records with the node they belong to.
        """
        thread = threading.get_ident()
        for state in list(self._nodes.values()):  # a copy: other threads add and remove nodes
            if state.thread == thread:
                return state.context
        return None

    def loading_on_thread(self) -> str | None:
        """The node whose inputs this thread is loading before its span starts, or None."""
        thread = threading.get_ident()
        for name, owner in list(self._windows):  # a copy: other threads add and remove them
            if owner == thread:
                return name
        return None

    def discard(self, node_name: str) -> None:
        """Forget loads of a node that belongs to no traced run."""
        with self._lock:
            self._loads.pop(node_name, None)
            self._loading.pop(node_name, None)
            window = self._windows.pop((node_name, threading.get_ident()), None)
        if window is not None:
            self.usage.forget(window)

    def node_started(self, scope: RunScope, node: Any, is_async: bool) -> None:
        """Open the node span (from its first load on) and attach it as the current context."""
        thread = threading.get_ident()
        now = time.time_ns()
        with self._lock:
            stale = [s for s in self._nodes.values() if s.thread == thread and s.function_done]
            for state in stale:
                self._nodes.pop((state.name, state.thread), None)
            pending = self._loads.pop(node.name, [])
            self._loading.pop(node.name, None)
            usage = self._windows.pop((node.name, thread), None)
            mine = [t for t in pending if is_async or t.thread == thread]
            others = [t for t in pending if t not in mine]
            if others:
                self._loads[node.name] = others
        for state in stale:  # a generator node's last chunk was its last activity
            self._end_node(state, state.last_ns)
        start = min([now, *(t.start_ns for t in mine)])
        span = scope.tracer.start_span(
            node.name,
            context=scope.parent,
            kind=SpanKind.INTERNAL,
            attributes={
                **_node_attributes(node),
                # The worker's own pid: a forked worker keeps its parent's resource.
                attr.PROCESS_PID: os.getpid(),
                attr.THREAD_ID: threading.get_native_id(),
                attr.THREAD_NAME: threading.current_thread().name,
            },
            start_time=start,
        )
        node_context = trace.set_span_in_context(span, scope.parent)
        generator = inspect.isgeneratorfunction(getattr(node, "func", None))
        state = _NodeState(
            scope=scope,
            name=node.name,
            thread=thread,
            span=span,
            context=node_context,
            token=otel_context.attach(node_context),
            waiting_for=None if generator else {str(name) for name in node.outputs},
            last_ns=now,
            usage=usage or self.usage.start(),
        )
        with self._lock:
            self._nodes[(node.name, thread)] = state
        for timing in mine:
            self._dataset_span(state, attr.LOAD_SPAN_PREFIX, timing)

    def node_finished(self, node: Any, error: BaseException | None = None) -> None:
        """The node function returned (outputs still to be saved) or raised."""
        with self._lock:
            state = self._nodes.get((node.name, threading.get_ident()))
            if state is None:
                return
            state.function_done = True
            state.last_ns = time.time_ns()
            finished = error is not None or state.waiting_for == set()
            if finished:
                self._nodes.pop((state.name, state.thread), None)
        self._detach(state)
        if error is not None:
            mark_failed(state.span, error)
            state.failed = True
        if finished:
            self._end_node(state, state.last_ns)

    def _detach(self, state: _NodeState) -> None:
        """Undo ``attach``; only possible on the thread that attached (a node interrupted
        elsewhere leaves nothing to undo here).
        """
        token, state.token = state.token, None
        if token is not None and state.thread == threading.get_ident():
            otel_context.detach(token)  # type: ignore[arg-type]

    def _end_node(self, state: _NodeState, end_ns: int) -> None:
        result = attr.RESULT_FAILURE if state.failed else attr.RESULT_SUCCESS
        window, state.usage = state.usage, None
        ending: dict[str, Any] = {attr.CICD_TASK_RUN_RESULT: result}
        if window is not None:
            same_thread = state.thread == threading.get_ident()
            ending.update(self.usage.finish(window, same_thread=same_thread))
        state.span.set_attributes(ending)  # one call: the SDK cleans and locks once
        state.span.end(end_time=end_ns)

    def finish_scope(
        self,
        scope: RunScope,
        error: BaseException | None,
        *,
        only_run: bool,
        cancelled: bool = False,
    ) -> None:
        """End whatever of a run is still open: generator nodes, failed saves and loads, and
        nodes a cancellation interrupted.

        ``only_run`` says no other run is active in this process, so unfinished loads (which
        carry no run id) can only be this run's.
        """
        with self._lock:
            open_nodes = [s for s in self._nodes.values() if s.scope is scope]
            for state in open_nodes:
                self._nodes.pop((state.name, state.thread), None)
            orphans, self._starts = (self._starts, {}) if only_run else ({}, self._starts)
            loading, self._loading = (self._loading, {}) if only_run else ({}, self._loading)
            if only_run:
                self._loads = {}
        now = time.time_ns()
        for state in open_nodes:
            self._detach(state)
            if cancelled and not state.function_done:
                state.span.set_status(Status(StatusCode.ERROR, "cancelled while running"))
                state.failed = True
            elif state.waiting_for:
                missing = ", ".join(sorted(state.waiting_for))
                state.span.set_status(Status(StatusCode.ERROR, f"outputs not saved: {missing}"))
                state.failed = True
            self._end_node(state, now if state.waiting_for or cancelled else state.last_ns)
        if error is not None or cancelled:
            self._orphan_loads(scope, orphans, loading, error, now)

    def _orphan_loads(
        self,
        scope: RunScope,
        orphans: dict[tuple[str, str, str, int], int],
        loading: dict[str, Any],
        error: BaseException | None,
        now: int,
    ) -> None:
        """A load that never finished failed (``error``) or was interrupted (no error: a
        cancellation) before ``before_node_run``: show its node, with the node's facts.
        """
        for (node_name, dataset, operation, thread), start in orphans.items():
            if operation != "load":
                continue
            node = loading.get(node_name)
            span = scope.tracer.start_span(
                node_name,
                context=scope.parent,
                kind=SpanKind.INTERNAL,
                attributes=_node_attributes(node) if node is not None else None,
                start_time=start,
            )
            node_context = trace.set_span_in_context(span, scope.parent)
            state = _NodeState(scope, node_name, thread, span, node_context, None, None, now)
            state.failed = True
            load = scope.tracer.start_span(
                f"{attr.LOAD_SPAN_PREFIX} {dataset}",
                context=node_context,
                attributes={attr.KEDRO_DATASET_NAME: dataset},
                start_time=start,
            )
            for failed in (span, load):
                if error is not None:
                    mark_failed(failed, error)
                else:
                    failed.set_status(Status(StatusCode.ERROR, "cancelled while loading"))
            load.end(end_time=now)
            self._end_node(state, now)
